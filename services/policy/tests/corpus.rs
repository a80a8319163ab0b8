//! Runs the labelled corpus in `tests/corpus/policy/*.jsonl` (workspace root) and
//! prints per-class scores. Fails when a must-deny is not denied, a must-not-allow is
//! allowed, or fewer than 97% of must-allow cases are allowed.

use lighthouse_policy::{Policy, cli};
use std::path::PathBuf;

fn corpus_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/policy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_scores() {
    let policy = Policy::builtin();
    let mut total = cli::EvalSummary::default();
    for f in corpus_files() {
        let mut sink = Vec::new();
        let s = cli::eval_file_with(&policy, &f, true, Some("/home/dev"), &mut sink)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        println!(
            "{}: {}/{} (p50 {:.1}µs, p99 {:.1}µs in this build)",
            f.display(),
            s.passed,
            s.labelled,
            s.p50_us,
            s.p99_us
        );
        total.labelled += s.labelled;
        total.passed += s.passed;
        for (k, (p, t)) in s.per_class {
            let e = total.per_class.entry(k).or_default();
            e.0 += p;
            e.1 += t;
        }
        for (k, (p, t)) in s.per_expect {
            let e = total.per_expect.entry(k).or_default();
            e.0 += p;
            e.1 += t;
        }
        total.failures.extend(
            s.failures
                .into_iter()
                .map(|x| format!("{}: {x}", f.display())),
        );
    }
    // The charter corpus's classes are `<section>/<kind>`: aggregate per section.
    let mut sections: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (k, (p, t)) in &total.per_class {
        if let Some((sec, _)) = k.split_once('/') {
            let e = sections.entry(sec.to_owned()).or_default();
            e.0 += p;
            e.1 += t;
        }
    }
    println!("\nper charter section:");
    for (k, (p, t)) in &sections {
        println!(
            "  {k:<6} {p:>4}/{t:<4} {:5.1}%",
            100.0 * *p as f64 / *t as f64
        );
    }
    println!("\nper class:");
    for (k, (p, t)) in &total.per_class {
        println!(
            "  {k:<24} {p:>4}/{t:<4} {:5.1}%",
            100.0 * *p as f64 / *t as f64
        );
    }
    println!("per label:");
    for (k, (p, t)) in &total.per_expect {
        println!(
            "  {k:<24} {p:>4}/{t:<4} {:5.1}%",
            100.0 * *p as f64 / *t as f64
        );
    }
    for f in &total.failures {
        println!("  WRONG {f}");
    }
    assert!(
        total.labelled >= 2000,
        "corpus has only {} labelled cases",
        total.labelled
    );
    let wrong_safety: Vec<&String> = total
        .failures
        .iter()
        .filter(|f| f.contains("expected deny") || f.contains("expected not_allow"))
        .collect();
    assert!(
        wrong_safety.is_empty(),
        "unsafe decisions: {wrong_safety:#?}"
    );
    let (ap, at) = total.per_expect.get("allow").copied().unwrap_or((0, 0));
    assert!(
        at > 0 && ap * 100 >= at * 97,
        "must-allow {ap}/{at} below 97%"
    );
}

/// Per-call timing over the whole corpus (run with `--release -- --ignored --nocapture`;
/// prints, never asserts: timings belong to benchmarks, not tests).
#[test]
#[ignore]
fn corpus_timing_report() {
    let policy = Policy::builtin();
    let mut payloads = Vec::new();
    for f in corpus_files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(p) = cli::parse_payload(line.as_bytes()) {
                payloads.push(p);
            }
        }
    }
    let _ = policy.precompile();
    for p in &payloads {
        let _ = cli::decide(&policy, p, Some("/home/dev"));
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        for p in &payloads {
            let t = std::time::Instant::now();
            std::hint::black_box(cli::decide(&policy, p, Some("/home/dev")));
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{} calls: p50 {:.1}µs  p99 {:.1}µs  max {:.1}µs",
        times.len(),
        pct(0.5),
        pct(0.99),
        times.last().copied().unwrap_or(0.0)
    );
}
