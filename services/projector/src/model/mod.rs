//! The pure model: what the view shows, rebuilt from stream messages, with no NATS and
//! no FUSE in sight (unit-tested directly).
//!
//! Per project it keeps every file's history as metadata only (stream sequence, size,
//! times); contents stay on the stream and are fetched by sequence when read. The
//! namespace is a set of [`Node`]s; the FUSE adapter turns them into inode numbers.
//!
//! ```text
//! /.status.json
//! /<project>/current/<path>
//! /<project>/history/versions.txt         one line per version: seq, time, size, path
//! /<project>/history/<seq>/<path>          project as of LH_FS sequence <seq>
//! /<project>/history/@<RFC3339>/<path>     project as of that time
//! ```
//!
//! `history/` lists only `versions.txt`: the `<seq>` and `@<time>` directories resolve
//! when named but are not listed, so `grep -r` or `find` over the mount reads each file
//! once instead of once per version of the project.
//!
//! ```text
//! /<project>/annotations/<path>.md
//! /<project>/escalations/{pending,decided}/<cmd_id>.json
//! ```

use lighthouse_schemas::msg::is_safe_relative_path;
use lighthouse_schemas::{FileContent, FileVersion};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A shared string: node keys and tree names are cloned a lot, never mutated.
pub type Name = Arc<str>;

mod namespace;
mod tree;

pub use namespace::*;
pub use tree::*;

/// An escalation as the view shows it.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub cmd_id: String,
    pub stored_us: u64,
    /// The message decoded to pretty JSON (its Rust type lives with the escalation
    /// work; the view reads it loosely so either side can evolve).
    pub json: Arc<[u8]>,
}

/// One annotation message, kept as loosely decoded JSON.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub seq: u64,
    pub stored_us: u64,
    pub value: serde_json::Value,
}

/// Everything the view knows about one project.
#[derive(Debug, Default)]
pub struct Project {
    /// Every version of every file, oldest first.
    pub files: HashMap<Name, Vec<Version>>,
    /// `(LH_FS sequence, stored time)` of every version, in stream order.
    pub history: Vec<(u64, u64)>,
    /// `history/versions.txt`, rendered on first read after a change.
    pub versions_txt: std::sync::OnceLock<Arc<[u8]>>,
    pub current: Tree,
    pub annotations: BTreeMap<Name, Vec<Annotation>>,
    /// `<path>.md` files, one per annotated path; contents rendered on demand.
    pub annotation_tree: Tree,
    /// Escalations by file name (`<cmd_id>.json`).
    pub escalations: BTreeMap<Name, Escalation>,
    /// Command ids that have a decision.
    pub decided: HashSet<String>,
}

impl Project {
    /// The project as it was right after LH_FS sequence `seq`.
    pub fn snapshot(&self, seq: u64) -> Tree {
        let mut tree = Tree::default();
        for (path, versions) in &self.files {
            let n = versions.partition_point(|v| v.seq <= seq);
            if let Some(v) = n.checked_sub(1).map(|i| &versions[i])
                && let Some(body) = &v.body
            {
                tree.insert(
                    path,
                    FileRef {
                        seq: v.seq,
                        size: v.size,
                        mtime_us: v.mtime_us,
                        executable: v.executable,
                        body: body.clone(),
                    },
                );
            }
        }
        tree
    }

    /// The last LH_FS sequence stored at or before `time_us` (0: none).
    pub fn seq_at(&self, time_us: u64) -> u64 {
        let n = self.history.partition_point(|(_, t)| *t <= time_us);
        n.checked_sub(1).map_or(0, |i| self.history[i].0)
    }

    /// `history/versions.txt`: `<seq>\t<stored time>\t<size or "deleted">\t<path>`.
    pub fn versions_txt(&self) -> Arc<[u8]> {
        self.versions_txt
            .get_or_init(|| {
                let mut rows: Vec<(u64, u64, &str, Option<u64>)> = Vec::new();
                for (path, versions) in &self.files {
                    for v in versions {
                        rows.push((v.seq, v.stored_us, path, v.body.as_ref().map(|_| v.size)));
                    }
                }
                rows.sort_unstable_by_key(|r| r.0);
                let mut out = String::from("# seq\tstored\tsize\tpath\n");
                for (seq, stored_us, path, size) in rows {
                    let time = time::OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(stored_us) * 1000,
                    )
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                    let size = size.map_or("deleted".to_owned(), |s| s.to_string());
                    out.push_str(&format!("{seq}\t{time}\t{size}\t{path}\n"));
                }
                Arc::from(out.into_bytes().into_boxed_slice())
            })
            .clone()
    }

    pub fn is_decided(&self, cmd_id: &str) -> bool {
        self.decided.contains(cmd_id)
    }
}

