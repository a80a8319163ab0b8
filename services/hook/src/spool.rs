//! The hook's spool: commands decided locally while the pipeline was unreachable,
//! with their local decisions, kept as files until they can be published.
//!
//! Publishing order matters: the decision first, as a fallback record on
//! `lh.fallback.<project>.<agent>.<cmd_id>` (the agent may not publish decisions;
//! validators record it as the decision unless one is already there), then the command
//! (deduplicated by id). Whichever lands first on the decision subject is *the*
//! decision: one decision per call.

use lighthouse_nats::publish::{DECIDED_LOCALLY, Published, publish_once, publish_once_with};
use lighthouse_schemas::{Command, Decision, Token, encode, subject};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize, Deserialize)]
struct Spooled {
    command: Command,
    decision: Decision,
}

#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    /// The agent's key: re-signs an entry whose command id turns out to be taken by
    /// another payload (it is then recorded under `<id>-<digest>`).
    signer: Option<lighthouse_nats::auth::Signer>,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub published: usize,
    /// Entries that failed for a reason that may pass (the flush stops at the first).
    pub failed: usize,
    /// Entries the server refused for good, moved to `quarantine/` with the reason.
    pub quarantined: usize,
    pub unreadable: usize,
}

/// Why an entry could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Worth trying again later (no server, timeouts, a full store).
    #[error("{0}")]
    Transient(String),
    /// Can never pass as it stands (too large, not permitted, no stream takes it).
    #[error("{0}")]
    Permanent(String),
}

impl From<lighthouse_nats::publish::PublishError> for RecordError {
    fn from(e: lighthouse_nats::publish::PublishError) -> Self {
        match e.permanent() {
            Some(_) => RecordError::Permanent(e.to_string()),
            None => RecordError::Transient(e.to_string()),
        }
    }
}

impl From<lighthouse_schemas::CodecError> for RecordError {
    fn from(e: lighthouse_schemas::CodecError) -> Self {
        RecordError::Permanent(e.to_string())
    }
}

impl Spool {
    /// The spool of a state directory (`<state_dir>/spool`).
    pub fn new(state_dir: &Path) -> Spool {
        Spool {
            dir: state_dir.join("spool"),
            signer: None,
        }
    }

