//! `lighthouse-projector`: the projects as a read-only FUSE view, mounted at
//! `projector.mount`. Configured like every Lighthouse process (`lighthouse-config`);
//! SIGTERM or SIGINT unmounts and drains within `service.grace_ms`. Exit codes: 0
//! stopped cleanly, 1 failure, 64 bad configuration (e.g. no mount point).

fn main() -> std::process::ExitCode {
    lighthouse_service::main(
        "lighthouse-projector",
        lighthouse_projector::service::check,
        lighthouse_projector::service::run,
    )
}
