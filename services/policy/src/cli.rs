//! The `lighthouse check | explain | eval` logic, as library functions the binary wraps.
//!
//! `check` reads one Claude Code hook payload and prints one JSON decision line; it fails
//! closed (malformed input → deny, as the hook answers it). `explain` shows how a command
//! was understood. `eval_file` runs a JSONL corpus and reports decisions, scores (when
//! lines carry `expect`) and per-call timing.

use crate::{Call, Evaluation, Policy, PolicyError};
use lighthouse_schemas::{Risk, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Instant;

/// Largest hook payload `check` accepts.
pub const MAX_PAYLOAD: usize = 1024 * 1024;

/// The fields of a Claude Code hook payload we use; others are ignored.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct HookPayload {
    #[serde(default)]
    pub hook_event_name: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<Value>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

impl From<&lighthouse_schemas::Command> for HookPayload {
    /// The PreToolUse payload a recorded command came from, as `explain` reads it.
    fn from(c: &lighthouse_schemas::Command) -> Self {
        HookPayload {
            hook_event_name: Some("PreToolUse".to_owned()),
            tool_name: Some(c.tool_name.clone()),
            tool_input: Some(c.tool_input.clone()),
            cwd: Some(c.cwd.clone()),
            session_id: Some(c.session_id.clone()),
            tool_use_id: c.tool_use_id.clone(),
        }
    }
}

/// What `check` decided, for the caller (exit codes, spooling, publishing).
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub evaluation: Evaluation,
    /// The payload as parsed; `None` when it was malformed.
    pub payload: Option<HookPayload>,
}

/// The JSON line `check` prints.
#[derive(Debug, Serialize)]
struct CheckLine<'a> {
    verdict: Verdict,
    #[serde(rename = "permissionDecision")]
    permission_decision: &'static str,
    rule_id: Option<&'a str>,
    reason: &'a str,
    risk: Risk,
    alternative: Option<&'a str>,
    normalized: &'a [String],
}

/// Claude Code's name for a verdict.
pub fn permission_decision(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::Escalate => "ask",
    }
}

fn fail_closed(rule: &str, reason: impl Into<String>) -> Evaluation {
    Evaluation {
        verdict: Verdict::Deny,
        rule_id: Some(rule.to_owned()),
        reason: reason.into(),
        risk: Risk::Medium,
        alternative: None,
        normalized: Vec::new(),
    }
}

