//! `lighthouse-validator`: one validator replica. Configured like every Lighthouse
//! process (`lighthouse-config`: defaults, `$LIGHTHOUSE_CONFIG`, `LIGHTHOUSE__…` env);
//! SIGTERM or SIGINT finishes in-flight commands and drains within `service.grace_ms`.
//! Exit codes: 0 stopped cleanly, 1 failure, 64 bad configuration.

fn main() -> std::process::ExitCode {
    lighthouse_service::main(
        "lighthouse-validator",
        |_| Ok(()),
        lighthouse_validator::service::run,
    )
}
