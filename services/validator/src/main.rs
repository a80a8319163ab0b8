//! `lighthouse-validator`: one validator replica. Configured like every Lighthouse
//! process (`lighthouse-config`: defaults, `$LIGHTHOUSE_CONFIG`, `LIGHTHOUSE__…` env);
//! SIGTERM or SIGINT finishes in-flight commands and drains within `service.grace_ms`.
//! Exit codes: 0 stopped cleanly, 1 failure, 64 bad configuration.

// mimalloc, overriding malloc for C code too (the shell parser): the policy allocates
// and frees much per call, and glibc's malloc made a call's first run 1.5x slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lighthouse_service::main(
        "lighthouse-validator",
        |_| Ok(()),
        lighthouse_validator::service::run,
    )
}
