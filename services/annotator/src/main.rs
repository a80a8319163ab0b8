//! `lighthouse-annotator`: one annotator replica (re-anchors annotations when files
//! change). Configured like every Lighthouse process (`lighthouse-config`); SIGTERM or
//! SIGINT finishes in-flight file events and drains within `service.grace_ms`.
//! Exit codes: 0 stopped cleanly, 1 failure, 64 bad configuration.

fn main() -> std::process::ExitCode {
    lighthouse_service::main(
        "lighthouse-annotator",
        |_| Ok(()),
        lighthouse_annotator::service::run,
    )
}
