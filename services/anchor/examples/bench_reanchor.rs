//! Re-anchoring speed: for each language, a generated ~1,000-line file, 50 anchors
//! captured on it, an edit (a function inserted near the top, one body changed, one
//! function renamed), then the 50 anchors resolved against the new version.
//!
//! Three figures per language, each p50/p99 over many rounds:
//! - `resolve50`: the new version already parsed (the cache a worker keeps);
//! - `incr+resolve50`: incremental reparse from the old tree, then resolve;
//! - `full+resolve50`: parse from scratch, then resolve;
//! - `raw parse`: tree-sitter alone parsing the new version from scratch, measured in
//!   the same run, as the floor the full figure is compared with.
//!
//! Run with `cargo run --release -p lighthouse-anchor --example bench_reanchor`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use lighthouse_anchor::{Language, ParsedFile};
use std::time::Instant;

const ROUNDS: usize = 200;
const ANCHORS: usize = 50;

fn function(lang: Language, i: usize, method: bool) -> String {
    let (k, m) = (i % 7 + 1, i * 3 + 11);
    match lang {
        Language::Python => {
            let ind = if method { "    " } else { "" };
            let slf = if method { "self, " } else { "" };
            format!(
                "{ind}def func_{i}({slf}a, b):\n{ind}    total = a + {i}\n{ind}    for x in range(b):\n{ind}        total += x * {k}\n{ind}    if total > {m}:\n{ind}        return total - b\n{ind}    return total\n\n"
            )
        }
        Language::Rust => {
            let ind = if method { "    " } else { "" };
            format!(
                "{ind}pub fn func_{i}(a: u64, b: u64) -> u64 {{\n{ind}    let mut total = a + {i};\n{ind}    for x in 0..b {{\n{ind}        total += x * {k};\n{ind}    }}\n{ind}    if total > {m} {{ total - b }} else {{ total }}\n{ind}}}\n\n"
            )
        }
        Language::Go => {
            let recv = if method { "(s *Store) " } else { "" };
            format!(
                "func {recv}Func{i}(a, b int) int {{\n\ttotal := a + {i}\n\tfor x := 0; x < b; x++ {{\n\t\ttotal += x * {k}\n\t}}\n\tif total > {m} {{\n\t\treturn total - b\n\t}}\n\treturn total\n}}\n\n"
            )
        }
        _ => {
            let ind = if method { "  " } else { "" };
            let kw = if method { "" } else { "function " };
            let ty = if lang == Language::JavaScript {
                ""
            } else {
                ": number"
            };
            format!(
                "{ind}{kw}func{i}(a{ty}, b{ty}){ty} {{\n{ind}  let total = a + {i};\n{ind}  for (let x = 0; x < b; x++) {{\n{ind}    total += x * {k};\n{ind}  }}\n{ind}  if (total > {m}) {{\n{ind}    return total - b;\n{ind}  }}\n{ind}  return total;\n{ind}}}\n\n"
            )
        }
    }
}

/// A file of about 1,000 lines: free functions, then containers of ten methods each.
fn generate(lang: Language) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.lines().count() < 1000 {
        if (i / 10) % 2 == 0 {
            s.push_str(&function(lang, i, false));
            i += 1;
            continue;
        }
        let (open, close) = match lang {
            Language::Python => (format!("class Box{i}:\n"), String::new()),
            Language::Rust => (
                format!("pub struct Box{i};\n\nimpl Box{i} {{\n"),
                "}\n\n".into(),
            ),
            Language::Go => (String::new(), String::new()),
            _ => (format!("export class Box{i} {{\n"), "}\n\n".into()),
        };
        s.push_str(&open);
        for _ in 0..10 {
            s.push_str(&function(lang, i, true));
            i += 1;
        }
        s.push_str(&close);
    }
    s
}

fn edit(lang: Language, old: &str) -> String {
    let inserted = function(lang, 90_000, false);
    let mut new = old.replacen(
        &function_head(lang, 0),
        &format!("{inserted}{}", function_head(lang, 0)),
        1,
    );
    // One light body edit and one rename further down.
    new = new.replacen("total += x * 3", "total += x * 3 + 1", 1);
    new.replacen(&name(lang, 42), &name(lang, 4242), 1)
}

fn name(lang: Language, i: usize) -> String {
    match lang {
        Language::Python | Language::Rust => format!("func_{i}("),
        Language::Go => format!("Func{i}("),
        _ => format!("func{i}("),
    }
}

fn function_head(lang: Language, i: usize) -> String {
    match lang {
        Language::Python => format!("def func_{i}("),
        Language::Rust => format!("pub fn func_{i}("),
        Language::Go => format!("func Func{i}("),
        _ => format!("function func{i}("),
    }
}

fn grammar(lang: Language) -> tree_sitter::Language {
    match lang {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time<F: FnMut()>(mut f: F) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (pct(&ms, 0.5), pct(&ms, 0.99))
}

fn main() {
    println!(
        "{:<11} {:>5} {:>5} {:>22} {:>22} {:>22} {:>18} {:>6}",
        "language",
        "lines",
        "defs",
        "resolve50 p50/p99 ms",
        "incr+resolve50",
        "full+resolve50",
        "raw parse",
        "full/raw"
    );
    for lang in [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::TypeScript,
        Language::Go,
    ] {
        let old_src = generate(lang);
        let new_src = edit(lang, &old_src);
        let old = ParsedFile::parse(&old_src, lang).expect("parse old");
        let lines = old.line_count();
        // Spread over the file; blank lines between definitions hold no anchor.
        let anchors: Vec<_> = (0..ANCHORS)
            .filter_map(|k| {
                let from = 1 + k * lines / ANCHORS + 2;
                (from..=lines).find_map(|l| old.capture(l).ok())
            })
            .collect();
        assert_eq!(
            anchors.len(),
            ANCHORS,
            "every sampled line is in a function"
        );
        let new = old.next_version(&new_src).expect("parse new");
        let lost = anchors
            .iter()
            .filter(|a| new.resolve(a).line.is_none())
            .count();

        let warm = time(|| {
            for a in &anchors {
                std::hint::black_box(new.resolve(a));
            }
        });
        let incr = time(|| {
            let f = old.next_version(&new_src).expect("reparse");
            for a in &anchors {
                std::hint::black_box(f.resolve(a));
            }
        });
        let full = time(|| {
            let f = ParsedFile::parse(&new_src, lang).expect("parse");
            for a in &anchors {
                std::hint::black_box(f.resolve(a));
            }
        });
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar(lang)).expect("grammar");
        let raw = time(|| {
            std::hint::black_box(parser.parse(&new_src, None));
        });
        println!(
            "{:<11} {:>5} {:>5} {:>22} {:>22} {:>22} {:>18} {:>6.2}{}",
            lang.name(),
            lines,
            new.definition_count(),
            format!("{:.3}/{:.3}", warm.0, warm.1),
            format!("{:.3}/{:.3}", incr.0, incr.1),
            format!("{:.3}/{:.3}", full.0, full.1),
            format!("{:.3}/{:.3}", raw.0, raw.1),
            full.0 / raw.0,
            if lost > 0 {
                format!("  ({lost} anchors unresolved)")
            } else {
                String::new()
            }
        );
    }
}
