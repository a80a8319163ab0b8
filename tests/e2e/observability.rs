//! Observability (issue 12), end to end: a running `lighthouse up` serves `/metrics`,
//! `/healthz` and `/readyz`; Debian's real `prometheus` scrapes it and answers queries
//! on the decisions the hooks caused; an escalated command's spans reach an OTLP/HTTP
//! receiver as one trace.

use crate::util::*;
use async_nats::jetstream;
use futures::StreamExt;
use lighthouse_tests::free_port;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// `GET url` over plain HTTP/1.0: (status, body); `None` when nothing answers.
fn http_get(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts `lighthouse <args>` and returns it with its first stdout line (the ready line).
fn start_with_ready_line(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(LIMIT).unwrap_or_default();
    (child, line)
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// A real Prometheus (Debian's package) scraping `target` every second.
struct Prometheus {
    _dir: tempfile::TempDir,
    base: String,
}

impl Prometheus {
    fn start(target: &str, procs: &mut Procs) -> Prometheus {
        let binary = which_prometheus();
        let dir = tempfile::tempdir().unwrap();
        let rules = lighthouse_tests::workspace_root().join("deploy/prometheus/alerts.yml");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: lighthouse\n    static_configs:\n      - targets: ['{target}']\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        procs.0.push(child);
        Prometheus {
            _dir: dir,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The instant vector of `query`: (labels, value) per series.
    fn query(&self, query: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let Some((200, body)) = http_get(&format!(
            "{}/api/v1/query?query={}",
            self.base,
            encode(query)
        )) else {
            return Vec::new();
        };
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{query}: {v}");
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let labels = serde_json::from_value(r["metric"].clone()).unwrap();
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    fn scalar(&self, query: &str) -> Option<f64> {
        self.query(query).first().map(|(_, v)| *v)
    }
}

fn which_prometheus() -> &'static str {
    for path in ["/usr/bin/prometheus", "/usr/local/bin/prometheus"] {
        if Path::new(path).exists() {
            return path;
        }
    }
    panic!("no prometheus binary: install Debian's `prometheus` package (scripts/test does)");
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_reads_decisions_from_a_running_up() {
    let p = Pipeline::start();
    let mut procs = Procs::default();
    let mut up = p.cmd();
    up.args(["up", "--nats-url", &p.server.url()])
        .env("LIGHTHOUSE__METRICS__LISTEN", "127.0.0.1:0");
    let (child, line) = start_with_ready_line(up);
    procs.0.push(child);
    let metrics_url = field(&line, "metrics_url")
        .unwrap_or_else(|| panic!("no metrics_url in the ready line: {line:?}"))
        .to_owned();
    let base = metrics_url.trim_end_matches("/metrics").to_owned();
    let target = base.trim_start_matches("http://").to_owned();

    // Alive at once; ready once the validator has bound its consumers.
    assert_eq!(http_get(&format!("{base}/healthz")).map(|r| r.0), Some(200));
    eventually(LIMIT, || async {
        http_get(&format!("{base}/readyz")).map(|r| r.0) == Some(200)
    })
    .await;
    // `lighthouse status --json` lists the listener.
    eventually(LIMIT, || async {
        let out = p.cmd().args(["status", "--json"]).output().unwrap();
        let status: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        status["metrics_urls"]
            .as_array()
            .is_some_and(|urls| urls.iter().any(|u| u == metrics_url.as_str()))
    })
    .await;

    let prometheus = Prometheus::start(&target, &mut procs);
    let (allowed, denied) = (6, 4);
    for i in 0..allowed {
        let (answer, _) = p.hook(&bash("ls -la", &format!("toolu_allow_{i}")));
        assert_eq!(permission(&answer), "allow", "{answer}");
    }
    for i in 0..denied {
        let (answer, _) = p.hook(&bash("rm -rf /", &format!("toolu_deny_{i}")));
        assert_eq!(permission(&answer), "deny", "{answer}");
    }
    // A command no validator can decode: dead-lettered, and counted.
    let js = p.js().await;
    js.publish("lh.cmd.demo.agent", "not msgpack".into())
        .await
        .unwrap()
        .await
        .unwrap();

    let total = (allowed + denied) as f64;
    eventually(LIMIT, || async {
        prometheus.scalar("sum(lighthouse_decisions_total)") >= Some(total)
    })
    .await;
    let by_verdict: BTreeMap<String, f64> = prometheus
        .query("sum by (verdict) (lighthouse_decisions_total)")
        .into_iter()
        .map(|(labels, v)| (labels["verdict"].clone(), v))
        .collect();
    assert_eq!(
        by_verdict.get("allow"),
        Some(&(allowed as f64)),
        "{by_verdict:?}"
    );
    assert_eq!(
        by_verdict.get("deny"),
        Some(&(denied as f64)),
        "{by_verdict:?}"
    );
    assert_eq!(
        prometheus.scalar("sum(lighthouse_decision_latency_seconds_count)"),
        Some(total)
    );
    let p99 = prometheus
        .scalar(
            "histogram_quantile(0.99, sum by (le) (lighthouse_decision_latency_seconds_bucket))",
        )
        .expect("a p99");
    assert!(p99.is_finite() && p99 > 0.0, "p99 {p99}");
    let rules = prometheus.scalar("sum(lighthouse_rule_decisions_total)");
    assert_eq!(rules, Some(total));
    eventually(LIMIT, || async {
        prometheus.scalar(r#"sum(lighthouse_dead_letters_total{stream="LH_CMD"})"#) == Some(1.0)
    })
    .await;
    eventually(LIMIT, || async {
        prometheus.scalar(r#"max(lighthouse_workers_present{kind="validator"})"#) >= Some(1.0)
            && prometheus
                .scalar(r#"sum(lighthouse_consumer_pending{stream="LH_CMD"})"#)
                .is_some()
    })
    .await;

    // Every metric an operator relies on without special events is served.
    let (_, text) = http_get(&metrics_url).unwrap();
    for name in [
        "lighthouse_decisions_total",
        "lighthouse_rule_decisions_total",
        "lighthouse_decision_latency_seconds_bucket",
        "lighthouse_dead_letters_total",
        "lighthouse_messages_total",
        "lighthouse_consumer_pending",
        "lighthouse_consumer_ack_pending",
        "lighthouse_workers_present",
        "lighthouse_policy_info",
        "lighthouse_stream_messages",
        "lighthouse_stream_max_bytes",
        "lighthouse_jetstream_storage_bytes",
        "lighthouse_ready",
        "process_resident_memory_bytes",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' '])),
            "/metrics serves no {name}"
        );
    }
    // The shipped alert rules load into the real Prometheus.
    let (_, rules) = http_get(&format!("{}/api/v1/rules", prometheus.base)).unwrap();
    let rules: Value = serde_json::from_str(&rules).unwrap();
    let loaded: usize = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert!(loaded >= 10, "{rules}");
}

/// A minimal OTLP/HTTP (JSON) receiver: collects every exported span.
struct OtlpReceiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl OtlpReceiver {
    fn start() -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = sink.clone();
                std::thread::spawn(move || serve_otlp(stream, &sink));
            }
        });
        OtlpReceiver { endpoint, spans }
    }

    fn spans(&self) -> Vec<Value> {
        self.spans.lock().unwrap().clone()
    }
}

