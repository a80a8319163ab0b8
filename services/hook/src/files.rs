//! File ingestion, shared by the PostToolUse hook  and
//! `lighthouse sync`: turn a file on disk into a [`FileVersion`] and
//! publish it on `lh.fs.<project>.<file_key>` exactly once.
//!
//! Rules every publisher follows:
//! - the path is canonicalised and must lie inside the project root (symlinks that lead
//!   out are refused, never followed into the event);
//! - secrets (`.env*`, `*.pem`, `id_rsa*`, credentials files, anything under `.aws`,
//!   `.ssh`, `.gnupg`) are never read: the event says `Masked` with the rule that matched;
//! - content is bounded: over `max_file_bytes` the event says `TooLarge`; over
//!   [`INLINE_MAX_BYTES`] the bytes go to the `lh_fs_blobs` object store (named by their
//!   SHA-256, so the same content is stored once) and the event carries the reference;
//! - the `Nats-Msg-Id` is a hash of project, path, content and tool call, so a retried
//!   hook or a flushed spool entry never adds a second version.

use lighthouse_nats::publish::{PublishError, Published, publish_once};
use lighthouse_nats::topology::FS_BLOBS_BUCKET;
use lighthouse_schemas::msg::is_safe_relative_path;
use lighthouse_schemas::{
    CodecError, Envelope, FileContent, FileVersion, Token, encode, now_us, subject,
};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

pub use lighthouse_schemas::msg::INLINE_MAX_BYTES;

#[derive(Debug, Error)]
pub enum FileError {
    #[error("{path} is outside the project root {root}")]
    OutsideProject { path: PathBuf, root: PathBuf },
    #[error("{0} cannot be shown in the view (not UTF-8, or an unsafe path)")]
    UnsafePath(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("storing {name} in the object store: {source}")]
    Object {
        name: String,
        source: async_nats::Error,
    },
}

/// Where a project lives and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub name: String,
    /// Canonical root directory.
    pub root: PathBuf,
}

impl Project {
    /// The project enclosing `dir`: the nearest ancestor holding `.git` or `.lighthouse`,
    /// else `dir` itself, resolved by [`lighthouse_config::project`] as the hook's
    /// commands and annotations are, so all three name the same project.
    pub fn enclosing(dir: &Path, configured: Option<&str>) -> Result<Project, FileError> {
        let dir = dir.canonicalize().map_err(|source| FileError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let root = lighthouse_config::project::root(&dir);
        let name = lighthouse_config::project::name(&root, configured);
        Ok(Project { name, root })
    }

    /// The project-relative, `/`-separated path of `file` (absolute, or relative to
    /// `cwd`), after resolving symlinks. A file that no longer exists resolves through
    /// its parent directory.
    pub fn relative(&self, cwd: &Path, file: &Path) -> Result<String, FileError> {
        let joined = cwd.join(file);
        let canonical = match joined.canonicalize() {
            Ok(p) => p,
            Err(_) => {
                let parent = joined.parent().unwrap_or(Path::new("/"));
                let name = joined
                    .file_name()
                    .ok_or_else(|| FileError::UnsafePath(joined.clone()))?;
                parent
                    .canonicalize()
                    .map_err(|source| FileError::Read {
                        path: joined.clone(),
                        source,
                    })?
                    .join(name)
            }
        };
        let rel = canonical
            .strip_prefix(&self.root)
            .map_err(|_| FileError::OutsideProject {
                path: canonical.clone(),
                root: self.root.clone(),
            })?;
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => parts.push(
                    s.to_str()
                        .ok_or_else(|| FileError::UnsafePath(canonical.clone()))?,
                ),
                _ => return Err(FileError::UnsafePath(canonical.clone())),
            }
        }
        let rel = parts.join("/");
        if !is_safe_relative_path(&rel) {
            return Err(FileError::UnsafePath(canonical));
        }
        Ok(rel)
    }
}

