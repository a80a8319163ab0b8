//! The hook's spool: commands decided locally while the pipeline was unreachable,
//! with their local decisions, kept as files until they can be published.
//!
//! Publishing order matters: the decision first (first on its subject, so it is *the*
//! decision), then the command (deduplicated by id). A validator that later sees the
//! command finds its decision subject taken and adds nothing: one decision per call.

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
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one entry atomically (temp file + rename): a crash never leaves half.
    pub fn push(&self, command: &Command, decision: &Decision) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let name = Token::encode(&command.env.id);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let entry = Spooled {
            command: command.clone(),
            decision: decision.clone(),
        };
        std::fs::write(&tmp, serde_json::to_vec(&entry)?)?;
        std::fs::rename(tmp, self.dir.join(format!("{name}.json")))
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
            match publish_entry(js, &entry).await {
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

async fn publish_entry(js: &async_nats::jetstream::Context, entry: &Spooled) -> Result<(), String> {
    record(js, &entry.command, &entry.decision)
        .await
        .map(|_| ())
}

/// Puts a locally made decision and its command on the log: the decision first, first
/// on its subject (so it is *the* decision unless one is already there, which the
/// result says), then the command, deduplicated by its id.
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
        subject::decision(&project, &agent, &Token::encode(&env.id)),
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
