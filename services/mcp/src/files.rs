//! Files on the log: every version of a project file in `LH_FS` (inline, or in the
//! object store when large), read back by sequence, content hash or time, and the diff
//! a proposed write would make. Shared by the MCP tools and `lighthouse history`.

use async_nats::jetstream;
use lighthouse_nats::scan::{self, From, Scanned};
use lighthouse_nats::topology::FS_STREAM;
use lighthouse_schemas::{FileContent, FileVersion, Token, decode, subject};
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

/// Largest content a reader gets back in one answer (a model's context is finite).
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Most versions of one file read back.
pub const MAX_VERSIONS: usize = 10_000;
const OBJECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One stored version of a file, without its content.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// `LH_FS` stream sequence: names the version (`history/<seq>/` in the FUSE view).
    pub seq: u64,
    /// When the server stored it (RFC 3339).
    pub stored: String,
    pub sha256: String,
    pub size: u64,
    /// `inline`, `object`, `masked`, `too_large` or `deleted`.
    pub content: &'static str,
    /// The tool that wrote it, or `sync`.
    pub tool: String,
    pub agent: String,
    /// The command (tool call) that wrote it.
    pub cmd_id: String,
}

/// A version with the message it came from.
#[derive(Debug, Clone)]
pub struct Version {
    pub info: VersionInfo,
    pub time: OffsetDateTime,
    pub file: FileVersion,
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn kind(content: &FileContent) -> &'static str {
    match content {
        FileContent::Inline(_) => "inline",
        FileContent::Object { .. } => "object",
        FileContent::Masked { .. } => "masked",
        FileContent::TooLarge { .. } => "too_large",
        FileContent::Deleted => "deleted",
    }
}

fn version_of(m: Scanned) -> Option<Version> {
    let file: FileVersion = decode(&m.payload).ok()?;
    Some(Version {
        info: VersionInfo {
            seq: m.seq,
            stored: rfc3339(m.time),
            sha256: file.sha256.clone(),
            size: file.size,
            content: kind(&file.content),
            tool: file.tool.clone(),
            agent: file.env.agent.clone(),
            cmd_id: file.env.correlation_id.clone(),
        },
        time: m.time,
        file,
    })
}

/// The `LH_FS` subject of a project file.
pub fn file_subject(project: &str, path: &str) -> String {
    subject::file(&Token::encode(project), &Token::encode(path))
}

/// Every version of `path` in `project`, oldest first (the newest [`MAX_VERSIONS`]).
pub async fn history(
    js: &jetstream::Context,
    project: &str,
    path: &str,
) -> anyhow::Result<Vec<Version>> {
    let stored = scan::collect(
        js,
        FS_STREAM,
        &file_subject(project, path),
        From::First,
        MAX_VERSIONS,
    )
    .await?;
    Ok(stored.into_iter().filter_map(version_of).collect())
}

/// Whether `project` has any version of `path`.
pub async fn exists(js: &jetstream::Context, project: &str, path: &str) -> bool {
    let Ok(stream) = js.get_stream_no_info(FS_STREAM).await else {
        return false;
    };
    stream
        .direct_get_last_for_subject(file_subject(project, path))
        .await
        .is_ok()
}

/// Which version a reader asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Latest,
    /// By `LH_FS` sequence.
    Seq(u64),
    /// By content hash (a prefix of at least 6 hex digits).
    Sha(String),
    /// The version current at this time.
    At(OffsetDateTime),
}

