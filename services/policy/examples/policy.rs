//! Try the policy from a shell, and measure it in a release build:
//!
//! ```text
//! cargo run --release -p lighthouse-policy --example policy -- explain 'bash -c "sudo rm -rf ~"'
//! cargo run --release -p lighthouse-policy --example policy -- eval tests/corpus/policy/*.jsonl
//! cargo run --release -p lighthouse-policy --example policy -- quick 'cmd one' 'cmd two'
//! ```
use lighthouse_policy::{Policy, cli, paths::Base};
use std::path::Path;

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
            for f in &args[1..] {
                println!("== {f}");
                if let Err(e) = cli::eval_file(Path::new(f), false, Some(HOME), stdout.lock()) {
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
        _ => eprintln!("usage: policy explain CMD… | eval FILE… | quick CMD…"),
    }
}
