//! Typed builders for every public subject. Services never `format!` a subject.
//!
//! | subject | stream | who publishes |
//! |---|---|---|
//! | `lh.cmd.<project>.<agent>` | `LH_CMD` (stored as `lh.cmd.<project>.<agent>.<partition>`) | the agent's hook |
//! | `lh.decision.<project>.<agent>.<cmd_id>` | `LH_DECISION` | validators, the aggregator, hook fallback spool |
//! | `lh.recorded.<project>.<agent>.<cmd_id>` | — (core NATS) | the server: `LH_DECISION` republishes each decision it stored |
//! | `lh.fallback.<project>.<agent>.<cmd_id>` | `LH_FALLBACK` | the agent's hook (local decisions; validators record them) |
//! | `lh.esc.<project>.<specialty>` | `LH_ESC` | validators |
//! | `lh.vote.<cmd_id>.<expert>` | `LH_VOTE` | experts |
//! | `lh.fs.<project>.<file_key>` | `LH_FS` | the hook (post-tool), `lighthouse sync` |
//! | `lh.annot.<project>.<file_key>` | `LH_ANNOT` | experts |
//! | `lh.dlq.<stream>` | `LH_DLQ` | any worker that met an undecodable message |
//!
//! Escalation state in KV buckets (keys built here too):
//!
//! | bucket | key | value | who writes |
//! |---|---|---|---|
//! | `lh_experts` | `<specialty>.<expert>` ([`expert_key`]) | JSON `ExpertPresence`, TTL 15 s | experts, every 5 s |
//! | `lh_escalations` | `<cmd_id>` token | MessagePack `Escalation` | validators, once per command |

use crate::token::Token;

/// Root of every Lighthouse subject.
pub const ROOT: &str = "lh";

/// `lh.cmd.<project>.<agent>`: where a hook publishes a command.
pub fn command(project: &Token, agent: &Token) -> String {
    format!("{ROOT}.cmd.{project}.{agent}")
}

/// Filter for the commands stored in one partition of `LH_CMD`.
pub fn command_partition_filter(partition: u32) -> String {
    format!("{ROOT}.cmd.*.*.{partition}")
}

/// `lh.decision.<project>.<agent>.<cmd_id>`: the one decision for one command.
pub fn decision(project: &Token, agent: &Token, cmd_id: &Token) -> String {
    format!("{ROOT}.decision.{project}.{agent}.{cmd_id}")
}

/// `lh.recorded.<project>.<agent>.<cmd_id>`: the decision `LH_DECISION` stored for a
/// command, republished by the server once stored (the stream's `republish`). Only the
/// stored one arrives here: a second decision the stream refused never does, so a
/// waiting hook needs no read-back. Nobody but the server publishes here.
pub fn recorded_decision(project: &Token, agent: &Token, cmd_id: &Token) -> String {
    format!("{ROOT}.recorded.{project}.{agent}.{cmd_id}")
}

/// `lh.decision.<project>.<agent>.<cmd_id>.late`: experts' consensus reached after the
/// command's decision was already "unresolved" (its deadline passed, or nobody could
/// answer). The decision itself never changes; this record, made by the aggregator
/// under the same consensus rule, lets a client that cannot ask (Codex, Gemini) run a
/// retry of the same call. At most one per command.
pub fn late_approval(project: &Token, agent: &Token, cmd_id: &Token) -> String {
    format!("{}.late", decision(project, agent, cmd_id))
}

/// `lh.pending.<project>.<agent>.<cmd_id>`: core NATS only (no stream): a validator's
/// notice to the waiting hook that its command went to experts (payload: the
/// `Escalation`), so the hook waits for them instead of falling back.
pub fn pending(project: &Token, agent: &Token, cmd_id: &Token) -> String {
    format!("{ROOT}.pending.{project}.{agent}.{cmd_id}")
}

/// `lh.fallback.<project>.<agent>.<cmd_id>`: a decision the agent's hook made locally,
/// for validators to record (the agent may publish here, never on `lh.decision`).
pub fn fallback(project: &Token, agent: &Token, cmd_id: &Token) -> String {
    format!("{ROOT}.fallback.{project}.{agent}.{cmd_id}")
}

