use super::{Envelope, Message};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a [`FileVersion`] holds in place of the file.
///
/// Externally tagged, so a reader in any language sees one key naming the variant.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileContent {
    /// The bytes themselves (files up to [`INLINE_MAX_BYTES`]).
    Inline(
        #[serde(with = "serde_bytes")]
        #[schemars(with = "Vec<u8>")]
        Vec<u8>,
    ),
    /// The bytes are in a JetStream object store under `name` (larger files).
    Object { bucket: String, name: String },
    /// The file looks like a secret (`.env*`, `*.pem`, `id_rsa*`, …): its content was
    /// never read into the event. `rule` names the pattern that matched.
    Masked { rule: String },
    /// The file is larger than the publisher's bound; its content was not published.
    TooLarge { limit: u64 },
    /// The file no longer exists.
    Deleted,
}

/// Files up to this size travel inline; larger ones through the object store, because
/// a stream message is bounded (see [`MAX_MESSAGE_BYTES`](crate::MAX_MESSAGE_BYTES)).
pub const INLINE_MAX_BYTES: usize = 512 * 1024;

/// One version of one project file, as it was on disk right after an agent's tool call
/// (or a `lighthouse sync`), published on `lh.fs.<project>.<file_key>` (stream `LH_FS`).
///
/// `file_key` is `Token::encode(path)`; the real path travels here, so a hashed key
/// never loses it. `env.correlation_id` is the tool call's id (`sync-…` for imports).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct FileVersion {
    pub env: Envelope,
    /// Project-relative path, `/`-separated, never absolute, never holding `..`.
    pub path: String,
    pub content: FileContent,
    /// SHA-256 (hex) of the file's bytes; empty when they were not read (masked, too
    /// large, deleted).
    pub sha256: String,
    /// Size of the file on disk in bytes (0 when deleted).
    pub size: u64,
    /// Modification time on disk, microseconds since the Unix epoch.
    pub mtime_us: u64,
    /// Whether the file was executable on disk.
    #[serde(default)]
    pub executable: bool,
    /// The tool that wrote it (`Write`, `Edit`, `MultiEdit`, `NotebookEdit`) or `sync`.
    pub tool: String,
    /// The agent's id for the tool call, when there was one.
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

impl Message for FileVersion {
    const KIND: &'static str = "file_version";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}

/// Whether `path` is a project-relative path the view can show: relative, `/`-separated,
/// no empty, `.` or `..` components, no NUL, bounded. Publishers and the projector both
/// check it, so no event can name a file outside its project.
pub fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 4096
        && !path.starts_with('/')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= 255)
}
