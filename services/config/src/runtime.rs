//! What a running `lighthouse up` records (`<state_dir>/up.json`), so hooks, workers
//! and `lighthouse status` find its server without configuration.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a running `lighthouse up` tells hooks and `lighthouse status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Runtime {
    pub nats_url: String,
    pub pid: u32,
    #[serde(default)]
    pub monitor_url: Option<String>,
    /// The CA clients must trust (`up --tls`).
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// Where `up` serves `/metrics` (`metrics.listen`), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_url: Option<String>,
}

impl Runtime {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("up.json")
    }

    /// The recorded runtime, if its process is still alive.
    pub fn read(state_dir: &Path) -> Option<Runtime> {
        let text = lighthouse_nats::regular::read(&Runtime::path(state_dir)).ok()?;
        let runtime: Runtime = serde_json::from_slice(&text).ok()?;
        Path::new(&format!("/proc/{}", runtime.pid))
            .exists()
            .then_some(runtime)
    }

    /// Whether the state a hook relies on is readable: a missing `up.json` is fine
    /// (nothing runs), an unreadable or corrupt one is not.
    pub fn check(state_dir: &Path) -> Result<(), String> {
        Runtime::load(state_dir).map(|_| ())
    }

    /// [`Runtime::check`] and [`Runtime::read`] in one read of `up.json`: the recorded
    /// runtime if its process is alive, nothing if none is recorded, an error if the
    /// record is unreadable or corrupt.
    pub fn load(state_dir: &Path) -> Result<Option<Runtime>, String> {
        let path = Runtime::path(state_dir);
        match lighthouse_nats::regular::read(&path) {
            Ok(bytes) => {
                let runtime = serde_json::from_slice::<Runtime>(&bytes)
                    .map_err(|e| format!("{} is corrupt: {e}", path.display()))?;
                Ok(Path::new(&format!("/proc/{}", runtime.pid))
                    .exists()
                    .then_some(runtime))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::metadata(state_dir) {
                    Ok(m) if !m.is_dir() => {
                        Err(format!("{} is not a directory", state_dir.display()))
                    }
                    _ => Ok(None),
                }
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Records this runtime atomically (a reader sees the old record or the new one).
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(state_dir)?;
        let tmp = state_dir.join(".up.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, Runtime::path(state_dir))
    }

    /// Removes the record (`up` stopping).
    pub fn remove(state_dir: &Path) {
        let _ = std::fs::remove_file(Runtime::path(state_dir));
    }
}
