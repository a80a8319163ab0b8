//! Reading `/metrics` back: a scrape over HTTP and the text exposition format parsed
//! into series, plus the arithmetic `lighthouse status --watch` needs (sums, rates,
//! quantiles from histogram buckets) when no Prometheus is at hand.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// `GET url` (plain HTTP) within `timeout`; the body of a 200.
pub async fn fetch(url: &str, timeout: Duration) -> Result<String, String> {
    tokio::time::timeout(timeout, fetch_inner(url))
        .await
        .map_err(|_| format!("{url}: no answer within {timeout:?}"))?
}

async fn fetch_inner(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("{url}: no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(connection);
    let request = hyper::Request::get(uri.path())
        .header(hyper::header::HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{url}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    String::from_utf8(body.to_vec()).map_err(|e| format!("{url}: {e}"))
}

/// Parses the Prometheus text format (comments and malformed lines are skipped).
pub fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Series> {
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            (
                &line[..open],
                parse_labels(&line[open + 1..close])?,
                &line[close + 1..],
            )
        }
        None => {
            let (name, rest) = line.split_once(' ')?;
            (name, BTreeMap::new(), rest)
        }
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Series {
        name: name.trim().to_owned(),
        labels,
        value,
    })
}

fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(labels);
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        chars.next()?; // '='
        if chars.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name.trim().to_owned(), value);
    }
}

/// Sum of `name` over the series whose labels include every `(key, value)` of `filter`.
pub fn sum(series: &[Series], name: &str, filter: &[(&str, &str)]) -> f64 {
    series
        .iter()
        .filter(|s| s.name == name && matches(s, filter))
        .map(|s| s.value)
        // From 0.0: an empty f64 sum is -0.0, which prints as "-0".
        .fold(0.0, |a, b| a + b)
}

fn matches(s: &Series, filter: &[(&str, &str)]) -> bool {
    filter.iter().all(|(k, v)| {
        s.labels
            .get(*k)
            .is_some_and(|x| v.split('|').any(|alt| alt == x))
    })
}

/// Cumulative bucket counts of histogram `name` (summed over other labels), by `le`.
pub fn buckets(series: &[Series], name: &str, filter: &[(&str, &str)]) -> Vec<(f64, f64)> {
    let bucket = format!("{name}_bucket");
    let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in series
        .iter()
        .filter(|s| s.name == bucket && matches(s, filter))
    {
        let Some(le) = s.labels.get("le").and_then(|le| match le.as_str() {
            "+Inf" => Some(f64::INFINITY),
            v => v.parse::<f64>().ok(),
        }) else {
            continue;
        };
        let entry = by_le.entry(le.to_bits()).or_insert((le, 0.0));
        entry.1 += s.value;
    }
    let mut out: Vec<(f64, f64)> = by_le.into_values().collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Bucket counts of `now` minus those of `before` (a window's observations).
pub fn bucket_delta(now: &[(f64, f64)], before: &[(f64, f64)]) -> Vec<(f64, f64)> {
    now.iter()
        .map(|(le, n)| {
            let old = before
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, (n - old).max(0.0))
        })
        .collect()
}

/// The `q` quantile of cumulative buckets, interpolated within its bucket as
/// Prometheus's `histogram_quantile` does; `None` without observations.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let width = count - lower.1;
            let within = if width > 0.0 {
                (rank - lower.1) / width
            } else {
                1.0
            };
            return Some(lower.0 + (le - lower.0) * within);
        }
        lower = (le, count);
    }
    Some(lower.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP lighthouse_decisions_total Decisions.
# TYPE lighthouse_decisions_total counter
lighthouse_decisions_total{verdict="allow",tier="policy"} 7
lighthouse_decisions_total{verdict="deny",tier="cache"} 3
lighthouse_fallback_decisions_total 1
lighthouse_decision_latency_seconds_bucket{tier="policy",le="0.001"} 2
lighthouse_decision_latency_seconds_bucket{tier="policy",le="0.01"} 8
lighthouse_decision_latency_seconds_bucket{tier="policy",le="+Inf"} 10
lighthouse_dead_letters_total{stream="LH_CMD",reason="a \"quoted\", comma"} 2
"#;

    #[test]
    fn parses_the_text_format() {
        let series = parse(TEXT);
        assert_eq!(series.len(), 7);
        assert_eq!(sum(&series, "lighthouse_decisions_total", &[]), 10.0);
        assert_eq!(
            sum(
                &series,
                "lighthouse_decisions_total",
                &[("verdict", "deny")]
            ),
            3.0
        );
        assert_eq!(
            sum(
                &series,
                "lighthouse_decisions_total",
                &[("tier", "policy|cache")]
            ),
            10.0
        );
        assert_eq!(
            sum(&series, "lighthouse_fallback_decisions_total", &[]),
            1.0
        );
        let dl = series
            .iter()
            .find(|s| s.name == "lighthouse_dead_letters_total")
            .unwrap();
        assert_eq!(dl.labels["reason"], "a \"quoted\", comma");
    }

    #[test]
    fn quantiles_interpolate_like_prometheus() {
        let series = parse(TEXT);
        let b = buckets(&series, "lighthouse_decision_latency_seconds", &[]);
        assert_eq!(b, vec![(0.001, 2.0), (0.01, 8.0), (f64::INFINITY, 10.0)]);
        // Median: rank 5 lies half-way through (0.001, 0.01].
        let p50 = quantile(0.5, &b).unwrap();
        assert!((p50 - 0.0055).abs() < 1e-9, "{p50}");
        // p99 falls in +Inf: the highest finite bound, as Prometheus answers.
        assert_eq!(quantile(0.99, &b), Some(0.01));
        assert_eq!(quantile(0.5, &[]), None);
        let none = bucket_delta(&b, &b);
        assert_eq!(quantile(0.5, &none), None);
    }
}