/// Files under `dir` that belong to `project` (`.gitignore`d files, `.git` and
/// `.lighthouse` excluded), sorted; at most `limit` directory entries are looked at.
pub fn walk(project: &Project, dir: &Path, limit: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(".lighthouseignore")
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".lighthouse")
        .build();
    for entry in walker.take(limit).flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) && entry.path().starts_with(&project.root)
        {
            files.push(entry.into_path());
        }
    }
    files.sort();
    files
}

/// The secret rule a project-relative path matches, if any. Deliberately broad: a
/// masked file costs an expert a look at the real tree; a leaked key costs far more.
pub fn secret_rule(rel: &str) -> Option<&'static str> {
    let mut components = rel.split('/');
    let name = components.next_back().unwrap_or(rel);
    for dir in components {
        match dir {
            ".aws" => return Some(".aws/"),
            ".ssh" => return Some(".ssh/"),
            ".gnupg" => return Some(".gnupg/"),
            _ => {}
        }
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with(".env") {
        return Some(".env*");
    }
    for (suffix, rule) in [
        (".pem", "*.pem"),
        (".key", "*.key"),
        (".p12", "*.p12"),
        (".pfx", "*.pfx"),
        (".keystore", "*.keystore"),
    ] {
        if lower.ends_with(suffix) {
            return Some(rule);
        }
    }
    for (prefix, rule) in [
        ("id_rsa", "id_rsa*"),
        ("id_dsa", "id_dsa*"),
        ("id_ecdsa", "id_ecdsa*"),
        ("id_ed25519", "id_ed25519*"),
        ("credentials", "credentials*"),
    ] {
        if lower.starts_with(prefix) {
            return Some(rule);
        }
    }
    match lower.as_str() {
        ".netrc" => Some(".netrc"),
        ".pgpass" => Some(".pgpass"),
        ".npmrc" => Some(".npmrc"),
        ".pypirc" => Some(".pypirc"),
        _ => None,
    }
}

/// Who wrote a file, and with which call.
#[derive(Debug, Clone)]
pub struct Origin {
    pub agent: String,
    pub tool: String,
    pub tool_use_id: Option<String>,
}

