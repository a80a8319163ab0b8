//! Try the policy from a shell, and measure it in a release build:
//!
//! ```text
//! cargo run --release -p lighthouse-policy --example policy -- explain 'bash -c "sudo rm -rf ~"'
//! cargo run --release -p lighthouse-policy --example policy -- eval tests/corpus/policy/*.jsonl
//! cargo run --release -p lighthouse-policy --example policy -- quick 'cmd one' 'cmd two'
//! cargo run --release -p lighthouse-policy --example policy -- bench tests/corpus/policy/*.jsonl
//! cargo run --release -p lighthouse-policy --example policy -- dump tests/corpus/policy/*.jsonl
//! ```
use lighthouse_policy::{Policy, cli, paths::Base};
use std::path::Path;

// As the `lighthouse` binary and the validator run the policy (see their `main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CWD: &str = "/home/dev/project";
const HOME: &str = "/home/dev";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    match args.first().map(String::as_str) {
        Some("explain") => {
            for cmd in &args[1..] {
                if let Err(e) = cli::explain(cmd, CWD, Some(HOME), stdout.lock()) {
                    eprintln!("{e}");
                }
            }
        }
        Some("eval") => {
            let json = args.iter().any(|a| a == "--json");
            for f in args[1..].iter().filter(|a| *a != "--json") {
                if !json {
                    println!("== {f}");
                }
                if let Err(e) = cli::eval_file(Path::new(f), json, Some(HOME), stdout.lock()) {
                    eprintln!("{e}");
                }
            }
        }
        Some("quick") => {
            let p = Policy::builtin();
            for cmd in &args[1..] {
                let a = p.analyze_bash(
                    cmd,
                    Base {
                        cwd: CWD,
                        home: Some(HOME),
                        branch: None,
                    },
                );
                let e = a.evaluation;
                println!(
                    "{:?}\t{}\t{}",
                    e.verdict,
                    e.rule_id.unwrap_or_default(),
                    cmd
                );
            }
        }
        Some("bench") => bench(&args[1..]),
        Some("dump") => args[1..].iter().for_each(|f| dump(f)),
        Some("profile") => args[1..].iter().for_each(|c| profile(c)),
        Some("parse") => args[1..].iter().for_each(|c| parse_only(c)),
        Some("startup") => {
            // Cost of loading the built-in packs (paid once per hook process).
            let t = std::time::Instant::now();
            let packs = Policy::builtin_packs().unwrap_or_default();
            let parsed = t.elapsed();
            let p = Policy::from_packs(&packs);
            let built = t.elapsed();
            let _ = cli::decide(
                &Policy::builtin(),
                &cli::parse_payload(
                    std::env::var("FIRST")
                        .unwrap_or_else(|_| {
                            r#"{"tool_name":"Bash","tool_input":{"command":"ls -la"},"cwd":"/p"}"#
                                .to_owned()
                        })
                        .as_bytes(),
                )
                .unwrap_or_default(),
                None,
            );
            let first = t.elapsed();
            println!(
                "parse packs {:?}, compile {:?}, first call {:?} ({} rules)",
                parsed,
                built - parsed,
                first - built,
                p.map(|p| p.rule_ids().len()).unwrap_or(0)
            );
        }
        _ => eprintln!(
            "usage: policy explain CMD… | eval FILE… | quick CMD… | bench FILE… | dump FILE…"
        ),
    }
}

/// Evaluates every payload of the files 20 times (round-robin, so caches of one call
/// do not help the next) and prints per-call percentiles.
fn bench(files: &[String]) {
    let policy = Policy::builtin();
    let mut payloads = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            eprintln!("cannot read {f}");
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(p) = cli::parse_payload(line.as_bytes()) {
                payloads.push(p);
            }
        }
    }
    if payloads.is_empty() {
        eprintln!("no hook payloads in {files:?}");
        return;
    }
    let _ = policy.precompile();
    for p in &payloads {
        let _ = cli::decide(&policy, p, Some(HOME));
    }
    let mut times = Vec::with_capacity(payloads.len() * 20);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        for p in &payloads {
            let t = std::time::Instant::now();
            let e = cli::decide(&policy, p, Some(HOME));
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(e);
        }
    }
    let total = started.elapsed().as_secs_f64();
    if std::env::var_os("BENCH_TOP").is_some() {
        // Slowest payloads by median, to see where time goes.
        let n = payloads.len();
        let mut per: Vec<(f64, usize)> = (0..n)
            .map(|i| {
                let mut v: Vec<f64> = (0..20).map(|r| times[r * n + i]).collect();
                v.sort_by(f64::total_cmp);
                (v[10], i)
            })
            .collect();
        per.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some((k, t)) = times.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) {
            let p = &payloads[k % n];
            let what = p
                .tool_input
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default();
            println!(
                "max {t:.1}µs (round {}): {}",
                k / n,
                what.chars().take(100).collect::<String>()
            );
        }
        for (us, i) in per.iter().take(25) {
            let p = &payloads[*i];
            let what = p
                .tool_input
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default();
            println!("{us:8.1}µs  {}", what.chars().take(120).collect::<String>());
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{} payloads x 20: p50 {:.1}µs  p90 {:.1}µs  p99 {:.1}µs  max {:.1}µs  {:.0} calls/s",
        payloads.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        times.last().copied().unwrap_or(0.0),
        times.len() as f64 / total
    );
}

/// Prints every payload's evaluation and full analysis (`dump FILE…`): diff two builds'
/// output to see that a change altered no decision and no reasoning.
fn dump(file: &str) {
    let Ok(text) = std::fs::read_to_string(file) else {
        eprintln!("cannot read {file}");
        return;
    };
    let policy = Policy::builtin();
    let _ = policy.precompile();
    let null = serde_json::Value::Null;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match cli::parse_payload(line.as_bytes()) {
            Ok(p) => {
                let call = cli::call_of(&p, Some(HOME), &null);
                let e = policy.evaluate(&call);
                println!("{file}:{}\t{e:?}\n\t{:?}", i + 1, policy.analyze(&call));
            }
            Err(e) => println!("{file}:{}\t{e:?}", i + 1),
        }
    }
}

/// Splits one command's cost into parse+normalise and the rest (`profile CMD`).
fn profile(cmd: &str) {
    use lighthouse_policy::shell::{Env, normalize};
    let env = Env {
        cwd: CWD,
        home: Some(HOME),
    };
    let p = Policy::builtin();
    // As `eval` and the workers run: patterns compiled beforehand.
    let _ = p.precompile();
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(normalize(cmd, env));
    }
    let norm = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(p.analyze_bash(
            cmd,
            Base {
                cwd: CWD,
                home: Some(HOME),
                branch: None,
            },
        ));
    }
    let all = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{norm:7.1}µs normalise  {all:7.1}µs total  {cmd}");
}

/// Raw tree-sitter parse time (`parse CMD…`).
fn parse_only(cmd: &str) {
    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        return;
    }
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(parser.parse(cmd, None));
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let bytes = cmd.as_bytes();
        let mut read = |i: usize, _| bytes.get(i..).unwrap_or_default();
        let mut progress = |_: &tree_sitter::ParseState| false;
        let opts = tree_sitter::ParseOptions::new().progress_callback(&mut progress);
        std::hint::black_box(parser.parse_with_options(&mut read, None, Some(opts)));
    }
    let us2 = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{us:7.1}µs parse  {us2:7.1}µs parse_with_options  {cmd}");
}