/// Reads requests on one keep-alive connection; answers each with an empty success.
fn serve_otlp(stream: TcpStream, sink: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(export) = serde_json::from_slice::<Value>(&body) {
            let mut spans = sink.lock().unwrap();
            for rs in export["resourceSpans"].as_array().into_iter().flatten() {
                let service = rs["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .map(|a| a["value"]["stringValue"].clone())
                    .unwrap_or(Value::Null);
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for span in ss["spans"].as_array().into_iter().flatten() {
                        let mut span = span.clone();
                        span["service"] = service.clone();
                        spans.push(span);
                    }
                }
            }
        }
        let _ = writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        );
    }
}

fn attribute(span: &Value, key: &str) -> Option<String> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| {
            let v = &a["value"];
            v["stringValue"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| v["intValue"].as_str().map(str::to_owned))
                .or_else(|| v["intValue"].as_i64().map(|i| i.to_string()))
                .unwrap_or_else(|| v.to_string())
        })
}

/// A config file exporting spans to `receiver` as OTLP/JSON, after `extra` settings.
fn traced_config(p: &Pipeline, receiver: &OtlpReceiver, extra: &str) -> std::path::PathBuf {
    let config = p.state.path().join("config.toml");
    let tracing = format!(
        "[tracing]\notlp_endpoint = \"{}\"\notlp_protocol = \"http/json\"\n",
        receiver.endpoint
    );
    std::fs::write(&config, format!("{extra}{tracing}")).unwrap();
    config
}

