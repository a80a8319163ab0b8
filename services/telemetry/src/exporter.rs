//! The Prometheus recorder and the HTTP listener serving `/metrics`, `/healthz` and
//! `/readyz` on `metrics.listen`.
//!
//! Why `metrics` + `metrics-exporter-prometheus` rather than `prometheus-client`: the
//! facade lets library crates (validator, aggregator, the consume loop) record without
//! knowing about the exporter, and a process without a recorder (the hook, unit tests)
//! pays a relaxed atomic load per call. Exemplars (prometheus-client's advantage) would
//! link a latency bucket to a trace id; the trace id is in the logs and spans instead.

use crate::names;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Buckets for command → decision: the fast path is sub-millisecond to tens of
/// milliseconds; escalations take seconds to minutes.
const DECISION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
    60.0, 120.0,
];
/// Buckets for escalation → vote: humans and LLM reviewers, seconds to minutes.
const EXPERT_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// Installs the process-wide Prometheus recorder once; later calls return the same
/// handle (`lighthouse up` runs several workers in one process).
pub fn install_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::DECISION_LATENCY.into()),
                    DECISION_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::EXPERT_RESPONSE.into()),
                        EXPERT_BUCKETS,
                    )
                })
                // Only fails on an empty bucket list; ours are constants.
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                warn!("a metrics recorder was already installed; /metrics shows only its own");
            }
            names::describe();
            if let Some(limit) = memory_limit() {
                metrics::gauge!(names::MEMORY_LIMIT).set(limit as f64);
            }
            handle
        })
        .clone()
}

/// The cgroup's memory ceiling (v2 `memory.max`, else v1 `memory.limit_in_bytes`);
/// `None` when unlimited or unknown.
pub fn memory_limit() -> Option<u64> {
    for path in [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ] {
        if let Ok(text) = std::fs::read_to_string(path) {
            // v2 says "max"; v1 says a number near 2^63 when unlimited.
            return text.trim().parse::<u64>().ok().filter(|v| *v < (1 << 60));
        }
    }
    None
}

/// Why `/readyz` says 503, or `Ok` when ready.
pub type ReadyCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A running listener.
#[derive(Debug)]
pub struct Listener {
    /// Where it listens (the port is the real one when `:0` was asked).
    pub addr: SocketAddr,
    /// `http://host:port/metrics`, with the host name when bound to every interface.
    pub url: String,
    /// Serves until the shutdown, with what it needs kept current (histogram upkeep,
    /// the cluster sampler): it ends early, or panics, only if one of them does. A
    /// process must not run on without it: await it where the process waits for its
    /// end (its supervisor).
    pub task: tokio::task::JoinHandle<()>,
}

/// Binds `listen` (`host:port`) and serves until `shutdown`.
pub async fn serve(
    listen: &str,
    handle: PrometheusHandle,
    ready: ReadyCheck,
    shutdown: CancellationToken,
) -> std::io::Result<Listener> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let url = metrics_url(addr);
    let state = Arc::new(State {
        handle,
        ready,
        process: metrics_process::Collector::default(),
    });
    state.process.describe();
    // Histograms are kept as buckets; upkeep drains their recent-samples buffers.
    let upkeep = {
        let (handle, shutdown) = (state.handle.clone(), shutdown.clone());
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    };
    let serve = async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        debug!(error = %e, "metrics_accept_failed");
                        continue;
                    }
                },
                _ = shutdown.cancelled() => return,
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(respond(&state, req)) }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(error = %e, "metrics_connection_failed");
                }
            });
        }
    };
    // One task: upkeep dying with it unnoticed would let histogram buffers grow.
    let task = tokio::spawn(async move {
        tokio::select! {
            () = serve => {}
            () = upkeep => {}
        }
    });
    Ok(Listener { addr, url, task })
}

struct State {
    handle: PrometheusHandle,
    ready: ReadyCheck,
    process: metrics_process::Collector,
}

fn respond(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
    }
    match req.uri().path() {
        "/metrics" => {
            state.process.collect();
            let ready = (state.ready)().is_ok();
            metrics::gauge!(names::READY).set(if ready { 1.0 } else { 0.0 });
            let mut response = text(StatusCode::OK, state.handle.render());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        // Alive: the process answers at all.
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match (state.ready)() {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "try /metrics, /healthz or /readyz\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// The URL a scraper uses: the host name stands in for an unspecified address.
fn metrics_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        format!("http://{host}:{}/metrics", addr.port())
    } else {
        format!("http://{addr}/metrics")
    }
}
