//! The hook's spool: commands decided locally while the pipeline was unreachable,
//! with their local decisions, kept as files until they can be published.
//!
//! Publishing order matters: the decision first, as a fallback record on
//! `lh.fallback.<project>.<agent>.<cmd_id>` (the agent may not publish decisions;
//! validators record it as the decision unless one is already there), then the command
//! (deduplicated by id). Whichever lands first on the decision subject is *the*
//! decision: one decision per call.

use lighthouse_nats::publish::{Published, publish_once};
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
    pub failed: usize,
    pub unreadable: usize,
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

    /// Whether an entry with this command id but another payload is waiting.
    pub fn holds_other_payload(&self, command: &Command) -> bool {
        let prefix = format!("{}-", Token::encode(&command.env.id));
        let mine = Spool::file_name(command);
        self.pending().iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n != mine && n.len() == mine.len())
        })
    }

    /// `<cmd_id token>-<payload digest>.json`: two payloads never share an entry.
    fn file_name(command: &Command) -> String {
        format!(
            "{}-{}.json",
            Token::encode(&command.env.id),
            command.payload_digest()
        )
    }

    /// Writes one entry atomically (temp file + rename): a crash never leaves half.
    pub fn push(&self, command: &Command, decision: &Decision) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let name = Spool::file_name(command);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let entry = Spooled {
            command: command.clone(),
            decision: decision.clone(),
        };
        std::fs::write(&tmp, serde_json::to_vec(&entry)?)?;
        std::fs::rename(tmp, self.dir.join(name))
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

    /// Publishes every pending entry; removes each once the server has it.
    pub async fn flush(&self, js: &async_nats::jetstream::Context) -> Flushed {
        let mut report = Flushed::default();
        for path in self.pending() {
            let entry: Spooled = match std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(entry) => entry,
                None => {
                    // Keep it for a human, out of the way of the next flush.
                    let bad = self.dir.join("unreadable");
                    let _ = std::fs::create_dir_all(&bad);
                    if let Some(name) = path.file_name() {
                        let _ = std::fs::rename(&path, bad.join(name));
                    }
                    report.unreadable += 1;
                    continue;
                }
            };
            match publish_entry(js, &entry, self.signer.as_ref()).await {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    report.published += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "spool_publish_failed");
                    report.failed += 1;
                    break;
                }
            }
        }
        report
    }
}

/// Publishes one entry. When its command id already holds a decision for another
/// payload (the agent reused the id while this entry waited), the entry is recorded
/// under an id bound to its own payload instead: never under another payload's.
async fn publish_entry(
    js: &async_nats::jetstream::Context,
    entry: &Spooled,
    signer: Option<&lighthouse_nats::auth::Signer>,
) -> Result<(), String> {
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
            signer.sign(&mut decision)?;
        }
    }
    record(js, &command, &decision).await.map(|_| ())
}

/// Puts a locally made decision and its command on the log: the decision first, as a
/// fallback record for validators to record (first on its subject: a retry adds
/// nothing), then the command, deduplicated by its id.
pub async fn record(
    js: &async_nats::jetstream::Context,
    command: &Command,
    decision: &Decision,
) -> Result<Published, String> {
    let env = &command.env;
    let (project, agent) = (Token::encode(&env.project), Token::encode(&env.agent));
    let decision = encode(decision).map_err(|e| e.to_string())?;
    let command = encode(command).map_err(|e| e.to_string())?;
    let recorded = publish_once(
        js,
        subject::fallback(&project, &agent, &Token::encode(&env.id)),
        &env.id,
        decision.into(),
        true,
    )
    .await
    .map_err(|e| e.to_string())?;
    publish_once(
        js,
        subject::command(&project, &agent),
        &env.id,
        command.into(),
        false,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(recorded)
}