/// Parses one payload; a malformed one yields the escalation to answer with.
pub fn parse_payload(bytes: &[u8]) -> Result<HookPayload, Evaluation> {
    if bytes.len() > MAX_PAYLOAD {
        return Err(fail_closed(
            "input.too_large",
            format!("hook payload larger than {MAX_PAYLOAD} bytes"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(fail_closed("input.empty", "empty hook payload"));
    }
    let payload: HookPayload = serde_json::from_slice(bytes).map_err(|e| {
        fail_closed(
            "input.malformed",
            format!("hook payload is not valid JSON: {e}"),
        )
    })?;
    match &payload.tool_name {
        None => Err(fail_closed(
            "input.no_tool",
            "hook payload without tool_name",
        )),
        Some(_) if payload.tool_input.as_ref().is_none_or(|v| !v.is_object()) => Err(fail_closed(
            "input.no_tool_input",
            "hook payload without a tool_input object",
        )),
        Some(_) => Ok(payload),
    }
}

/// The call a payload describes, as every path decides it (check, explain, eval, the
/// validator and the hook's fallback). The home directory is the one the payload's cwd
/// lies in when that tells (`/home/<u>/…`): a payload judged on another machine, or by
/// another user, means that user's `~`. Otherwise `home`.
pub fn call_of<'a>(payload: &'a HookPayload, home: Option<&'a str>, null: &'a Value) -> Call<'a> {
    let home = payload
        .cwd
        .as_deref()
        .and_then(crate::home_from_cwd)
        .or(home);
    Call {
        tool_name: payload.tool_name.as_deref().unwrap_or(""),
        tool_input: payload.tool_input.as_ref().unwrap_or(null),
        // A missing cwd is handled by the policy (a stand-in project directory).
        cwd: payload.cwd.as_deref().unwrap_or(""),
        home,
        // A payload says nothing of the repository's state; the hook's commands do.
        branch: None,
    }
}

/// Decides one parsed payload with `policy`.
pub fn decide(policy: &Policy, payload: &HookPayload, home: Option<&str>) -> Evaluation {
    let null = Value::Null;
    policy.evaluate(&call_of(payload, home, &null))
}

/// Reads ONE hook payload from `input` and prints one JSON decision line to `out`,
/// using the built-in policy.
pub fn check(
    input: impl Read,
    out: impl Write,
    home: Option<&str>,
) -> Result<CheckOutcome, PolicyError> {
    check_with(&Policy::builtin(), input, out, home)
}

/// [`check`] with a given policy (built-in plus project or central packs).
pub fn check_with(
    policy: &Policy,
    input: impl Read,
    mut out: impl Write,
    home: Option<&str>,
) -> Result<CheckOutcome, PolicyError> {
    let mut buf = Vec::with_capacity(4096);
    // One byte over the bound is enough to know it is too large.
    input.take(MAX_PAYLOAD as u64 + 1).read_to_end(&mut buf)?;
    let (evaluation, payload) = match parse_payload(&buf) {
        Ok(p) => (decide(policy, &p, home), Some(p)),
        Err(e) => (e, None),
    };
    write_check_line(&mut out, &evaluation)?;
    Ok(CheckOutcome {
        evaluation,
        payload,
    })
}

/// [`check_with`] for many payloads, one per line (JSONL), one decision line each: the
/// same parse and decision per payload, without a process per call (corpus checks).
pub fn check_lines_with(
    policy: &Policy,
    input: impl Read,
    mut out: impl Write,
    home: Option<&str>,
) -> Result<usize, PolicyError> {
    let mut n = 0;
    for line in BufReader::new(input).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let evaluation = match parse_payload(line.as_bytes()) {
            Ok(p) => decide(policy, &p, home),
            Err(e) => e,
        };
        write_check_line(&mut out, &evaluation)?;
        n += 1;
    }
    Ok(n)
}

fn write_check_line(out: &mut impl Write, e: &Evaluation) -> Result<(), PolicyError> {
    let line = CheckLine {
        verdict: e.verdict,
        permission_decision: permission_decision(e.verdict),
        rule_id: e.rule_id.as_deref(),
        reason: &e.reason,
        risk: e.risk,
        alternative: e.alternative.as_deref(),
        normalized: &e.normalized,
    };
    let text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::Escalate => "escalate",
    }
}

fn risk_name(r: Risk) -> &'static str {
    match r {
        Risk::Low => "low",
        Risk::Medium => "medium",
        Risk::High => "high",
        Risk::Critical => "critical",
    }
}

/// Prints, for humans, how `command` is understood and decided.
pub fn explain(
    command: &str,
    cwd: &str,
    home: Option<&str>,
    out: impl Write,
) -> Result<Evaluation, PolicyError> {
    explain_with(&Policy::builtin(), command, cwd, home, out)
}

/// [`explain`] with a given policy: the command is judged as the Bash call a hook would
/// send from `cwd`, through the same function `check` and the validators use.
pub fn explain_with(
    policy: &Policy,
    command: &str,
    cwd: &str,
    home: Option<&str>,
    out: impl Write,
) -> Result<Evaluation, PolicyError> {
    let payload = HookPayload {
        hook_event_name: Some("PreToolUse".to_owned()),
        tool_name: Some("Bash".to_owned()),
        tool_input: Some(serde_json::json!({ "command": command })),
        cwd: Some(cwd.to_owned()),
        session_id: None,
        tool_use_id: None,
    };
    explain_payload(policy, &payload, home, out)
}

