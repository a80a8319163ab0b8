//! `lighthouse status --watch`: a live terminal view for an operator without Grafana.
//!
//! Every refresh reads the same sources as `lighthouse status` (NATS, streams, presence),
//! scrapes the `/metrics` of every worker that serves one, and shows rates and
//! latencies over the last refresh interval (from counter and histogram-bucket deltas,
//! as Prometheus's `rate` and `histogram_quantile` would), consumer lag per partition,
//! the fallback share and who is present.

use crate::status::{Status, status};
use lighthouse_nats::topology::Topology;
use lighthouse_telemetry::names;
use lighthouse_telemetry::sampler::{ConsumerLag, consumer_lags};
use lighthouse_telemetry::scrape::{self, Series};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// How the view refreshes.
#[derive(Debug, Clone)]
pub struct WatchArgs {
    pub interval: Duration,
    /// Stop after this many frames (scripts and tests); `None`: until Ctrl-C.
    pub frames: Option<usize>,
    /// Clear the terminal between frames (off when stdout is not a terminal).
    pub clear: bool,
}

/// One refresh: what was read, and when.
struct Frame {
    at: Instant,
    status: Status,
    series: Vec<Series>,
    scrape_errors: Vec<String>,
    lags: Vec<ConsumerLag>,
}

pub async fn watch(url: &str, args: WatchArgs) -> anyhow::Result<()> {
    let js = lighthouse_nats::connect(url, "lighthouse-status-watch")
        .await
        .ok()
        .map(async_nats::jetstream::new);
    let streams: Vec<String> = Topology::embedded()?
        .streams
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let mut previous: Option<Frame> = None;
    let mut shown = 0;
    loop {
        let frame = read(url, js.as_ref(), &streams).await;
        let text = render(&frame, previous.as_ref(), args.interval);
        let mut out = std::io::stdout().lock();
        if args.clear {
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        let _ = write!(out, "{text}");
        let _ = out.flush();
        drop(out);
        previous = Some(frame);
        shown += 1;
        if args.frames.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn read(url: &str, js: Option<&async_nats::jetstream::Context>, streams: &[String]) -> Frame {
    let status = status(url).await;
    let mut series = Vec::new();
    let mut scrape_errors = Vec::new();
    for metrics_url in &status.metrics_urls {
        match scrape::fetch(metrics_url, Duration::from_secs(2)).await {
            Ok(text) => series.extend(scrape::parse(&text)),
            Err(e) => scrape_errors.push(e),
        }
    }
    let lags = match js {
        Some(js) => consumer_lags(js, streams).await.unwrap_or_default(),
        None => Vec::new(),
    };
    Frame {
        at: Instant::now(),
        status,
        series,
        scrape_errors,
        lags,
    }
}

/// Renders one frame; rates need the previous one.
fn render(now: &Frame, before: Option<&Frame>, interval: Duration) -> String {
    let mut out = String::new();
    let s = &now.status;
    let t = time::OffsetDateTime::now_utc();
    let clock = format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let _ = writeln!(
        out,
        "lighthouse  {}  {}  {clock} UTC  (every {:.1} s; Ctrl-C stops)\n",
        if s.healthy { "healthy" } else { "UNHEALTHY" },
        s.nats_url,
        interval.as_secs_f64()
    );
    let delta = |name: &str, filter: &[(&str, &str)]| -> Option<f64> {
        let b = before?;
        let dt = now.at.duration_since(b.at).as_secs_f64();
        (dt > 0.0).then(|| {
            (scrape::sum(&now.series, name, filter) - scrape::sum(&b.series, name, filter)).max(0.0)
        })
    };
    let dt = before.map(|b| now.at.duration_since(b.at).as_secs_f64());
    let rate = |name: &str, filter: &[(&str, &str)]| -> String {
        match (delta(name, filter), dt) {
            (Some(d), Some(dt)) if dt > 0.0 => format!("{:.1}/s", d / dt),
            _ => "-".to_owned(),
        }
    };
    if s.metrics_urls.is_empty() {
        let _ = writeln!(
            out,
            "metrics     no worker serves /metrics (set metrics.listen): rates and latency unavailable"
        );
    } else {
        let total = scrape::sum(&now.series, names::DECISIONS, &[]);
        let _ = writeln!(
            out,
            "decisions   {:>9}   allow {}  deny {}  escalate {}   (total {total})",
            rate(names::DECISIONS, &[]),
            rate(names::DECISIONS, &[("verdict", "allow")]),
            rate(names::DECISIONS, &[("verdict", "deny")]),
            rate(names::DECISIONS, &[("verdict", "escalate")]),
        );
        let window = |filter: &[(&str, &str)]| -> Vec<(f64, f64)> {
            let now_b = scrape::buckets(&now.series, names::DECISION_LATENCY, filter);
            match before {
                Some(b) => scrape::bucket_delta(
                    &now_b,
                    &scrape::buckets(&b.series, names::DECISION_LATENCY, filter),
                ),
                None => now_b,
            }
        };
        let fast = window(&[("tier", "policy|cache")]);
        let escalated = window(&[("tier", "expert|deadline")]);
        let _ = writeln!(
            out,
            "latency     fast path p50 {}  p99 {}   escalated p50 {}  p99 {}",
            ms(scrape::quantile(0.5, &fast)),
            ms(scrape::quantile(0.99, &fast)),
            ms(scrape::quantile(0.5, &escalated)),
            ms(scrape::quantile(0.99, &escalated)),
        );
        let fallback_share = match (
            delta(names::FALLBACK_DECISIONS, &[]),
            delta(names::DECISIONS, &[]),
        ) {
            (Some(f), Some(d)) if d > 0.0 => format!("{:.1}%", 100.0 * f / d),
            (Some(_), Some(_)) => "0.0%".to_owned(),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "fallback    {fallback_share} of decisions   ({} recorded in all)",
            scrape::sum(&now.series, names::FALLBACK_DECISIONS, &[])
        );
        let _ = writeln!(
            out,
            "escalations {:>9}   expired {}   dead letters {} in all",
            rate(names::ESCALATIONS, &[]),
            scrape::sum(
                &now.series,
                names::ESCALATIONS,
                &[("outcome", "expired|nobody_present")]
            ),
            scrape::sum(&now.series, names::DEAD_LETTERS, &[]),
        );
    }
    let mut kinds: BTreeMap<&str, usize> = ["validator", "aggregator", "annotator", "projector"]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    for w in &s.workers {
        *kinds.entry(w.kind.as_str()).or_default() += 1;
    }
    let presence: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(out, "workers     {}", presence.join("  "));
    let _ = writeln!(
        out,
        "lag         {:<28} {:>9} {:>12}",
        "stream/consumer", "pending", "ack pending"
    );
    for lag in &now.lags {
        let _ = writeln!(
            out,
            "            {:<28} {:>9} {:>12}",
            format!("{}/{}", lag.stream, lag.consumer),
            lag.pending,
            lag.ack_pending
        );
    }
    for url in &s.metrics_urls {
        let _ = writeln!(out, "scraped     {url}");
    }
    for e in &now.scrape_errors {
        let _ = writeln!(out, "problem     {e}");
    }
    for p in &s.problems {
        let _ = writeln!(out, "problem     {p}");
    }
    out.push('\n');
    out
}

fn ms(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) => format!("{:.1} ms", s * 1000.0),
        None => "-".to_owned(),
    }
}