/// Reads `rel` under the project root into a version (content possibly larger than
/// [`INLINE_MAX_BYTES`]: [`publish`] moves it to the object store). A missing file
/// becomes a deletion.
pub fn read_version(
    project: &Project,
    rel: &str,
    origin: &Origin,
    max_file_bytes: u64,
) -> Result<FileVersion, FileError> {
    let path = project.root.join(rel);
    let read_err = |source| FileError::Read {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => {
            return Err(read_err(std::io::Error::other("not a regular file")));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(version(
                project,
                rel,
                origin,
                FileContent::Deleted,
                String::new(),
                0,
                0,
                false,
            ));
        }
        Err(e) => return Err(read_err(e)),
    };
    let mtime_us = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as u64);
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    let size = meta.len();
    // Secrets and oversized files are recorded without their content.
    let withheld = match secret_rule(rel) {
        Some(rule) => Some(FileContent::Masked {
            rule: rule.to_owned(),
        }),
        None => (size > max_file_bytes).then_some(FileContent::TooLarge {
            limit: max_file_bytes,
        }),
    };
    if let Some(content) = withheld {
        return Ok(version(
            project,
            rel,
            origin,
            content,
            String::new(),
            size,
            mtime_us,
            executable,
        ));
    }
    // Bounded even if the file grows between metadata and read.
    let mut bytes = Vec::with_capacity(size as usize);
    std::fs::File::open(&path)
        .and_then(|f| f.take(max_file_bytes + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > max_file_bytes {
        let content = FileContent::TooLarge {
            limit: max_file_bytes,
        };
        let size = bytes.len() as u64;
        return Ok(version(
            project,
            rel,
            origin,
            content,
            String::new(),
            size,
            mtime_us,
            executable,
        ));
    }
    let sha = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    Ok(version(
        project,
        rel,
        origin,
        FileContent::Inline(bytes),
        sha,
        size,
        mtime_us,
        executable,
    ))
}

#[allow(clippy::too_many_arguments)]
fn version(
    project: &Project,
    rel: &str,
    origin: &Origin,
    content: FileContent,
    sha256: String,
    size: u64,
    mtime_us: u64,
    executable: bool,
) -> FileVersion {
    let tag = content_tag(&content);
    // What makes this version distinct: a retry of the same call with the same result
    // hashes the same; sync (no call id) dedups on content alone.
    let mut h = Sha256::new();
    for part in [
        project.name.as_str(),
        rel,
        tag,
        &sha256,
        &size.to_string(),
        origin.tool_use_id.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    // The mtime too: content that goes A → B → A inside the duplicate window is three
    // versions, not two (and unread content, masked or too large, has nothing else).
    h.update(mtime_us.to_le_bytes());
    let id = format!("fs-{}", &hex::encode(h.finalize())[..40]);
    let correlation = origin
        .tool_use_id
        .clone()
        .unwrap_or_else(|| format!("sync-{id}"));
    FileVersion {
        env: Envelope::new(
            id,
            now_us(),
            project.name.clone(),
            origin.agent.clone(),
            correlation,
        ),
        path: rel.to_owned(),
        content,
        sha256,
        size,
        mtime_us,
        executable,
        tool: origin.tool.clone(),
        tool_use_id: origin.tool_use_id.clone(),
    }
}

/// A short name for the kind of content (for dedup keys and comparisons).
pub fn content_tag(content: &FileContent) -> &'static str {
    match content {
        FileContent::Inline(_) => "inline",
        FileContent::Object { .. } => "object",
        FileContent::Masked { .. } => "masked",
        FileContent::TooLarge { .. } => "too_large",
        FileContent::Deleted => "deleted",
    }
}

/// Publishes one version: large inline content goes to the object store first (named
/// by its hash, uploaded only if missing), then the event, deduplicated by its id.
pub async fn publish(
    js: &async_nats::jetstream::Context,
    mut version: FileVersion,
) -> Result<Published, FileError> {
    if let FileContent::Inline(bytes) = &version.content
        && bytes.len() > INLINE_MAX_BYTES
    {
        let name = version.sha256.clone();
        let object = |source: async_nats::Error| FileError::Object {
            name: name.clone(),
            source,
        };
        let store = js
            .get_object_store(FS_BLOBS_BUCKET)
            .await
            .map_err(|e| object(e.into()))?;
        if store.info(&name).await.is_err() {
            let mut reader = bytes.as_slice();
            store
                .put(name.as_str(), &mut reader)
                .await
                .map_err(|e| object(e.into()))?;
        }
        version.content = FileContent::Object {
            bucket: FS_BLOBS_BUCKET.to_owned(),
            name,
        };
    }
    let payload = encode(&version)?;
    let subject = subject::file(
        &Token::encode(&version.env.project),
        &Token::encode(&version.path),
    );
    Ok(publish_once(js, subject, &version.env.id, payload.into(), false).await?)
}

/// File versions waiting for the server, one file each (kept apart from the command
/// spool, whose entries have another shape). Entries are raw MessagePack so large
/// content survives; [`publish`] applies the size rules when they are flushed.
#[derive(Debug, Clone)]
pub struct FileSpool {
    dir: PathBuf,
}

impl FileSpool {
    pub fn new(state_dir: &Path) -> FileSpool {
        FileSpool {
            dir: state_dir.join("spool-fs"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes atomically (temp file + rename).
    pub fn push(&self, version: &FileVersion) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let name = Token::encode(&version.env.id);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let bytes = rmp_serde::to_vec_named(version).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, self.dir.join(format!("{name}.msgpack")))
    }

    pub fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "msgpack"))
            .collect();
        // Oldest first, so versions of one file are published in the order written.
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
    }

    /// Publishes pending entries in order; stops at the first failure (order per file
    /// matters). Returns how many were published.
    pub async fn flush(&self, js: &async_nats::jetstream::Context) -> usize {
        let mut published = 0;
        for path in self.pending() {
            let Some(version) = std::fs::read(&path)
                .ok()
                .and_then(|b| rmp_serde::from_slice::<FileVersion>(&b).ok())
            else {
                let bad = self.dir.join("unreadable");
                let _ = std::fs::create_dir_all(&bad);
                if let Some(name) = path.file_name() {
                    let _ = std::fs::rename(&path, bad.join(name));
                }
                continue;
            };
            match publish(js, version).await {
                Ok(_) => {
                    let _ = std::fs::remove_file(&path);
                    published += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fs_spool_publish_failed");
                    break;
                }
            }
        }
        published
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            agent: "a".into(),
            tool: "Write".into(),
            tool_use_id: Some("toolu_1".into()),
        }
    }

    #[test]
    fn secrets_are_recognised() {
        for (path, rule) in [
            (".env", ".env*"),
            ("app/.env.local", ".env*"),
            ("certs/server.pem", "*.pem"),
            ("home/.ssh/config", ".ssh/"),
            ("x/.aws/config", ".aws/"),
            ("id_rsa.pub", "id_rsa*"),
            ("credentials.json", "credentials*"),
        ] {
            assert_eq!(secret_rule(path), Some(rule), "{path}");
        }
        for path in ["src/main.rs", "environment.md", "README"] {
            assert_eq!(secret_rule(path), None, "{path}");
        }
    }

    #[test]
    fn paths_must_stay_inside_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/a b.rs"), "x").unwrap();
        std::fs::write(dir.path().join("outside"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
        let p = Project::enclosing(&root.join("src"), None).unwrap();
        assert_eq!(p.name, "proj");
        assert_eq!(
            p.relative(&root, Path::new("src/a b.rs")).unwrap(),
            "src/a b.rs"
        );
        assert_eq!(
            p.relative(&root.join("src"), Path::new("../src/./a b.rs"))
                .unwrap(),
            "src/a b.rs"
        );
        assert_eq!(p.relative(&root, Path::new("gone.rs")).unwrap(), "gone.rs");
        for bad in ["../outside", "link", "/etc/passwd"] {
            assert!(
                matches!(
                    p.relative(&root, Path::new(bad)),
                    Err(FileError::OutsideProject { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn versions_hash_content_and_mask_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.txt"), "hello").unwrap();
        std::fs::write(root.join(".env"), "KEY=secret").unwrap();
        std::fs::write(root.join("big"), vec![b'x'; 100]).unwrap();
        let p = Project {
            name: "p".into(),
            root,
        };
        let v = read_version(&p, "a.txt", &origin(), 1000).unwrap();
        assert_eq!(v.content, FileContent::Inline(b"hello".to_vec()));
        assert_eq!(v.sha256, hex::encode(Sha256::digest(b"hello")));
        assert_eq!(
            v.env.id,
            read_version(&p, "a.txt", &origin(), 1000).unwrap().env.id
        );
        let env = read_version(&p, ".env", &origin(), 1000).unwrap();
        assert!(matches!(env.content, FileContent::Masked { .. }));
        assert!(env.sha256.is_empty());
        let big = read_version(&p, "big", &origin(), 10).unwrap();
        assert_eq!(big.content, FileContent::TooLarge { limit: 10 });
        assert_eq!(big.size, 100);
        let gone = read_version(&p, "gone", &origin(), 10).unwrap();
        assert_eq!(gone.content, FileContent::Deleted);
    }

    #[test]
    fn same_content_written_again_later_is_a_new_version() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let p = Project {
            name: "p".into(),
            root: root.clone(),
        };
        let sync = Origin {
            tool_use_id: None,
            ..origin()
        };
        let write = |text: &str, secs: u64| {
            std::fs::write(root.join("f"), text).unwrap();
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            std::fs::File::options()
                .write(true)
                .open(root.join("f"))
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        write("A", 1_000);
        let first = read_version(&p, "f", &sync, 10).unwrap().env.id;
        assert_eq!(read_version(&p, "f", &sync, 10).unwrap().env.id, first);
        write("B", 2_000);
        write("A", 3_000);
        assert_ne!(read_version(&p, "f", &sync, 10).unwrap().env.id, first);
    }
}
