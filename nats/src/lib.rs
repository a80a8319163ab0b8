//! Lighthouse's NATS layer, shared by every service and by the test harness.
//!
//! - [`topology`]: streams and consumers are data (`nats/streams/*.json`,
//!   `nats/consumers/*.json`, in the JetStream API's own JSON), embedded at build time
//!   and applied idempotently;
//! - [`server`]: finding (or installing) a nats-server ≥ 2.11 and running it;
//! - [`supervise`]: restarting a dead nats-server or worker task with backoff;
//! - [`publish`]: exactly-once publishing (`Nats-Msg-Id` plus expected-subject-sequence),
//!   failures sorted into transient and permanent;
//! - [`dead_letter`]: the one place dead letters are written, logged and counted;
//! - [`events`]: connection events (permission violations name the refused subject);
//! - [`worker`]: the consume loop every worker uses: partition consumers, bounded
//!   concurrency, one ack action per outcome, backoff, dead letters, shutdown;
//! - [`memory`]: a worker's memory limits, usage and the guard that sheds caches;
//! - [`experts`]: the experts' durable consumers on `LH_ESC`, one per specialty;
//! - [`presence`]: worker heartbeats in the `lh_workers` KV bucket;
//! - [`roster`]: a live view of who is present in a heartbeat bucket;
//! - [`read`]: bounded one-shot reads of a subject filter;
//! - [`auth`]: identities (NKeys), the least-privilege table, client credentials/TLS;
//! - [`scan`]: ordered reads of a range of a stream (replay, history, audit, MCP);
//! - [`backup`]: snapshots of every stream and bucket, and their restore.

pub mod auth;
pub mod backup;
pub mod dead_letter;
pub mod events;
pub mod experts;
pub mod health;
pub mod memory;
pub mod presence;
pub mod publish;
pub mod read;
pub mod regular;
pub mod roster;
pub mod scan;
pub mod server;
pub mod supervise;
pub mod topology;
pub mod trace;
pub mod worker;

/// Connects with the options every Lighthouse process uses; `url` may list several
/// seed URLs, comma-separated. A `user:password@` in the URL logs in as that user.
pub async fn connect(
    url: &str,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    with_url_credentials(async_nats::ConnectOptions::new(), url)
        .name(name)
        .connection_timeout(std::time::Duration::from_secs(5))
        .event_callback(events::on_event)
        .connect(seed_urls(url))
        .await
}

/// Connects as `auth` says (NKey, creds, user/password, TLS, private inbox); a
/// `user:password@` in the URL still applies when `auth` names no identity.
pub async fn connect_as(
    url: &str,
    name: &str,
    auth: &auth::ClientAuth,
) -> Result<async_nats::Client, ConnectAsError> {
    let options = options_for(url, auth)?;
    Ok(options
        .name(name)
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(seed_urls(url))
        .await?)
}

/// The connect options for `url` and `auth` (the caller adds name and timeouts).
pub fn options_for(
    url: &str,
    auth: &auth::ClientAuth,
) -> Result<async_nats::ConnectOptions, auth::AuthError> {
    let options = if auth.has_identity() {
        async_nats::ConnectOptions::new()
    } else {
        with_url_credentials(async_nats::ConnectOptions::new(), url)
    };
    auth.apply(options)
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectAsError {
    #[error("credentials: {0}")]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Connect(#[from] async_nats::ConnectError),
}

/// The seed URLs of `url`: one URL, or a comma-separated list of a cluster's seeds (the
/// client is given all of them and fails over between them).
pub fn seed_urls(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect()
}

/// Resolves once SIGINT or SIGTERM arrives (Kubernetes stops pods with SIGTERM).
///
/// The handlers are installed when this is called, not when the future is first
/// polled: call it before announcing readiness, or a stop request sent right after the
/// announcement would find the default action (exit without cleanup) still in place.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let (Ok(mut term), Ok(mut int)) = (term, int) else {
            // Without handlers the default action (exit) still applies: wait forever.
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}

/// The `user:password` of `nats://user:password@host:port`, if any.
pub fn url_credentials(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', ',']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (!user.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

/// Applies the URL's credentials: async-nats itself ignores them, and identity is how
/// the server tells an expert, an agent and a worker apart.
pub fn with_url_credentials(
    options: async_nats::ConnectOptions,
    url: &str,
) -> async_nats::ConnectOptions {
    match url_credentials(url) {
        Some((user, password)) => options.user_and_password(user, password),
        None => options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_url() {
        assert_eq!(
            url_credentials("nats://alice:s3cret@127.0.0.1:4222"),
            Some(("alice".into(), "s3cret".into()))
        );
        assert_eq!(url_credentials("nats://127.0.0.1:4222"), None);
        assert_eq!(url_credentials("nats://@h:1"), None);
        assert_eq!(
            url_credentials("tls://bob@h:1/x"),
            Some(("bob".into(), String::new()))
        );
    }
}