/// A piece of the view whose kernel cache must be dropped after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inval {
    /// Attributes and cached data of this node.
    Node(Node),
    /// The name `name` inside directory `parent`.
    Entry(Node, Name),
}

/// Why a message was not applied (it is counted, never fatal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("path {0:?} is not a safe project-relative path")]
    UnsafePath(String),
    #[error("project name {0:?} cannot be a directory name")]
    UnsafeProject(String),
    #[error("{0:?} conflicts with a file or directory already there")]
    Conflict(String),
    #[error("message has no command id")]
    NoCommandId,
}

/// Whether `name` can be one path component in the view.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0')
        && name.len() <= 255
}

/// The whole view.
#[derive(Debug, Default)]
pub struct Model {
    pub projects: BTreeMap<Name, Project>,
}

/// The notice shown for content that was not published.
pub fn notice(content: &FileContent, size: u64) -> Option<Arc<[u8]>> {
    let text = match content {
        FileContent::Masked { rule } => format!(
            "[lighthouse] content masked: this file matches the secret rule `{rule}`; \
             its {size} bytes were never published.\n"
        ),
        FileContent::TooLarge { limit } => format!(
            "[lighthouse] content not published: the file has {size} bytes, over the \
             {limit}-byte limit.\n"
        ),
        _ => return None,
    };
    Some(Arc::from(text.into_bytes().into_boxed_slice()))
}

impl Model {
    fn project_mut(&mut self, name: &str, out: &mut Vec<Inval>) -> Result<&mut Project, Rejected> {
        if !is_safe_name(name) {
            return Err(Rejected::UnsafeProject(name.to_owned()));
        }
        if !self.projects.contains_key(name) {
            out.push(Inval::Entry(Node::Root, Name::from(name)));
            out.push(Inval::Node(Node::Root));
        }
        Ok(self.projects.entry(Name::from(name)).or_default())
    }

    /// Applies one `LH_FS` message stored at `seq`; returns what to invalidate.
    pub fn apply_file(
        &mut self,
        seq: u64,
        stored_us: u64,
        version: &FileVersion,
    ) -> Result<Vec<Inval>, Rejected> {
        if !is_safe_relative_path(&version.path) {
            return Err(Rejected::UnsafePath(version.path.clone()));
        }
        let mut out = Vec::new();
        let project_name: Name = Name::from(version.env.project.as_str());
        let project = self.project_mut(&project_name, &mut out)?;
        let mtime_us = if version.mtime_us > 0 {
            version.mtime_us
        } else {
            stored_us
        };
        let body = match &version.content {
            FileContent::Deleted => None,
            FileContent::Inline(_) | FileContent::Object { .. } => Some(Body::Stream),
            other => notice(other, version.size).map(Body::Notice),
        };
        let size = match &body {
            Some(Body::Notice(text)) => text.len() as u64,
            Some(Body::Stream) => match &version.content {
                FileContent::Inline(bytes) => bytes.len() as u64,
                _ => version.size,
            },
            None => 0,
        };
        let path: Name = Name::from(version.path.as_str());
        let change = match &body {
            Some(body) => project
                .current
                .insert(
                    &path,
                    FileRef {
                        seq,
                        size,
                        mtime_us,
                        executable: version.executable,
                        body: body.clone(),
                    },
                )
                .ok_or_else(|| Rejected::Conflict(version.path.clone()))?,
            None => project.current.remove(&path, stored_us),
        };
        project
            .files
            .entry(path.clone())
            .or_default()
            .push(Version {
                seq,
                stored_us,
                mtime_us,
                size,
                executable: version.executable,
                body,
            });
        project.history.push((seq, stored_us));
        project.versions_txt = std::sync::OnceLock::new();
        tree_invals(&mut out, &change, &path, |p| {
            Node::Current(project_name.clone(), p)
        });
        out.push(Inval::Node(Node::History(project_name.clone())));
        out.push(Inval::Node(Node::VersionsTxt(project_name)));
        Ok(out)
    }