/// Reads hook payloads from `input` and explains each decision (any tool). The input is
/// one payload (pretty-printed or not) or many, one per line.
pub fn explain_input_with(
    policy: &Policy,
    input: impl Read,
    home: Option<&str>,
    mut out: impl Write,
) -> Result<Vec<Evaluation>, PolicyError> {
    let mut buf = Vec::with_capacity(4096);
    input
        .take(64 * MAX_PAYLOAD as u64 + 1)
        .read_to_end(&mut buf)?;
    let whole = parse_payload(&buf);
    let payloads: Vec<Result<HookPayload, Evaluation>> = match whole {
        Ok(p) => vec![Ok(p)],
        // Not one payload: one per line.
        Err(e) => {
            let lines: Vec<&[u8]> = buf
                .split(|b| *b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            if lines.len() > 1 {
                lines.into_iter().map(parse_payload).collect()
            } else {
                vec![Err(e)]
            }
        }
    };
    let mut all = Vec::with_capacity(payloads.len());
    for (i, p) in payloads.into_iter().enumerate() {
        if i > 0 {
            writeln!(out, "\n---")?;
        }
        let e = match p {
            Ok(p) => explain_payload(policy, &p, home, &mut out)?,
            Err(e) => {
                writeln!(out, "input: {}", e.reason)?;
                write_verdict(&mut out, &e)?;
                e
            }
        };
        all.push(e);
    }
    Ok(all)
}

/// Explains one parsed payload.
pub fn explain_payload(
    policy: &Policy,
    payload: &HookPayload,
    home: Option<&str>,
    mut out: impl Write,
) -> Result<Evaluation, PolicyError> {
    let null = Value::Null;
    let call = call_of(payload, home, &null);
    let a = policy.analyze(&call);
    match call.tool_input.get("command").and_then(Value::as_str) {
        Some(c) if call.tool_name == "Bash" => writeln!(out, "command: {c}")?,
        _ => writeln!(out, "tool: {} {}", call.tool_name, call.tool_input)?,
    }
    writeln!(
        out,
        "cwd: {}   home: {}",
        call.cwd,
        call.home.unwrap_or("(unknown)")
    )?;
    writeln!(out, "policy: {}", policy.version())?;
    if a.parse_error {
        writeln!(out, "note: tree-sitter reported a syntax error")?;
    }
    if let Some(b) = &a.over_bound {
        writeln!(out, "note: analysis stopped: {b}")?;
    }
    if a.commands.is_empty() {
        writeln!(out, "(no commands run)")?;
    }
    for (i, r) in a.commands.iter().enumerate() {
        let c = &r.command;
        writeln!(out, "\n[{}] {}", i + 1, c.display())?;
        if !c.via.is_empty() {
            writeln!(out, "    reached via: {} → {}", c.via.join(" → "), c.name)?;
        }
        if !r.facts.flags.is_empty() {
            let flags: Vec<&str> = r.facts.flags.iter().map(String::as_str).collect();
            writeln!(out, "    flags: {}", flags.join(", "))?;
        }
        for (p, cls) in &r.facts.classified {
            writeln!(
                out,
                "    path {}: {}",
                crate::shell::shown(p),
                cls.names().join(", ")
            )?;
        }
        if let Some(by) = &r.facts.production_by {
            writeln!(out, "    target: production ({})", crate::shell::shown(by))?;
        }
        if !c.tags.is_empty() {
            writeln!(out, "    facts: {}", c.tags.join(", "))?;
        }
        if !c.script_from.is_empty() {
            writeln!(out, "    runs code from: {}", c.script_from.join(" | "))?;
        }
        if r.matched.is_empty() {
            writeln!(out, "    rules: none match")?;
        }
        for (id, v) in &r.matched {
            writeln!(out, "    rule {id}: {}", verdict_name(*v))?;
        }
    }
    write_verdict(&mut out, &a.evaluation)?;
    Ok(a.evaluation)
}

fn write_verdict(out: &mut impl Write, e: &Evaluation) -> Result<(), PolicyError> {
    writeln!(
        out,
        "\nverdict: {} (risk {}, rule {})",
        verdict_name(e.verdict),
        risk_name(e.risk),
        e.rule_id.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "reason: {}", e.reason)?;
    if let Some(alt) = &e.alternative {
        writeln!(out, "instead: {alt}")?;
    }
    Ok(())
}

/// Scores and timing of an [`eval_file`] run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalSummary {
    pub calls: usize,
    /// Lines that were not valid payloads (answered fail-closed, still counted).
    pub malformed: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub calls_per_sec: f64,
    /// Lines with an `expect` label, and how many the policy got right.
    pub labelled: usize,
    pub passed: usize,
    /// Per `class`: (passed, labelled).
    pub per_class: BTreeMap<String, (usize, usize)>,
    /// Per `expect` label: (passed, labelled).
    pub per_expect: BTreeMap<String, (usize, usize)>,
    /// Line numbers and descriptions of wrong decisions.
    pub failures: Vec<String>,
}