    /// The same spool, re-signing rebound entries with `signer` (the agent's key).
    pub fn signed_by(mut self, signer: Option<lighthouse_nats::auth::Signer>) -> Spool {
        self.signer = signer;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether an entry with this command id but another payload is waiting. Read from
    /// the id's marker, not by listing the spool: a hook asks this on every fallback,
    /// however many entries an outage has left.
    pub fn holds_other_payload(&self, command: &Command) -> bool {
        self.marked_digest(command)
            .is_some_and(|digest| digest != command.payload_digest())
    }

    /// `ids/<cmd_id token>`: a second name (a hard link) of the first entry spooled
    /// under the id. A link, not a file of its own: creating a file cost up to half a
    /// millisecond here (ext4 without a journal scans recently freed inodes), a link
    /// a few microseconds.
    fn id_marker(&self, command: &Command) -> PathBuf {
        self.dir
            .join("ids")
            .join(Token::encode(&command.env.id).to_string())
    }

    /// The payload digest of the entry the id's marker names, while it still waits.
    fn marked_digest(&self, command: &Command) -> Option<String> {
        let marked = std::fs::read(self.id_marker(command)).ok()?;
        let digest = serde_json::from_slice::<Spooled>(&marked)
            .ok()?
            .command
            .payload_digest();
        let live = self.dir.join(entry_name(command, &digest)).exists();
        live.then_some(digest)
    }

    /// Whether any entry waits (one directory read, nothing sorted: a hook asks this
    /// on every call, however long the spool has grown while the pipeline was away).
    pub fn is_empty(&self) -> bool {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return true;
        };
        !entries.filter_map(Result::ok).any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(".json") && !n.starts_with('.'))
        })
    }

    /// Writes one entry atomically (temp file + rename): a crash never leaves half.
    pub fn push(&self, command: &Command, decision: &Decision) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let name = entry_name(command, &command.payload_digest());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let entry = Spooled {
            command: command.clone(),
            decision: decision.clone(),
        };
        std::fs::write(&tmp, serde_json::to_vec(&entry)?)?;
        let path = self.dir.join(name);
        std::fs::rename(tmp, &path)?;
        // The first waiting payload under the id is the one the marker names. The entry
        // is recorded either way: without a marker, a reused id is still caught when the
        // entry is published (see `publish_entry`).
        if self.marked_digest(command).is_none() {
            let marker = self.id_marker(command);
            let _ = std::fs::remove_file(&marker); // a stale one: its entry is gone
            if let Some(ids) = marker.parent()
                && std::fs::create_dir_all(ids).is_ok()
            {
                let _ = std::fs::hard_link(&path, marker);
            }
        }
        Ok(())
    }

    /// Entries waiting to be published.
    pub fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
    }

    /// Publishes pending entries, at most `limit` of them; removes each once the server
    /// has it. A transient failure stops the flush (the rest would fail alike); an
    /// entry refused for good is quarantined so it never holds back those after it.
    pub async fn flush_some(&self, js: &async_nats::jetstream::Context, limit: usize) -> Flushed {
        let mut report = Flushed::default();
        for path in self.pending().into_iter().take(limit) {
            let entry: Spooled = match std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(entry) => entry,
                None => {
                    self.set_aside(&path, "unreadable", "not a spool entry");
                    report.unreadable += 1;
                    continue;
                }
            };
            match publish_entry(js, &entry, self.signer.as_ref()).await {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    if self.marked_digest(&entry.command).is_none() {
                        let _ = std::fs::remove_file(self.id_marker(&entry.command));
                    }
                    report.published += 1;
                }
                Err(RecordError::Permanent(why)) => {
                    tracing::error!(error = %why, entry = %path.display(), "spool_entry_quarantined");
                    self.set_aside(&path, "quarantine", &why);
                    report.quarantined += 1;
                }
                Err(RecordError::Transient(why)) => {
                    tracing::warn!(error = %why, "spool_publish_failed");
                    report.failed += 1;
                    break;
                }
            }
        }
        report
    }

    /// Publishes every pending entry (see [`Spool::flush_some`]).
    pub async fn flush(&self, js: &async_nats::jetstream::Context) -> Flushed {
        self.flush_some(js, usize::MAX).await
    }

    /// Entries set aside for a human: quarantined (refused for good) and unreadable.
    pub fn set_aside_entries(&self) -> Vec<PathBuf> {
        ["quarantine", "unreadable"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.dir.join(d)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect()
    }

    /// Moves an entry into `<spool>/<place>/`, with `<name>.reason` saying why: kept for
    /// a human, out of the way of the next flush.
    fn set_aside(&self, path: &Path, place: &str, why: &str) {
        let dir = self.dir.join(place);
        let Some(name) = path.file_name() else { return };
        if std::fs::create_dir_all(&dir).is_ok() {
            let mut reason = dir.join(name).into_os_string();
            reason.push(".reason");
            let _ = std::fs::write(reason, format!("{why}\n"));
            let _ = std::fs::rename(path, dir.join(name));
        }
    }
}

/// `<cmd_id token>-<payload digest>.json`: two payloads never share an entry.
fn entry_name(command: &Command, digest: &str) -> String {
    format!("{}-{digest}.json", Token::encode(&command.env.id))
}

