//! Cold-start cost of the policy, as a one-shot hook process pays it: load the built-in
//! packs, build the rule set, decide one call, then the same call again (warm).
//!
//! ```text
//! cargo run --release -p lighthouse-policy --example cold -- [CALL] [RUNS]
//! ```
//! CALL is one of `git`, `ls`, `cargo`, `write`, `read` (default `git`). With RUNS > 1
//! the example re-runs itself RUNS times, each in a fresh process, and prints medians.
use lighthouse_policy::{Call, Policy};
use serde_json::{Value, json};
use std::time::Instant;

fn call_for(name: &str) -> (&'static str, Value) {
    match name {
        "ls" => ("Bash", json!({"command": "ls -la"})),
        "cargo" => ("Bash", json!({"command": "cargo test -p x"})),
        "write" => (
            "Write",
            json!({"file_path": "/root/p/src/main.rs", "content": "fn main() {}\n"}),
        ),
        "read" => ("Read", json!({"file_path": "/root/p/Cargo.toml"})),
        _ => ("Bash", json!({"command": "git status"})),
    }
}

/// Microseconds: load packs, build, first call, second call.
fn once(name: &str) -> [f64; 4] {
    let (tool, input) = call_for(name);
    let call = Call {
        tool_name: tool,
        tool_input: &input,
        cwd: "/root/p",
        home: Some("/root"),
        branch: None,
    };
    let us = |t: Instant| t.elapsed().as_secs_f64() * 1e6;
    let t = Instant::now();
    let packs = Policy::builtin_packs().unwrap_or_default();
    let load = us(t);
    let t = Instant::now();
    let p = Policy::from_packs(&packs).unwrap_or_else(|_| Policy::fail_closed());
    let build = us(t);
    let t = Instant::now();
    let first = p.evaluate(&call);
    let first_us = us(t);
    let t = Instant::now();
    let second = p.evaluate(&call);
    let second_us = us(t);
    if first != second {
        eprintln!("verdicts differ between first and second call");
    }
    [load, build, first_us, second_us]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("git", String::as_str);
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(1);
    if runs <= 1 {
        let [l, b, f, s] = once(name);
        println!("{l:.0} {b:.0} {f:.0} {s:.0}");
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        eprintln!("cannot find own executable");
        return;
    };
    let mut cols: [Vec<f64>; 4] = Default::default();
    for _ in 0..runs {
        let Ok(out) = std::process::Command::new(&me).arg(name).output() else {
            eprintln!("cannot run {}", me.display());
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        for (col, v) in cols.iter_mut().zip(text.split_whitespace()) {
            col.push(v.parse().unwrap_or(f64::NAN));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let [l, b, f, s] = cols.each_mut().map(median);
    println!(
        "{name:6} median of {runs}: load {l:.0}µs  build {b:.0}µs  first {f:.0}µs  \
         (cold total {:.0}µs)  second {s:.0}µs",
        l + b + f
    );
}