/// The project, agent and command id of a fallback subject.
pub fn parse_fallback(subject: &str) -> Option<(Token, Token, Token)> {
    let mut parts = subject.split('.');
    if parts.next()? != ROOT || parts.next()? != "fallback" {
        return None;
    }
    let project = Token::parse(parts.next()?)?;
    let agent = Token::parse(parts.next()?)?;
    let cmd = Token::parse(parts.next()?)?;
    parts.next().is_none().then_some((project, agent, cmd))
}

/// Every decision (the audit log).
pub const DECISION_ALL: &str = "lh.decision.>";

/// `lh.esc.<project>.<specialty>`: an escalation for one specialty of experts.
pub fn escalation(project: &Token, specialty: &Token) -> String {
    format!("{ROOT}.esc.{project}.{specialty}")
}

/// Filter for the escalations of one specialty, across projects (an expert's view).
pub fn escalation_filter(specialty: &Token) -> String {
    format!("{ROOT}.esc.*.{specialty}")
}

/// Every escalation.
pub const ESCALATION_ALL: &str = "lh.esc.>";

/// `lh.vote.<cmd_id>.<expert>`: one expert's vote on one escalated command.
pub fn vote(cmd_id: &Token, expert: &Token) -> String {
    format!("{ROOT}.vote.{cmd_id}.{expert}")
}

/// Filter for every vote on one command, as published or as stored (with the
/// partition suffix `LH_VOTE` adds).
pub fn votes_for(cmd_id: &Token) -> String {
    format!("{ROOT}.vote.{cmd_id}.>")
}

/// Filter for the votes stored in one partition of `LH_VOTE`.
pub fn vote_partition_filter(partition: u32) -> String {
    format!("{ROOT}.vote.*.*.{partition}")
}

/// Filter for every decision about one agent's commands.
pub fn decisions_of(project: &Token, agent: &Token) -> String {
    format!("{ROOT}.decision.{project}.{agent}.*")
}

/// Key of an expert's heartbeat in the `lh_experts` KV bucket: `<specialty>.<expert>`
/// (tokens in their KV form, see [`Token::kv_key`]).
pub fn expert_key(specialty: &Token, expert: &Token) -> String {
    format!("{}.{}", specialty.kv_key(), expert.kv_key())
}

/// The specialty and expert of an `lh_experts` key.
pub fn parse_expert_key(key: &str) -> Option<(Token, Token)> {
    let (specialty, expert) = key.split_once('.')?;
    Some((Token::from_kv_key(specialty)?, Token::from_kv_key(expert)?))
}

/// `lh.fs.<project>.<file_key>`: a file's content as the agent wrote it.
pub fn file(project: &Token, file_key: &Token) -> String {
    format!("{ROOT}.fs.{project}.{file_key}")
}

/// The project and file key of `lh.fs.<project>.<file_key>`.
pub fn parse_file(subject: &str) -> Option<(Token, Token)> {
    let mut parts = subject.split('.');
    if parts.next()? != ROOT || parts.next()? != "fs" {
        return None;
    }
    let project = Token::parse(parts.next()?)?;
    let key = Token::parse(parts.next()?)?;
    parts.next().is_none().then_some((project, key))
}

/// Every file version of one project (`lh.fs.<project>.>`).
pub fn file_project_filter(project: &Token) -> String {
    format!("{ROOT}.fs.{project}.>")
}

/// Every file version (the `LH_FS` stream).
pub const FILE_ALL: &str = "lh.fs.>";
/// Every annotation (the `LH_ANNOT` stream).
pub const ANNOTATION_ALL: &str = "lh.annot.>";

/// `lh.annot.<project>.<file_key>`: expert annotations on one file.
pub fn annotation(project: &Token, file_key: &Token) -> String {
    format!("{ROOT}.annot.{project}.{file_key}")
}

/// `lh.dlq.<stream>`: undecodable messages taken out of `stream`, with the reason.
pub fn dead_letter(stream: &str) -> String {
    format!("{ROOT}.dlq.{}", Token::encode(stream))
}

/// The parts of a stored command subject `lh.cmd.<project>.<agent>[.<partition>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSubject {
    pub project: Token,
    pub agent: Token,
    pub partition: Option<u32>,
}

