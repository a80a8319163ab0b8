//! `lighthouse-projector`: the projector as its own process (the `lighthouse projector`
//! subcommand runs the same library). Exit codes: 0 ok, 1 failure, 64 bad arguments.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(mount)) = (args.next(), args.next()) else {
        eprintln!("usage: lighthouse-projector <nats-url> <mount-dir>");
        return ExitCode::from(64);
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lighthouse-projector: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let client = lighthouse_nats::connect(&url, "lighthouse-projector").await?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            stop.cancel();
            Ok::<_, std::io::Error>(())
        });
        let config = lighthouse_projector::ProjectorConfig {
            mount: mount.into(),
            cache_bytes: 256 << 20,
            prime_cache: true,
            threads: 4,
            rebuild_timeout: Duration::from_secs(120),
        };
        lighthouse_projector::run(client, config, None, shutdown).await?;
        Ok::<_, anyhow::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lighthouse-projector: {e:#}");
            ExitCode::FAILURE
        }
    }
}
