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
        let text = std::fs::read(Runtime::path(state_dir)).ok()?;
        let runtime: Runtime = serde_json::from_slice(&text).ok()?;
        Path::new(&format!("/proc/{}", runtime.pid))
            .exists()
            .then_some(runtime)
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