/// Whether `v` satisfies an `expect` label (`deny`, `not_allow`, `allow`, `escalate`).
pub fn satisfies(expect: &str, v: Verdict) -> bool {
    match expect {
        "deny" => v == Verdict::Deny,
        "not_allow" => v != Verdict::Allow,
        "allow" => v == Verdict::Allow,
        "escalate" => v == Verdict::Escalate,
        _ => false,
    }
}

#[derive(Debug, Serialize)]
struct EvalLine<'a> {
    line: usize,
    verdict: Verdict,
    rule_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
    us: f64,
}

/// `x` to a tenth: timings are printed (and serialised) as `26.4`, not
/// `26.378999999999998` — finer digits are noise at this scale anyway.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Evaluates a JSONL file of hook payloads (see the module docs).
pub fn eval_file(
    path: &Path,
    json: bool,
    home: Option<&str>,
    out: impl Write,
) -> Result<EvalSummary, PolicyError> {
    eval_file_with(&Policy::builtin(), path, json, home, out)
}

/// [`eval_file`] with a given policy.
pub fn eval_file_with(
    policy: &Policy,
    path: &Path,
    json: bool,
    home: Option<&str>,
    mut out: impl Write,
) -> Result<EvalSummary, PolicyError> {
    let file = std::fs::File::open(path)?;
    let reader = BufReader::new(file);
    let mut s = EvalSummary::default();
    let mut times: Vec<f64> = Vec::new();
    // Compile lazily built patterns and the parser outside the timings.
    let _ = policy.precompile();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let lineno = i + 1;
        let raw: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let expect = raw.get("expect").and_then(Value::as_str);
        let class = raw.get("class").and_then(Value::as_str);
        let t0 = Instant::now();
        let evaluation = match parse_payload(line.as_bytes()) {
            Ok(p) => decide(policy, &p, home),
            Err(e) => {
                s.malformed += 1;
                e
            }
        };
        let us = t0.elapsed().as_secs_f64() * 1e6;
        times.push(us);
        let us = tenth(us);
        s.calls += 1;
        let ok = expect.map(|x| satisfies(x, evaluation.verdict));
        if let (Some(x), Some(ok)) = (expect, ok) {
            s.labelled += 1;
            let cls = class.unwrap_or("(none)").to_owned();
            let entry = s.per_class.entry(cls).or_default();
            entry.1 += 1;
            let ex = s.per_expect.entry(x.to_owned()).or_default();
            ex.1 += 1;
            if ok {
                s.passed += 1;
                entry.0 += 1;
                ex.0 += 1;
            } else {
                let what = raw
                    .get("tool_input")
                    .map(|v| {
                        v.get("command")
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default();
                s.failures.push(format!(
                    "line {lineno} [{}] expected {x}, got {} ({}): {}",
                    class.unwrap_or("-"),
                    verdict_name(evaluation.verdict),
                    evaluation.rule_id.as_deref().unwrap_or("-"),
                    truncate(&what, 200)
                ));
            }
        }
        if json {
            let l = EvalLine {
                line: lineno,
                verdict: evaluation.verdict,
                rule_id: evaluation.rule_id.as_deref(),
                expect,
                class,
                ok,
                us,
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string(&l).map_err(std::io::Error::other)?
            )?;
        } else {
            let mark = match ok {
                Some(true) => " ok",
                Some(false) => " WRONG",
                None => "",
            };
            writeln!(
                out,
                "{lineno}\t{}\t{}\t{us:.1}µs{mark}",
                verdict_name(evaluation.verdict),
                evaluation.rule_id.as_deref().unwrap_or("-"),
            )?;
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if times.is_empty() {
            return 0.0;
        }
        let idx = ((times.len() as f64 - 1.0) * p).round() as usize;
        times[idx.min(times.len() - 1)]
    };
    s.p50_us = tenth(pct(0.50));
    s.p99_us = tenth(pct(0.99));
    s.max_us = tenth(times.last().copied().unwrap_or(0.0));
    let eval_time: f64 = times.iter().sum::<f64>() / 1e6;
    s.calls_per_sec = if eval_time > 0.0 {
        (s.calls as f64 / eval_time).round()
    } else {
        0.0
    };
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&s).map_err(std::io::Error::other)?
        )?;
    } else {
        writeln!(
            out,
            "\n{} calls ({} malformed): p50 {:.1}µs  p99 {:.1}µs  max {:.1}µs  {:.0} calls/s",
            s.calls, s.malformed, s.p50_us, s.p99_us, s.max_us, s.calls_per_sec
        )?;
        if s.labelled > 0 {
            writeln!(out, "labelled: {}/{} correct", s.passed, s.labelled)?;
            for (k, (p, t)) in &s.per_expect {
                writeln!(out, "  expect {k:<10} {p}/{t}")?;
            }
            for (k, (p, t)) in &s.per_class {
                writeln!(out, "  class {k:<28} {p}/{t}")?;
            }
            for f in &s.failures {
                writeln!(out, "  {f}")?;
            }
        }
    }
    Ok(s)
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> (CheckOutcome, String) {
        let mut out = Vec::new();
        let o = check(input.as_bytes(), &mut out, Some("/home/u")).unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    #[test]
    fn check_prints_one_line() {
        let (o, line) = run(
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"},"cwd":"/home/u/p","session_id":"s","tool_use_id":"t","extra":1}"#,
        );
        assert_eq!(o.evaluation.verdict, Verdict::Deny);
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["verdict"], "deny");
        assert_eq!(v["permissionDecision"], "deny");
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn check_fails_closed() {
        for bad in [
            "",
            "   ",
            "garbage",
            "{}",
            "[1,2]",
            r#"{"tool_name":"Bash"}"#,
            r#"{"tool_name":"Bash","tool_input":"rm"}"#,
        ] {
            let (o, line) = run(bad);
            // As `hook claude` answers the same input: deny.
            assert_eq!(o.evaluation.verdict, Verdict::Deny, "{bad}");
            assert!(line.contains("\"permissionDecision\":\"deny\""), "{line}");
        }
        let big = format!(
            r#"{{"tool_name":"Bash","tool_input":{{"command":"{}"}}}}"#,
            "a".repeat(MAX_PAYLOAD)
        );
        let (o, _) = run(&big);
        assert_eq!(o.evaluation.rule_id.as_deref(), Some("input.too_large"));
    }

    #[test]
    fn explain_shows_the_chain() {
        let mut out = Vec::new();
        let e = explain(
            "bash -c 'sudo rm -rf ~'",
            "/home/u/p",
            Some("/home/u"),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(e.verdict, Verdict::Deny);
        assert!(text.contains("bash -c → sudo → rm"), "{text}");
        assert!(text.contains("home"), "{text}");
    }
}