/// `lighthouse` with `config`, exporting span batches quickly (the SDK's standard knob).
fn traced_cmd(p: &Pipeline, config: &Path) -> Command {
    let mut cmd = p.cmd();
    cmd.env("LIGHTHOUSE_CONFIG", config)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_follows_an_escalated_command_through_every_stage() {
    let receiver = OtlpReceiver::start();
    let p = Pipeline::start();
    let config = traced_config(&p, &receiver, "[hook]\nescalation_wait_ms = 25000\n");
    let cmd = || traced_cmd(&p, &config);
    let mut procs = Procs::default();
    let js = p.js().await;
    // The aggregator first: a validator loads who is present before its first command,
    // so once present itself it surely escalates rather than answering alone.
    for kind in ["aggregator", "validator"] {
        procs.0.push(
            cmd()
                .args([kind, "--id", &format!("{kind}1")])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        eventually(LIMIT, || async {
            lighthouse_nats::presence::list(&js)
                .await
                .is_ok_and(|w| w.iter().any(|w| w.kind == kind))
        })
        .await;
    }
    // The expert's consumer exists once the topology is applied (by the workers).
    procs.0.push(
        cmd()
            .args([
                "expert",
                "watch",
                "--specialty",
                "security",
                "--id",
                "alice",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually(LIMIT, || async {
        let Ok(kv) = js.get_key_value("lh_experts").await else {
            return false;
        };
        match kv.keys().await {
            Ok(mut keys) => keys.next().await.is_some(),
            Err(_) => false,
        }
    })
    .await;
    // Ready when its pull is open at the server (workers see its presence through KV
    // watches, pushed as soon as it is written).
    eventually(LIMIT, || expert_pulling(&js, "security")).await;

    let id = "toolu_traced";
    let hook = {
        let mut hook = cmd();
        hook.env_remove("OTEL_BSP_SCHEDULE_DELAY");
        let payload = pre_tool_use(
            "Write",
            json!({"file_path": "/work/other-project/run.sh", "content": "make deploy\n"}),
            id,
        );
        std::thread::spawn(move || run_hook(hook, &payload).0)
    };
    // The hook's traceparent is on the stored command.
    let trace_id = {
        let stream = js.get_stream("LH_CMD").await.unwrap();
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let message = tokio::time::timeout(LIMIT, messages.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let traceparent = message
            .headers
            .as_ref()
            .and_then(|h| h.get("traceparent"))
            .expect("the hook writes a traceparent")
            .to_string();
        lighthouse_nats::trace::trace_id_of(&traceparent)
            .unwrap()
            .to_owned()
    };
    // Once escalated, the expert votes from its own process.
    eventually(LIMIT, || async {
        match js.get_key_value("lh_escalations").await {
            Ok(kv) => matches!(kv.get(id).await, Ok(Some(_))),
            Err(_) => false,
        }
    })
    .await;
    let out = cmd()
        .args([
            "expert",
            "approve",
            id,
            "--specialty",
            "security",
            "--id",
            "alice",
            "--reason",
            "fine",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = tokio::task::block_in_place(|| hook.join().unwrap());
    assert_eq!(permission(&answer), "allow", "{answer}");

    let stages = ["validate", "escalation", "expert vote", "vote", "decide"];
    eventually(LIMIT, || async {
        let names: BTreeSet<String> = receiver
            .spans()
            .iter()
            .filter(|s| s["traceId"] == trace_id.as_str())
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect();
        stages.iter().all(|s| names.contains(*s))
    })
    .await;
    let spans: Vec<Value> = receiver
        .spans()
        .into_iter()
        .filter(|s| s["traceId"] == trace_id.as_str())
        .collect();
    let by_id: BTreeMap<String, &Value> = spans
        .iter()
        .map(|s| (s["spanId"].as_str().unwrap().to_owned(), s))
        .collect();
    for stage in stages {
        let span = spans.iter().find(|s| s["name"] == stage).unwrap();
        assert_eq!(
            attribute(span, "cmd_id").as_deref(),
            Some(id),
            "{stage}: {span}"
        );
        // Every stage hangs off another stage of the same trace, except the first,
        // whose parent is the hook's (which exports nothing).
        let parent = span["parentSpanId"].as_str().unwrap_or("");
        assert!(!parent.is_empty(), "{stage} has no parent: {span}");
        if stage != "validate" {
            assert!(
                by_id.contains_key(parent),
                "{stage}'s parent is not in the trace: {span}"
            );
        }
    }
    for stage in ["validate", "escalation", "vote"] {
        let span = spans.iter().find(|s| s["name"] == stage).unwrap();
        assert!(
            attribute(span, "subject").is_some_and(|s| s.starts_with("lh.")),
            "{span}"
        );
        assert!(attribute(span, "stream_sequence").is_some(), "{span}");
    }
    let services: BTreeSet<String> = spans
        .iter()
        .filter_map(|s| s["service"].as_str().map(str::to_owned))
        .collect();
    for service in [
        "lighthouse-validator",
        "lighthouse-aggregator",
        "lighthouse-expert",
    ] {
        assert!(services.contains(service), "{services:?}");
    }
}

/// One validator process, as a pod runs it: `/readyz` answers 200 once its consumers
/// are bound and 503 once NATS is gone; `lighthouse status --watch` shows it present,
/// scraped, and its decisions; with `service.log_format = "json"` every line it logs
/// is a JSON object.
#[tokio::test(flavor = "multi_thread")]
async fn a_validator_reports_ready_then_not_and_logs_json_and_watch_shows_it() {
    let mut p = Pipeline::start();
    let port = free_port();
    let log = p.state.path().join("validator.log");
    let mut procs = Procs::default();
    procs.0.push(
        p.cmd()
            .args(["validator", "--id", "v-observed"])
            .env("LIGHTHOUSE__METRICS__LISTEN", format!("127.0.0.1:{port}"))
            .env("LIGHTHOUSE__SERVICE__LOG_FORMAT", "json")
            .env("LIGHTHOUSE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    eventually(LIMIT, || async {
        http_get(&format!("{base}/readyz")).map(|r| r.0) == Some(200)
    })
    .await;
    for i in 0..3 {
        let (answer, _) = p.hook(&bash("ls", &format!("toolu_watched_{i}")));
        assert_eq!(permission(&answer), "allow", "{answer}");
    }

    let out = p
        .cmd()
        .args(["status", "--watch", "--frames", "2", "--interval", "0.5"])
        .output()
        .unwrap();
    let view = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{view}");
    assert!(view.contains("validator 1"), "{view}");
    // Empty sums print as 0, not "-0".
    assert!(view.contains("dead letters 0 in all"), "{view}");
    assert!(
        view.contains(&format!("scraped     {base}/metrics")),
        "{view}"
    );
    assert!(view.contains("(total 3)"), "{view}");

    p.server.kill();
    eventually(LIMIT, || async {
        http_get(&format!("{base}/readyz")).map(|r| r.0) == Some(503)
    })
    .await;

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the validator logged nothing");
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "not a JSON log line: {line}"
        );
    }
}

/// `tracing.sample_ratio` is decided once, by the hook that starts the trace: a command
/// it did not sample leaves no span anywhere, one it did leaves its validator span.
#[tokio::test(flavor = "multi_thread")]
async fn a_command_the_hook_did_not_sample_exports_no_span() {
    let receiver = OtlpReceiver::start();
    let p = Pipeline::start();
    let config = traced_config(&p, &receiver, "");
    let cmd = || traced_cmd(&p, &config);
    // The validator samples every trace it starts: only the hook's flag can hold one back.
    let mut procs = Procs::default();
    procs.0.push(
        cmd()
            .args(["validator", "--id", "v1"])
            .env("LIGHTHOUSE__TRACING__SAMPLE_RATIO", "1.0")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let js = p.js().await;
    eventually(LIMIT, || async {
        let workers = lighthouse_nats::presence::list(&js)
            .await
            .unwrap_or_default();
        workers.iter().any(|w| w.kind == "validator")
    })
    .await;
    for (id, ratio) in [("toolu_unsampled", "0.0"), ("toolu_sampled", "1.0")] {
        let mut hook = cmd();
        hook.env("LIGHTHOUSE__TRACING__SAMPLE_RATIO", ratio);
        let payload = pre_tool_use("Bash", json!({"command": "ls"}), id);
        let answer = tokio::task::block_in_place(|| run_hook(hook, &payload).0);
        assert_eq!(permission(&answer), "allow", "{answer}");
    }
    // Both commands carry a traceparent; only the sampled one says so in its flags.
    let mut traces = BTreeMap::new();
    let stream = js.get_stream("LH_CMD").await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    while traces.len() < 2 {
        let message = tokio::time::timeout(LIMIT, messages.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let command: lighthouse_schemas::Command =
            lighthouse_schemas::decode(&message.payload).unwrap();
        let traceparent = message
            .headers
            .as_ref()
            .and_then(|h| h.get("traceparent"))
            .expect("the hook writes a traceparent")
            .to_string();
        traces.insert(command.env.id, traceparent);
    }
    assert!(traces["toolu_unsampled"].ends_with("-00"), "{traces:?}");
    assert!(traces["toolu_sampled"].ends_with("-01"), "{traces:?}");
    let trace_of = |id: &str| {
        lighthouse_nats::trace::trace_id_of(&traces[id])
            .unwrap()
            .to_owned()
    };
    let (unsampled, sampled) = (trace_of("toolu_unsampled"), trace_of("toolu_sampled"));
    // The sampled command was validated after the other: once its span is exported,
    // the other's would have been too.
    eventually(LIMIT, || async {
        receiver
            .spans()
            .iter()
            .any(|s| s["traceId"] == sampled.as_str() && s["name"] == "validate")
    })
    .await;
    let leaked: Vec<Value> = receiver
        .spans()
        .into_iter()
        .filter(|s| s["traceId"] == unsampled.as_str())
        .collect();
    assert!(leaked.is_empty(), "unsampled trace exported: {leaked:?}");
}