    /// Applies one annotation (decoded loosely) for `project` and file `path`.
    pub fn apply_annotation(
        &mut self,
        project: &str,
        path: &str,
        seq: u64,
        stored_us: u64,
        value: serde_json::Value,
    ) -> Result<Vec<Inval>, Rejected> {
        if !is_safe_relative_path(path) {
            return Err(Rejected::UnsafePath(path.to_owned()));
        }
        let mut out = Vec::new();
        let project_name = Name::from(project);
        let p = self.project_mut(project, &mut out)?;
        let notes = p.annotations.entry(Name::from(path)).or_default();
        // A re-anchored annotation is a new state of the same note: it replaces the old.
        let note_id = |v: &serde_json::Value| {
            v.pointer("/env/id")
                .and_then(|i| i.as_str())
                .map(str::to_owned)
        };
        if let Some(id) = note_id(&value) {
            notes.retain(|n| note_id(&n.value).as_deref() != Some(id.as_str()));
        }
        notes.push(Annotation {
            seq,
            stored_us,
            value,
        });
        let md_path = format!("{path}.md");
        let rendered = render_annotations(path, notes);
        let change = p
            .annotation_tree
            .insert(
                &md_path,
                FileRef {
                    seq,
                    size: rendered.len() as u64,
                    mtime_us: stored_us,
                    executable: false,
                    body: Body::Notice(rendered),
                },
            )
            .ok_or(Rejected::Conflict(md_path.clone()))?;
        tree_invals(&mut out, &change, &Name::from(md_path.as_str()), |p| {
            Node::Annotations(project_name.clone(), p)
        });
        Ok(out)
    }

    /// Applies one escalation message (decoded loosely to JSON).
    pub fn apply_escalation(
        &mut self,
        project: &str,
        stored_us: u64,
        value: &serde_json::Value,
    ) -> Result<Vec<Inval>, Rejected> {
        let cmd_id = escalation_cmd_id(value).ok_or(Rejected::NoCommandId)?;
        let file = escalation_file_name(&cmd_id);
        let mut out = Vec::new();
        let project_name = Name::from(project);
        let p = self.project_mut(project, &mut out)?;
        let json = serde_json::to_vec_pretty(value).unwrap_or_default();
        let decided = p.is_decided(&cmd_id);
        p.escalations.insert(
            file.clone(),
            Escalation {
                cmd_id,
                stored_us,
                json: Arc::from(json.into_boxed_slice()),
            },
        );
        let list = Node::EscList(project_name, decided);
        out.push(Inval::Entry(list.clone(), file));
        out.push(Inval::Node(list));
        Ok(out)
    }

    /// Records a decision: its escalation (if any) moves from pending to decided.
    pub fn apply_decision(&mut self, project: &str, cmd_id: &str) -> Result<Vec<Inval>, Rejected> {
        let mut out = Vec::new();
        let project_name = Name::from(project);
        let p = self.project_mut(project, &mut out)?;
        if p.decided.insert(cmd_id.to_owned()) {
            let file = escalation_file_name(cmd_id);
            if p.escalations.contains_key(&file) {
                for decided in [false, true] {
                    let list = Node::EscList(project_name.clone(), decided);
                    out.push(Inval::Entry(list.clone(), file.clone()));
                    out.push(Inval::Node(list));
                }
            }
        }
        Ok(out)
    }
}

fn tree_invals(
    out: &mut Vec<Inval>,
    change: &TreeChange,
    path: &Name,
    node: impl Fn(Name) -> Node,
) {
    let (parent, name) = split_parent(path);
    out.push(Inval::Node(node(path.clone())));
    if change.added || change.removed {
        out.push(Inval::Entry(node(Name::from(parent)), Name::from(name)));
    }
    for dir in [&change.created_dir, &change.removed_dir]
        .into_iter()
        .flatten()
    {
        let (up, dir_name) = split_parent(dir);
        out.push(Inval::Entry(node(Name::from(up)), Name::from(dir_name)));
        out.push(Inval::Node(node(Name::from(up))));
    }
    // Directory sizes and mtimes up the chain.
    let mut at = parent;
    loop {
        out.push(Inval::Node(node(Name::from(at))));
        if at.is_empty() {
            break;
        }
        at = split_parent(at).0;
    }
}

