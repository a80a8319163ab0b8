//! The namespace: each [`Node`] of the view, its attributes, what it lists and
//! what reading it returns.

use super::*;

/// A point in the view's namespace. The adapter interns each into an inode number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Root,
    Status,
    Project(Name),
    /// `current/<path>` (`""`: `current` itself).
    Current(Name, Name),
    History(Name),
    /// `history/versions.txt`.
    VersionsTxt(Name),
    /// `history/<label>/<path>`; `label` is the directory name (`<seq>` or `@<time>`),
    /// `seq` what it resolved to.
    Snapshot(Name, Snap, Name),
    Annotations(Name, Name),
    Escalations(Name),
    /// `escalations/pending` (false) or `escalations/decided` (true).
    EscList(Name, bool),
    EscFile(Name, bool, Name),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Snap {
    pub label: Name,
    pub seq: u64,
}

/// The version index in each `history/`.
pub const VERSIONS_FILE: &str = "versions.txt";

/// The name of the status file at the root.
pub const STATUS_FILE: &str = ".status.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// What `stat` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub kind: Kind,
    pub size: u64,
    pub mtime_us: u64,
    pub executable: bool,
    /// Whether the kernel may cache it for long (it is invalidated on change);
    /// false for things that change with time alone (`@<time>` snapshots, status).
    pub cacheable: bool,
}

impl Attr {
    fn dir(mtime_us: u64) -> Attr {
        Attr {
            kind: Kind::Dir,
            size: 0,
            mtime_us,
            executable: true,
            cacheable: true,
        }
    }