/// Publishes one entry. When its command id already holds a decision for another
/// payload (the agent reused the id while this entry waited), the entry is recorded
/// under an id bound to its own payload instead: never under another payload's.
async fn publish_entry(
    js: &async_nats::jetstream::Context,
    entry: &Spooled,
    signer: Option<&lighthouse_nats::auth::Signer>,
) -> Result<(), RecordError> {
    let (mut command, mut decision) = (entry.command.clone(), entry.decision.clone());
    let env = &command.env;
    let subject = subject::decision(
        &Token::encode(&env.project),
        &Token::encode(&env.agent),
        &Token::encode(&env.id),
    );
    if let Some(recorded) = lighthouse_nats::read::recorded_decision(js, &subject).await
        && recorded.provenance.cmd_digest != command.payload_digest()
    {
        command = crate::binding::rebind(command);
        let id = command.env.id.clone();
        decision.cmd_id = id.clone();
        decision.env.id = id.clone();
        decision.env.correlation_id = id.clone();
        decision.env.causation_id = Some(id);
        if let Some(signer) = signer {
            signer.sign(&mut decision).map_err(RecordError::Permanent)?;
        }
    }
    record(js, &command, &decision).await.map(|_| ())
}

/// Puts a locally made decision and its command on the log: the decision first, as a
/// fallback record for validators to record (first on its subject: a retry adds
/// nothing), then the command, deduplicated by its id and marked as decided locally so
/// a validator records the fallback rather than racing it with a decision of its own.
pub async fn record(
    js: &async_nats::jetstream::Context,
    command: &Command,
    decision: &Decision,
) -> Result<Published, RecordError> {
    let env = &command.env;
    let (project, agent) = (Token::encode(&env.project), Token::encode(&env.agent));
    let decision = encode(decision)?;
    let command = encode(command)?;
    let recorded = publish_once(
        js,
        subject::fallback(&project, &agent, &Token::encode(&env.id)),
        &env.id,
        decision.into(),
        true,
    )
    .await?;
    let mut headers = async_nats::HeaderMap::new();
    lighthouse_nats::trace::inject(&mut headers);
    headers.insert(DECIDED_LOCALLY, "1");
    publish_once_with(
        js,
        subject::command(&project, &agent),
        &env.id,
        command.into(),
        false,
        headers,
    )
    .await?;
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Envelope, Provenance, Tier, Verdict};

    fn command(id: &str, shell: &str) -> Command {
        Command {
            env: Envelope::new(id, 1, "p", "a", id),
            tool_name: "Bash".into(),
            tool_input: serde_json::json!({ "command": shell }),
            cwd: "/tmp".into(),
            session_id: "s".into(),
            tool_use_id: Some(id.into()),
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    fn decision(command: &Command) -> Decision {
        Decision {
            env: command.env.clone(),
            cmd_id: command.env.id.clone(),
            verdict: Verdict::Deny,
            reason: "r".into(),
            rule_id: None,
            risk: None,
            tier: Tier::Fallback,
            latency_us: 0,
            decided_by: "hook-fallback".into(),
            voters: Vec::new(),
            provenance: Provenance {
                cmd_digest: command.payload_digest(),
                ..Default::default()
            },
            exception: None,
        }
    }

    #[test]
    fn entries_are_seen_by_id_and_payload() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        assert!(spool.is_empty());
        let first = command("c1", "ls");
        spool.push(&first, &decision(&first)).unwrap();
        assert!(!spool.is_empty());
        assert!(!spool.holds_other_payload(&first));
        assert!(spool.holds_other_payload(&command("c1", "rm -rf ~/")));
        assert!(!spool.holds_other_payload(&command("c2", "rm -rf ~/")));
        assert_eq!(spool.pending().len(), 1);
        // Once that entry is gone, its id is free for another payload.
        std::fs::remove_file(&spool.pending()[0]).unwrap();
        assert!(!spool.holds_other_payload(&command("c1", "rm -rf ~/")));
        let second = command("c1", "pwd");
        spool.push(&second, &decision(&second)).unwrap();
        assert!(spool.holds_other_payload(&first));
        assert!(!spool.holds_other_payload(&second));
    }
}
