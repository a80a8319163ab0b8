//! The alert rules and the Grafana board only query metrics that exist: every
//! `lighthouse_*` and `process_*` name they use is in the metrics table (histograms
//! with their `_bucket`/`_sum`/`_count` series), every `gnatsd_*` name is one the NATS
//! exporter serves. (promtool checks the rules' syntax and behaviour; the scrape test
//! checks a running pipeline serves the table.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use lighthouse_telemetry::names::{self, Kind};
use regex::Regex;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// prometheus-nats-exporter series the rules and board rely on (see alerts.yml).
const NATS_EXPORTER: &[&str] = &["gnatsd_varz_connections"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Metric names used in `text`.
fn used(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r"\b(?:lighthouse|process|gnatsd)_[a-z0-9_]+\b").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

/// Whether `name` is a series Lighthouse or the NATS exporter serves.
fn exists(name: &str) -> bool {
    if NATS_EXPORTER.contains(&name) {
        return true;
    }
    if let Some(m) = names::find(name) {
        return m.kind != Kind::Histogram;
    }
    ["_bucket", "_sum", "_count"].iter().any(|suffix| {
        name.strip_suffix(suffix)
            .and_then(names::find)
            .is_some_and(|m| m.kind == Kind::Histogram)
    })
}

fn unknown(names: &BTreeSet<String>) -> Vec<&String> {
    names.iter().filter(|n| !exists(n)).collect()
}

#[test]
fn the_checker_tells_known_from_unknown() {
    assert!(exists("lighthouse_decisions_total"));
    assert!(exists("lighthouse_decision_latency_seconds_bucket"));
    assert!(
        !exists("lighthouse_decision_latency_seconds"),
        "a histogram is queried by its series"
    );
    assert!(!exists("lighthouse_decisions_total_bucket"));
    assert!(!exists("lighthouse_no_such_metric"));
}

#[test]
fn alert_rules_use_existing_metrics() {
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/prometheus/alerts.test.yml",
    ] {
        let names = used(&read(file));
        assert!(names.len() >= 10, "{file} uses {names:?}");
        assert_eq!(unknown(&names), Vec::<&String>::new(), "{file}");
    }
}

#[test]
fn every_dashboard_query_uses_existing_metrics() {
    let board: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/lighthouse.json")).unwrap();
    let panels = board["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut all = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title} has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let names = used(expr);
            // `up{job="nats"}` is Prometheus's own series.
            assert!(
                !names.is_empty() || expr.starts_with("up{"),
                "panel {title}: {expr} queries no metric"
            );
            assert_eq!(
                unknown(&names),
                Vec::<&String>::new(),
                "panel {title}: {expr}"
            );
            all.extend(names);
        }
    }
    // The board covers what issue 12 asks an operator to see.
    for needed in [
        "lighthouse_decisions_total",
        "lighthouse_decision_latency_seconds_bucket",
        "lighthouse_fallback_decisions_total",
        "lighthouse_escalations_total",
        "lighthouse_expert_response_seconds_bucket",
        "lighthouse_dead_letters_total",
        "lighthouse_consumer_pending",
        "lighthouse_workers_present",
        "process_resident_memory_bytes",
    ] {
        assert!(all.contains(needed), "the board shows no {needed}");
    }
}