    fn file(f: &FileRef) -> Attr {
        Attr {
            kind: Kind::File,
            size: f.size,
            mtime_us: f.mtime_us,
            executable: f.executable,
            cacheable: true,
        }
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `LH_FS` at this sequence.
    Stream(u64),
    Bytes(Arc<[u8]>),
    /// The status file, rendered by the caller at read time.
    Status,
}

/// Parses `@2026-11-27T10:00:00Z` into microseconds since the epoch.
pub fn parse_time_label(label: &str) -> Option<u64> {
    let text = label.strip_prefix('@')?;
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// Resolves names and lists directories. `snapshot` supplies (and may cache) the tree
/// of a project at a sequence.
impl Model {
    pub fn lookup(
        &self,
        parent: &Node,
        name: &str,
        snapshot: &dyn Fn(&Name, &Project, u64) -> Arc<Tree>,
    ) -> Option<Node> {
        if !is_safe_name(name) {
            return None;
        }
        let n = || Name::from(name);
        let node = match parent {
            Node::Root if name == STATUS_FILE => Node::Status,
            Node::Root => Node::Project(self.projects.get_key_value(name)?.0.clone()),
            Node::Project(p) => match name {
                "current" => Node::Current(p.clone(), Name::from("")),
                "history" => Node::History(p.clone()),
                "annotations" => Node::Annotations(p.clone(), Name::from("")),
                "escalations" => Node::Escalations(p.clone()),
                _ => return None,
            },
            Node::Current(p, dir) => {
                let path = join(dir, name);
                self.projects.get(p)?.current.entry(&path)?;
                Node::Current(p.clone(), Name::from(path))
            }
            Node::History(p) if name == VERSIONS_FILE => {
                self.projects.get(p)?;
                Node::VersionsTxt(p.clone())
            }
            Node::History(p) => {
                let project = self.projects.get(p)?;
                let seq = if name.starts_with('@') {
                    project.seq_at(parse_time_label(name)?)
                } else {
                    let seq: u64 = name.parse().ok()?;
                    // Only sequences that are versions of this project are listed;
                    // any other existing one is the project as of then, too.
                    if seq == 0 || seq > project.history.last()?.0 {
                        return None;
                    }
                    seq
                };
                Node::Snapshot(p.clone(), Snap { label: n(), seq }, Name::from(""))
            }
            Node::Snapshot(p, snap, dir) => {
                let path = join(dir, name);
                let project = self.projects.get(p)?;
                snapshot(p, project, snap.seq).entry(&path)?;
                Node::Snapshot(p.clone(), snap.clone(), Name::from(path))
            }
            Node::Annotations(p, dir) => {
                let path = join(dir, name);
                self.projects.get(p)?.annotation_tree.entry(&path)?;
                Node::Annotations(p.clone(), Name::from(path))
            }
            Node::Escalations(p) => match name {
                "pending" => Node::EscList(p.clone(), false),
                "decided" => Node::EscList(p.clone(), true),
                _ => return None,
            },
            Node::EscList(p, decided) => {
                let project = self.projects.get(p)?;
                let esc = project.escalations.get(name)?;
                if project.is_decided(&esc.cmd_id) != *decided {
                    return None;
                }
                Node::EscFile(p.clone(), *decided, n())
            }
            Node::Status | Node::EscFile(..) | Node::VersionsTxt(_) => return None,
        };
        Some(node)
    }

    pub fn attr(
        &self,
        node: &Node,
        snapshot: &dyn Fn(&Name, &Project, u64) -> Arc<Tree>,
    ) -> Option<Attr> {
        let project_mtime = |p: &Project| p.current.dir("").map_or(0, |d| d.mtime_us);
        Some(match node {
            Node::Root => Attr::dir(self.projects.values().map(project_mtime).max().unwrap_or(0)),
            Node::Status => Attr {
                kind: Kind::File,
                size: 0,
                mtime_us: lighthouse_schemas::now_us(),
                executable: false,
                cacheable: false,
            },
            Node::Project(p) | Node::History(p) | Node::Escalations(p) => {
                Attr::dir(project_mtime(self.projects.get(p)?))
            }
            Node::VersionsTxt(p) => {
                let project = self.projects.get(p)?;
                Attr {
                    kind: Kind::File,
                    size: project.versions_txt().len() as u64,
                    mtime_us: project.history.last().map_or(0, |h| h.1),
                    executable: false,
                    cacheable: true,
                }
            }
            Node::Current(p, path) => tree_attr(&self.projects.get(p)?.current, path)?,
            Node::Annotations(p, path) => tree_attr(&self.projects.get(p)?.annotation_tree, path)?,
            Node::Snapshot(p, snap, path) => {
                let project = self.projects.get(p)?;
                let mut attr = tree_attr(&snapshot(p, project, snap.seq), path)?;
                // `@<time>` can resolve differently as new versions arrive.
                attr.cacheable = !snap.label.starts_with('@');
                attr
            }
            Node::EscList(p, decided) => {
                let project = self.projects.get(p)?;
                let mtime = project
                    .escalations
                    .values()
                    .filter(|e| project.is_decided(&e.cmd_id) == *decided)
                    .map(|e| e.stored_us)
                    .max()
                    .unwrap_or(0);
                Attr::dir(mtime)
            }
            Node::EscFile(p, decided, name) => {
                let project = self.projects.get(p)?;
                let esc = project.escalations.get(name)?;
                if project.is_decided(&esc.cmd_id) != *decided {
                    return None;
                }
                Attr {
                    kind: Kind::File,
                    size: esc.json.len() as u64,
                    mtime_us: esc.stored_us,
                    executable: false,
                    cacheable: true,
                }
            }
        })
    }

    /// The entries of a directory node (without `.` and `..`), sorted by name.
    pub fn list(
        &self,
        node: &Node,
        snapshot: &dyn Fn(&Name, &Project, u64) -> Arc<Tree>,
    ) -> Option<Vec<(Name, Node, Kind)>> {
        let from_tree = |tree: &Tree, dir: &Name, make: &dyn Fn(Name) -> Node| {
            tree.dir(dir).map(|d| {
                d.entries
                    .iter()
                    .map(|(name, e)| {
                        let kind = match e {
                            Entry::Dir => Kind::Dir,
                            Entry::File(_) => Kind::File,
                        };
                        (name.clone(), make(Name::from(join(dir, name))), kind)
                    })
                    .collect()
            })
        };
        match node {
            Node::Root => {
                let mut out = vec![(Name::from(STATUS_FILE), Node::Status, Kind::File)];
                out.extend(
                    self.projects
                        .keys()
                        .map(|p| (p.clone(), Node::Project(p.clone()), Kind::Dir)),
                );
                Some(out)
            }
            Node::Project(p) => Some(
                [
                    ("annotations", Node::Annotations(p.clone(), Name::from(""))),
                    ("current", Node::Current(p.clone(), Name::from(""))),
                    ("escalations", Node::Escalations(p.clone())),
                    ("history", Node::History(p.clone())),
                ]
                .into_iter()
                .map(|(n, node)| (Name::from(n), node, Kind::Dir))
                .collect(),
            ),
            Node::Current(p, dir) => {
                let project = self.projects.get(p)?;
                from_tree(&project.current, dir, &|path| {
                    Node::Current(p.clone(), path)
                })
            }
            Node::Annotations(p, dir) => {
                let project = self.projects.get(p)?;
                from_tree(&project.annotation_tree, dir, &|path| {
                    Node::Annotations(p.clone(), path)
                })
            }
            Node::Snapshot(p, snap, dir) => {
                let project = self.projects.get(p)?;
                let tree = snapshot(p, project, snap.seq);
                from_tree(&tree, dir, &|path| {
                    Node::Snapshot(p.clone(), snap.clone(), path)
                })
            }
            Node::History(p) => {
                self.projects.get(p)?;
                Some(vec![(
                    Name::from(VERSIONS_FILE),
                    Node::VersionsTxt(p.clone()),
                    Kind::File,
                )])
            }
            Node::Escalations(p) => Some(vec![
                (
                    Name::from("decided"),
                    Node::EscList(p.clone(), true),
                    Kind::Dir,
                ),
                (
                    Name::from("pending"),
                    Node::EscList(p.clone(), false),
                    Kind::Dir,
                ),
            ]),
            Node::EscList(p, decided) => {
                let project = self.projects.get(p)?;
                Some(
                    project
                        .escalations
                        .iter()
                        .filter(|(_, e)| project.is_decided(&e.cmd_id) == *decided)
                        .map(|(name, _)| {
                            (
                                name.clone(),
                                Node::EscFile(p.clone(), *decided, name.clone()),
                                Kind::File,
                            )
                        })
                        .collect(),
                )
            }
            Node::Status | Node::EscFile(..) | Node::VersionsTxt(_) => None,
        }
    }

    /// Where a file node's bytes come from.
    pub fn source(
        &self,
        node: &Node,
        snapshot: &dyn Fn(&Name, &Project, u64) -> Arc<Tree>,
    ) -> Option<Source> {
        let from_ref = |f: &FileRef| match &f.body {
            Body::Stream => Source::Stream(f.seq),
            Body::Notice(text) => Source::Bytes(text.clone()),
        };
        match node {
            Node::Status => Some(Source::Status),
            Node::VersionsTxt(p) => Some(Source::Bytes(self.projects.get(p)?.versions_txt())),
            Node::Current(p, path) => self.projects.get(p)?.current.file(path).map(from_ref),
            Node::Annotations(p, path) => self
                .projects
                .get(p)?
                .annotation_tree
                .file(path)
                .map(from_ref),
            Node::Snapshot(p, snap, path) => {
                let project = self.projects.get(p)?;
                snapshot(p, project, snap.seq).file(path).map(from_ref)
            }
            Node::EscFile(p, _, name) => Some(Source::Bytes(
                self.projects.get(p)?.escalations.get(name)?.json.clone(),
            )),
            _ => None,
        }
    }
}

fn tree_attr(tree: &Tree, path: &str) -> Option<Attr> {
    match tree.entry(path)? {
        Entry::Dir => Some(Attr::dir(tree.dir(path)?.mtime_us)),
        Entry::File(f) => Some(Attr::file(f)),
    }
}