/// The command id an escalation is about: `cmd_id`, else `command.env.id`, else
/// `env.correlation_id`.
pub fn escalation_cmd_id(value: &serde_json::Value) -> Option<String> {
    [
        value.get("cmd_id"),
        value.pointer("/command/env/id"),
        value.pointer("/env/correlation_id"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
}

/// `<cmd_id>.json`, made safe as a file name (ids are normally plain already).
pub fn escalation_file_name(cmd_id: &str) -> Name {
    let token = lighthouse_schemas::Token::encode(cmd_id);
    Name::from(format!("{token}.json"))
}

/// Markdown for a file's annotations: one section per message. Fields commonly used
/// for anchors and notes (`line`, `end_line`, `symbol`, `author`/`expert`, `text`/`note`/
/// `body`/`message`) are shown as plain lines; everything else as JSON, so any future
/// shape of the `Annotation` message is shown rather than dropped.
pub fn render_annotations(path: &str, notes: &[Annotation]) -> Arc<[u8]> {
    let mut md = format!("# Annotations on `{path}`\n\n");
    for note in notes {
        let v = &note.value;
        let field = |names: &[&str]| {
            names.iter().find_map(|n| {
                let f = v.get(*n)?;
                Some(match f {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
        };
        let who = field(&["author", "expert"]).or_else(|| {
            v.pointer("/env/agent")
                .and_then(|a| a.as_str())
                .map(str::to_owned)
        });
        let line = field(&["line", "start_line"]);
        let text = field(&["text", "note", "body", "message"]);
        md.push_str(&format!("## seq {}", note.seq));
        if let Some(line) = &line {
            md.push_str(&format!(" · line {line}"));
            if let Some(end) = field(&["end_line"]) {
                md.push_str(&format!("–{end}"));
            }
        }
        let symbol = field(&["symbol"]).or_else(|| {
            v.pointer("/anchor/name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
        });
        if let Some(symbol) = symbol {
            md.push_str(&format!(" · `{symbol}`"));
        }
        if let Some(status) = field(&["status"]) {
            md.push_str(&format!(" · {status}"));
        }
        if let Some(who) = &who {
            md.push_str(&format!(" · {who}"));
        }
        md.push('\n');
        match text {
            Some(text) => {
                md.push_str(&text);
                md.push_str("\n\n");
            }
            None => {
                md.push_str("```json\n");
                md.push_str(&serde_json::to_string_pretty(v).unwrap_or_default());
                md.push_str("\n```\n\n");
            }
        }
    }
    Arc::from(md.into_bytes().into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::Envelope;
    use serde_json::json;

    fn version(path: &str, content: FileContent) -> FileVersion {
        let size = match &content {
            FileContent::Inline(b) => b.len() as u64,
            _ => 42,
        };
        FileVersion {
            env: Envelope::new("id", 1, "demo", "agent", "c"),
            path: path.into(),
            content,
            sha256: String::new(),
            size,
            mtime_us: 0,
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        }
    }

    fn inline(path: &str, text: &str) -> FileVersion {
        version(path, FileContent::Inline(text.as_bytes().to_vec()))
    }

    fn no_cache(_: &Name, p: &Project, seq: u64) -> Arc<Tree> {
        Arc::new(p.snapshot(seq))
    }

    fn resolve(model: &Model, path: &[&str]) -> Option<Node> {
        path.iter().try_fold(Node::Root, |node, name| {
            model.lookup(&node, name, &no_cache)
        })
    }

    fn names(model: &Model, node: &Node) -> Vec<String> {
        model
            .list(node, &no_cache)
            .unwrap()
            .into_iter()
            .map(|(n, _, _)| n.to_string())
            .collect()
    }

    #[test]
    fn tree_creates_and_prunes_directories() {
        let mut tree = Tree::default();
        let file = |seq| FileRef {
            seq,
            size: 1,
            mtime_us: seq * 10,
            executable: false,
            body: Body::Stream,
        };
        let change = tree.insert("a/b/c.txt", file(1)).unwrap();
        assert_eq!(change.created_dir.as_deref(), Some("a"));
        assert!(change.added);
        assert!(
            tree.insert("a/b/d.txt", file(2))
                .unwrap()
                .created_dir
                .is_none()
        );
        assert_eq!(tree.dir("a").unwrap().mtime_us, 20);
        // A file cannot become a directory, nor a directory a file.
        assert!(tree.insert("a/b/c.txt/x", file(3)).is_none());
        assert!(tree.insert("a/b", file(3)).is_none());
        assert_eq!(tree.file_count(), 2);
        assert!(tree.remove("a/b/c.txt", 50).removed);
        assert!(tree.dir("a/b").is_some());
        let change = tree.remove("a/b/d.txt", 60);
        assert_eq!(change.removed_dir.as_deref(), Some("a"));
        assert!(tree.dir("a").is_none());
        assert!(tree.dir("").unwrap().entries.is_empty());
        assert!(!tree.remove("nothing", 70).removed);
    }

    #[test]
    fn history_keeps_every_version_and_snapshots_replay_it() {
        let mut m = Model::default();
        m.apply_file(1, 100, &inline("src/a.rs", "one")).unwrap();
        m.apply_file(2, 200, &inline("src/b.rs", "bee")).unwrap();
        m.apply_file(5, 500, &inline("src/a.rs", "three")).unwrap();
        m.apply_file(7, 700, &version("src/b.rs", FileContent::Deleted))
            .unwrap();
        let p = &m.projects["demo"];
        assert_eq!(p.files["src/a.rs"].len(), 2);
        assert_eq!(p.current.file("src/a.rs").unwrap().seq, 5);
        assert_eq!(p.current.file("src/a.rs").unwrap().size, 5);
        assert!(p.current.file("src/b.rs").is_none());
        let at2 = p.snapshot(2);
        assert_eq!(at2.file("src/a.rs").unwrap().seq, 1);
        assert_eq!(at2.file("src/b.rs").unwrap().seq, 2);
        assert!(p.snapshot(0).dir("").unwrap().entries.is_empty());
        assert_eq!(p.seq_at(99), 0);
        assert_eq!(p.seq_at(200), 2);
        assert_eq!(p.seq_at(650), 5);
    }

    #[test]
    fn namespace_resolves_current_history_and_time() {
        let mut m = Model::default();
        m.apply_file(1, 1_000_000, &inline("a b/ü.txt", "v1"))
            .unwrap();
        m.apply_file(2, 3_000_000, &inline("a b/ü.txt", "v2!"))
            .unwrap();
        assert_eq!(names(&m, &Node::Root), [STATUS_FILE, "demo"]);
        assert_eq!(
            names(&m, &resolve(&m, &["demo"]).unwrap()),
            ["annotations", "current", "escalations", "history"]
        );
        let cur = resolve(&m, &["demo", "current", "a b", "ü.txt"]).unwrap();
        assert_eq!(m.attr(&cur, &no_cache).unwrap().size, 3);
        assert_eq!(m.source(&cur, &no_cache), Some(Source::Stream(2)));
        assert_eq!(
            names(&m, &resolve(&m, &["demo", "history"]).unwrap()),
            [VERSIONS_FILE]
        );
        let index = resolve(&m, &["demo", "history", VERSIONS_FILE]).unwrap();
        let Some(Source::Bytes(text)) = m.source(&index, &no_cache) else {
            panic!("an index expected");
        };
        let text = String::from_utf8(text.to_vec()).unwrap();
        assert!(
            text.contains("1\t1970-01-01T00:00:01Z\t2\ta b/ü.txt\n"),
            "{text}"
        );
        assert!(
            text.contains("2\t1970-01-01T00:00:03Z\t3\ta b/ü.txt\n"),
            "{text}"
        );
        assert_eq!(m.attr(&index, &no_cache).unwrap().size, text.len() as u64);
        let old = resolve(&m, &["demo", "history", "1", "a b", "ü.txt"]).unwrap();
        assert_eq!(m.source(&old, &no_cache), Some(Source::Stream(1)));
        // 1970-01-01T00:00:02Z lies between the two versions.
        let t = resolve(
            &m,
            &["demo", "history", "@1970-01-01T00:00:02Z", "a b", "ü.txt"],
        );
        assert_eq!(m.source(&t.unwrap(), &no_cache), Some(Source::Stream(1)));
        let dir = resolve(&m, &["demo", "history", "@1970-01-01T00:00:02Z"]).unwrap();
        assert!(!m.attr(&dir, &no_cache).unwrap().cacheable);
        for bad in [
            &["demo", "history", "3"][..],
            &["demo", "history", "0"],
            &["demo", "history", "@yesterday"],
            &["demo", "current", ".."],
            &["demo", "current", "a b", "ü.txt", "x"],
            &["demo", "nope"],
            &["other"],
        ] {
            assert!(resolve(&m, bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_paths_and_projects_are_rejected() {
        let mut m = Model::default();
        for path in ["../x", "/abs", "a//b", "a/./b", ""] {
            assert!(matches!(
                m.apply_file(1, 1, &inline(path, "x")),
                Err(Rejected::UnsafePath(_))
            ));
        }
        let mut v = inline("ok", "x");
        v.env.project = "..".into();
        assert!(matches!(
            m.apply_file(1, 1, &v),
            Err(Rejected::UnsafeProject(_))
        ));
        m.apply_file(1, 1, &inline("f", "x")).unwrap();
        assert!(matches!(
            m.apply_file(2, 2, &inline("f/g", "x")),
            Err(Rejected::Conflict(_))
        ));
        // A rejected version leaves no trace in history.
        assert_eq!(m.projects["demo"].history.len(), 1);
    }

    #[test]
    fn unpublished_content_reads_as_a_notice() {
        let mut m = Model::default();
        let masked = version(
            ".env",
            FileContent::Masked {
                rule: ".env*".into(),
            },
        );
        m.apply_file(1, 1, &masked).unwrap();
        let node = resolve(&m, &["demo", "current", ".env"]).unwrap();
        let Some(Source::Bytes(text)) = m.source(&node, &no_cache) else {
            panic!("a notice expected");
        };
        let text = String::from_utf8(text.to_vec()).unwrap();
        assert!(
            text.contains(".env*") && text.contains("42 bytes"),
            "{text}"
        );
        assert_eq!(m.attr(&node, &no_cache).unwrap().size, text.len() as u64);
    }

    #[test]
    fn escalations_move_from_pending_to_decided_in_either_order() {
        let mut m = Model::default();
        let esc = |id: &str| json!({"cmd_id": id, "command": {"tool_name": "Bash"}});
        m.apply_escalation("demo", 10, &esc("toolu_1")).unwrap();
        m.apply_decision("demo", "toolu_2").unwrap();
        m.apply_escalation("demo", 20, &esc("toolu_2")).unwrap();
        let pending = resolve(&m, &["demo", "escalations", "pending"]).unwrap();
        let decided = resolve(&m, &["demo", "escalations", "decided"]).unwrap();
        assert_eq!(names(&m, &pending), ["toolu_1.json"]);
        assert_eq!(names(&m, &decided), ["toolu_2.json"]);
        let invals = m.apply_decision("demo", "toolu_1").unwrap();
        assert!(invals.contains(&Inval::Entry(pending.clone(), Name::from("toolu_1.json"))));
        assert!(names(&m, &pending).is_empty());
        let file = resolve(&m, &["demo", "escalations", "decided", "toolu_1.json"]).unwrap();
        let Some(Source::Bytes(json)) = m.source(&file, &no_cache) else {
            panic!("json expected");
        };
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["command"]["tool_name"], "Bash");
        assert!(matches!(
            m.apply_escalation("demo", 1, &json!({"no": "id"})),
            Err(Rejected::NoCommandId)
        ));
    }

    #[test]
    fn annotations_render_plain_notes_and_unknown_shapes() {
        let mut m = Model::default();
        m.apply_annotation(
            "demo",
            "src/lib.rs",
            3,
            1,
            json!({"line": 12, "text": "can panic", "author": "alice"}),
        )
        .unwrap();
        m.apply_annotation(
            "demo",
            "src/lib.rs",
            4,
            2,
            json!({"verdict": {"odd": true}}),
        )
        .unwrap();
        let node = resolve(&m, &["demo", "annotations", "src", "lib.rs.md"]).unwrap();
        let Some(Source::Bytes(md)) = m.source(&node, &no_cache) else {
            panic!("markdown expected");
        };
        let md = String::from_utf8(md.to_vec()).unwrap();
        assert!(
            md.contains("line 12") && md.contains("can panic") && md.contains("alice"),
            "{md}"
        );
        assert!(md.contains("\"odd\": true"), "{md}");
        assert!(m.apply_annotation("demo", "../x", 5, 3, json!({})).is_err());
    }

    #[test]
    fn changes_name_what_the_kernel_must_forget() {
        let mut m = Model::default();
        let invals = m.apply_file(1, 1, &inline("d/f.txt", "x")).unwrap();
        let project = Name::from("demo");
        let cur = |p: &str| Node::Current(project.clone(), Name::from(p));
        assert!(invals.contains(&Inval::Entry(Node::Root, project.clone())));
        assert!(invals.contains(&Inval::Entry(cur(""), Name::from("d"))));
        assert!(invals.contains(&Inval::Entry(cur("d"), Name::from("f.txt"))));
        assert!(invals.contains(&Inval::Node(cur("d/f.txt"))));
        // A content change: the file's node and its directories, no entry churn.
        let invals = m.apply_file(2, 2, &inline("d/f.txt", "y")).unwrap();
        assert!(invals.contains(&Inval::Node(cur("d/f.txt"))));
        assert!(!invals.iter().any(|i| matches!(i, Inval::Entry(..))));
    }
}
