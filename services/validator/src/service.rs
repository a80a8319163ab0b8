//! The validator as a service: its configuration from [`Settings`], and the
//! `run(settings, client, shutdown)` that the `lighthouse-validator` binary and
//! `lighthouse up` both run.

use crate::worker::{ValidatorConfig, ValidatorError};
use lighthouse_config::Settings;
use lighthouse_nats::worker::ConsumeOptions;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The validator's configuration: `service.id`, `validator.*`, `escalation.*`,
/// `exceptions.*`.
pub fn config(settings: &Settings) -> ValidatorConfig {
    ValidatorConfig {
        worker_id: settings.worker_id(),
        home: lighthouse_config::home_dir().map(|h| h.to_string_lossy().into_owned()),
        escalation: (&settings.escalation).into(),
        signer: signer(settings, "validator"),
        admin_keys: settings.trust.admin_keys.clone(),
        exceptions: crate::worker::ExceptionLimits {
            max_live: settings.exceptions.max_live,
            max_lifetime: settings.exceptions.max_expiry(),
        },
        memory: lighthouse_nats::memory::MemoryLimits {
            max_rss_bytes: settings.validator.max_rss_bytes,
            cache_bytes: settings.validator.cache_bytes,
            inflight_bytes: settings.validator.inflight_bytes,
        },
        stale_after: Duration::from_millis(settings.hook.decision_timeout_ms)
            .min(crate::worker::STALE_AFTER_MAX),
        consume: ConsumeOptions {
            concurrency: settings.validator.concurrency,
            batch: settings.validator.batch,
            ..ConsumeOptions::default()
        },
    }
}

/// The key a worker in `role` signs decisions with: its identity's NKey, if it has one
/// (an unreadable one is reported, and decisions go unsigned: `audit verify` says so).
pub fn signer(settings: &Settings, role: &str) -> Option<lighthouse_nats::auth::Signer> {
    match lighthouse_nats::auth::Signer::for_client(&settings.client_auth(role)) {
        Ok(signer) => signer,
        Err(e) => {
            tracing::warn!(error = %e, role, "no_signing_key");
            None
        }
    }
}

/// Runs one validator replica until `shutdown`.
pub async fn run(
    settings: Settings,
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<(), ValidatorError> {
    crate::worker::run(client, config(&settings), shutdown).await
}