/// The parts of a vote subject `lh.vote.<cmd_id>.<expert>[.<partition>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteSubject {
    pub cmd_id: Token,
    pub expert: Token,
    pub partition: Option<u32>,
}

/// Parses a vote subject as published or as stored (with its partition suffix).
pub fn parse_vote(subject: &str) -> Option<VoteSubject> {
    let mut parts = subject.split('.');
    if parts.next()? != ROOT || parts.next()? != "vote" {
        return None;
    }
    let cmd_id = Token::parse(parts.next()?)?;
    let expert = Token::parse(parts.next()?)?;
    let partition = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(VoteSubject {
        cmd_id,
        expert,
        partition,
    })
}

/// Parses a command subject as published or as stored (with its partition suffix).
pub fn parse_command(subject: &str) -> Option<CommandSubject> {
    let mut parts = subject.split('.');
    if parts.next()? != ROOT || parts.next()? != "cmd" {
        return None;
    }
    let project = Token::parse(parts.next()?)?;
    let agent = Token::parse(parts.next()?)?;
    let partition = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(CommandSubject {
        project,
        agent,
        partition,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_produce_the_contract() {
        let (p, a, c) = (
            Token::encode("web.app"),
            Token::encode("claude 1"),
            Token::encode("toolu_1"),
        );
        assert_eq!(command(&p, &a), "lh.cmd.web~2eapp.claude~201");
        assert_eq!(
            decision(&p, &a, &c),
            "lh.decision.web~2eapp.claude~201.toolu_1"
        );
        assert_eq!(
            escalation(&p, &Token::encode("security")),
            "lh.esc.web~2eapp.security"
        );
        assert_eq!(vote(&c, &Token::encode("alice")), "lh.vote.toolu_1.alice");
        assert_eq!(dead_letter("LH_CMD"), "lh.dlq.LH_CMD");
        assert_eq!(command_partition_filter(3), "lh.cmd.*.*.3");
        let key = Token::encode("src/main.rs");
        assert_eq!(file(&p, &key), "lh.fs.web~2eapp.src~2fmain~2ers");
        assert_eq!(file_project_filter(&p), "lh.fs.web~2eapp.>");
    }

    #[test]
    fn escalation_and_vote_subjects() {
        let (c, e) = (Token::encode("toolu.1"), Token::encode("alice"));
        assert_eq!(votes_for(&c), "lh.vote.toolu~2e1.>");
        assert_eq!(vote_partition_filter(2), "lh.vote.*.*.2");
        assert_eq!(
            escalation_filter(&Token::encode("security")),
            "lh.esc.*.security"
        );
        let parsed = parse_vote(&format!("{}.3", vote(&c, &e))).unwrap();
        assert_eq!(
            (parsed.cmd_id, parsed.expert, parsed.partition),
            (c, e, Some(3))
        );
        for bad in [
            "lh.vote.x",
            "lh.vote.x.y.z",
            "lh.cmd.x.y",
            "lh.vote.x.y.1.2",
        ] {
            assert!(parse_vote(bad).is_none(), "{bad}");
        }
        let key = expert_key(&Token::encode("security"), &Token::encode("a.b"));
        assert_eq!(key, "security.a/2eb");
        let (s, x) = parse_expert_key(&key).unwrap();
        assert_eq!(
            (s.as_str(), x.decode().as_deref()),
            ("security", Some("a.b"))
        );
    }

    #[test]
    fn file_subjects_parse_back() {
        let long = Token::encode(&"src/".repeat(40));
        let subject = file(&Token::encode("p"), &long);
        assert_eq!(parse_file(&subject), Some((Token::encode("p"), long)));
        for bad in ["lh.fs.p", "lh.fs.p.k.x", "lh.annot.p.k", "lh.fs.p.a b"] {
            assert!(parse_file(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn command_subjects_parse_back() {
        let parsed = parse_command("lh.cmd.proj.agent.2").unwrap();
        assert_eq!(parsed.project.as_str(), "proj");
        assert_eq!(parsed.partition, Some(2));
        assert_eq!(parse_command("lh.cmd.proj.agent").unwrap().partition, None);
        for bad in ["lh.cmd.proj", "lh.cmd.p.a.x", "lh.cmd.p.a.1.2", "x.cmd.p.a"] {
            assert!(parse_command(bad).is_none(), "{bad}");
        }
    }
}
