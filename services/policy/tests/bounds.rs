//! Pathological inputs finish quickly and are never allowed.

use lighthouse_policy::{Call, Policy};
use lighthouse_schemas::Verdict;
use serde_json::json;

fn verdict(cmd: &str) -> Verdict {
    let input = json!({ "command": cmd });
    Policy::builtin()
        .evaluate(&Call {
            tool_name: "Bash",
            tool_input: &input,
            cwd: "/home/dev/project",
            home: Some("/home/dev"),
            branch: None,
        })
        .verdict
}

#[test]
fn one_megabyte_command() {
    let cmd = format!("echo {}", "a".repeat(1024 * 1024));
    assert_ne!(verdict(&cmd), Verdict::Allow);
}

#[test]
fn thousands_of_nested_substitutions() {
    let cmd = format!("echo {}x{}", "$(".repeat(5000), ")".repeat(5000));
    assert_ne!(verdict(&cmd), Verdict::Allow);
    let cmd = format!("echo {}x{}", "`".repeat(4001), "`".repeat(4001));
    assert_ne!(verdict(&cmd), Verdict::Allow);
}

#[test]
fn deep_quoting_and_subshells() {
    let cmd = format!("{}rm -rf /{}", "(".repeat(3000), ")".repeat(3000));
    assert_ne!(verdict(&cmd), Verdict::Allow);
    let mut nested = "rm -rf /".to_owned();
    for _ in 0..12 {
        nested = format!("bash -c {}", shell_quote(&nested));
    }
    assert_ne!(verdict(&nested), Verdict::Allow);
    let braces = format!("{}echo hi{}", "{ ".repeat(2000), "; }".repeat(2000));
    assert_ne!(verdict(&braces), Verdict::Allow);
}

#[test]
fn huge_heredoc() {
    let body = "rm -rf ./x\n".repeat(6000);
    let cmd = format!("bash <<EOF\n{body}EOF");
    assert_ne!(verdict(&cmd), Verdict::Allow);
}

#[test]
fn ten_thousand_element_pipelines_and_lists() {
    let pipe = vec!["cat"; 10_000].join(" | ");
    assert_ne!(verdict(&pipe), Verdict::Allow);
    let list = vec!["true"; 10_000].join(" && ");
    assert_ne!(verdict(&list), Verdict::Allow);
    let seq = vec!["ls"; 10_000].join("; ");
    assert_ne!(verdict(&seq), Verdict::Allow);
    for n in [500, 2000, 4000] {
        let pipe = vec!["cat x"; n].join(" | ");
        assert_ne!(verdict(&pipe), Verdict::Allow, "{n}-stage pipeline");
    }
}

#[test]
fn garbage_bytes_do_not_panic() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let alphabet: Vec<char> = "$(){}[]`'\"\\|&;<>*?~ \n\tabcrm-/=#!%^éü€😀\u{1}\u{2}\0"
        .chars()
        .collect();
    for _ in 0..400 {
        let mut s = String::new();
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = verdict(&s);
        // The same garbage as arguments, paths and interpreter code.
        let _ = verdict(&format!("rm -rf {s}"));
        let _ = verdict(&format!("python3 -c '{}'", s.replace('\'', "")));
        let _ = verdict(&format!("é{s}"));
        let _ = lighthouse_policy::cli::explain(&s, "é", Some("ü"), std::io::sink());
        let _ = lighthouse_policy::paths::classify(
            &s,
            lighthouse_policy::paths::Base {
                cwd: "é",
                home: None,
                branch: None,
            },
        );
        for tool in ["Write", "Read", "Glob", "WebFetch"] {
            let input = json!({"file_path": s, "content": s, "pattern": s, "url": s});
            let _ = Policy::builtin().evaluate(&Call {
                tool_name: tool,
                tool_input: &input,
                cwd: "é/relative",
                home: Some("ü"),
                branch: None,
            });
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn hostile_interpreter_code_finishes_and_is_not_allowed() {
    let calls = "os.system(\"ls\"); ".repeat(3000);
    let unclosed = "system(".repeat(5000);
    let in_strings = "'os.system(x)' ".repeat(3000);
    for code in [calls, unclosed, in_strings] {
        let cmd = format!("python3 -c '{}'", code.replace('\'', ""));
        assert_ne!(verdict(&cmd), Verdict::Allow, "{}", &cmd[..60]);
    }
}