impl Which {
    /// Parses a version (`123` = sequence, hex = content hash) and a time (RFC 3339).
    pub fn parse(version: Option<&str>, at: Option<&str>) -> anyhow::Result<Which> {
        match (version.map(str::trim), at.map(str::trim)) {
            (Some(_), Some(_)) => anyhow::bail!("give a version or a time, not both"),
            (Some(v), None) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Which::Seq(v.parse()?))
            }
            (Some(v), None) if v.len() >= 6 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Which::Sha(v.to_ascii_lowercase()))
            }
            (Some(v), None) if !v.is_empty() => anyhow::bail!(
                "version {v:?}: give an LH_FS sequence number or at least 6 hex digits of the content hash"
            ),
            (_, Some(t)) if !t.is_empty() => Ok(Which::At(parse_time(t)?)),
            _ => Ok(Which::Latest),
        }
    }

    /// The version this names among `versions` (oldest first).
    pub fn pick<'a>(&self, versions: &'a [Version]) -> Option<&'a Version> {
        match self {
            Which::Latest => versions.last(),
            Which::Seq(seq) => versions.iter().find(|v| v.info.seq == *seq),
            Which::Sha(prefix) => versions
                .iter()
                .rev()
                .find(|v| v.info.sha256.starts_with(prefix.as_str())),
            Which::At(t) => versions.iter().rev().find(|v| v.time <= *t),
        }
    }
}

/// RFC 3339 (`2026-11-29T10:00:00Z`), or a duration ago (`90s`, `15m`, `2h`, `3d`).
pub fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let age = parse_duration(text)
        .ok()
        .and_then(|d| time::Duration::try_from(d).ok())
        .and_then(|d| OffsetDateTime::now_utc().checked_sub(d));
    age.ok_or_else(|| {
        anyhow::anyhow!("time {text:?}: RFC 3339 (2026-11-29T10:00:00Z) or an age like 15m, 2h, 3d")
    })
}

/// An age or a lifetime: `90s`, `15m`, `2h`, `7d`. The one parser every command uses.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: not a duration like 90s, 15m, 2h or 7d"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: the unit must be s, m, h or d (90s, 15m, 2h, 7d)"
            ));
        }
    };
    n.checked_mul(unit_secs)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: too long"))
}

/// A version's bytes: inline, or from the object store; none when they were never
/// published (masked, too large, deleted).
pub async fn content(
    js: &jetstream::Context,
    file: &FileVersion,
) -> anyhow::Result<Option<Vec<u8>>> {
    match &file.content {
        FileContent::Inline(bytes) => Ok(Some(bytes.clone())),
        FileContent::Object { bucket, name } => {
            let read = async {
                let store = js.get_object_store(bucket).await?;
                let object = store.get(name).await?;
                let mut out = Vec::new();
                object.take(1 << 30).read_to_end(&mut out).await?;
                anyhow::Ok(out)
            };
            Ok(Some(
                tokio::time::timeout(OBJECT_TIMEOUT, read)
                    .await
                    .map_err(|_| anyhow::anyhow!("object {bucket}/{name}: no answer in time"))??,
            ))
        }
        FileContent::Masked { .. } | FileContent::TooLarge { .. } | FileContent::Deleted => {
            Ok(None)
        }
    }
}

/// What a version holds, as text for a reader.
#[derive(Debug, Clone, Serialize)]
pub struct Text {
    /// The content (UTF-8, lossy), cut at [`MAX_TEXT_BYTES`].
    pub text: Option<String>,
    pub truncated: bool,
    /// Why there is no text (masked secret, too large, deleted, binary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub fn text_of(file: &FileVersion, bytes: Option<&[u8]>) -> Text {
    let none = |note: String| Text {
        text: None,
        truncated: false,
        note: Some(note),
    };
    match (&file.content, bytes) {
        (FileContent::Masked { rule }, _) => {
            none(format!("content withheld: looks like a secret ({rule})"))
        }
        (FileContent::TooLarge { limit }, _) => {
            none(format!("content not published: over {limit} bytes"))
        }
        (FileContent::Deleted, _) => none("the file was deleted".to_owned()),
        (_, None) => none("content unavailable".to_owned()),
        (_, Some(bytes)) if bytes.contains(&0) => {
            none(format!("binary file, {} bytes", bytes.len()))
        }
        (_, Some(bytes)) => {
            let truncated = bytes.len() > MAX_TEXT_BYTES;
            let mut end = bytes.len().min(MAX_TEXT_BYTES);
            while end > 0 && end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
                end -= 1;
            }
            Text {
                text: Some(String::from_utf8_lossy(&bytes[..end]).into_owned()),
                truncated,
                note: None,
            }
        }
    }
}

/// What a tool call would leave in the file, when the call says so itself: `Write`
/// (the content), `Edit` / `MultiEdit` (replacements applied to `before`).
pub fn proposed(
    tool_name: &str,
    input: &serde_json::Value,
    before: Option<&str>,
) -> Option<String> {
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let edit = |text: &str, e: &serde_json::Value| -> Option<String> {
        let old = s(e, "old_string")?;
        let new = s(e, "new_string")?;
        let all = e
            .get("replace_all")
            .and_then(|x| x.as_bool())
            .unwrap_or(false);
        Some(if all {
            text.replace(&old, &new)
        } else {
            text.replacen(&old, &new, 1)
        })
    };
    match tool_name {
        "Write" => s(input, "content"),
        "Edit" => edit(before?, input),
        "MultiEdit" => {
            let mut text = before?.to_owned();
            for e in input.get("edits")?.as_array()? {
                text = edit(&text, e)?;
            }
            Some(text)
        }
        _ => None,
    }
}

/// A unified diff (3 lines of context) from `before` to `after`.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The project-relative path of an absolute path the agent gave, as `LH_FS` knows it:
/// the longest suffix of its components that the project has versions of, else the
/// path relative to `cwd` (a new file), else its file name.
pub async fn locate(js: &jetstream::Context, project: &str, path: &str, cwd: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for start in 0..parts.len().min(16) {
        let candidate = parts[start..].join("/");
        if exists(js, project, &candidate).await {
            return candidate;
        }
    }
    let cwd = cwd.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix(cwd).and_then(|r| r.strip_prefix('/'))
        && !rest.is_empty()
    {
        return rest.to_owned();
    }
    parts.last().map(|p| (*p).to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_are_named_by_sequence_hash_or_time() {
        assert_eq!(Which::parse(Some("42"), None).unwrap(), Which::Seq(42));
        assert_eq!(
            Which::parse(Some("ABCDEF12"), None).unwrap(),
            Which::Sha("abcdef12".into())
        );
        assert!(Which::parse(Some("abc"), None).is_err());
        assert!(Which::parse(Some("1"), Some("1h")).is_err());
        assert_eq!(Which::parse(None, None).unwrap(), Which::Latest);
        assert!(matches!(
            Which::parse(None, Some("2026-11-29T10:00:00Z")).unwrap(),
            Which::At(_)
        ));
        let ago = parse_time("2h").unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(now - ago >= time::Duration::seconds(7199));
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn proposed_content_of_writes_and_edits() {
        let before = "a = 1\nb = 2\nb = 2\n";
        assert_eq!(
            proposed("Write", &json!({"content": "x"}), None).as_deref(),
            Some("x")
        );
        assert_eq!(
            proposed(
                "Edit",
                &json!({"old_string": "b = 2", "new_string": "b = 3"}),
                Some(before)
            )
            .as_deref(),
            Some("a = 1\nb = 3\nb = 2\n")
        );
        assert_eq!(
            proposed(
                "MultiEdit",
                &json!({"edits": [
                    {"old_string": "b = 2", "new_string": "c", "replace_all": true},
                    {"old_string": "a", "new_string": "z"}
                ]}),
                Some(before)
            )
            .as_deref(),
            Some("z = 1\nc\nc\n")
        );
        assert_eq!(
            proposed("Bash", &json!({"command": "ls"}), Some(before)),
            None
        );
        let diff = unified_diff("x.py", before, "a = 1\nb = 3\nb = 2\n");
        assert!(diff.contains("-b = 2\n+b = 3"), "{diff}");
        assert!(diff.starts_with("--- a/x.py"), "{diff}");
    }
}
