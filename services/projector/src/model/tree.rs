//! Files and directories of one project at one moment: which version each path
//! holds, and the directories that contain them.

use super::Name;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a reader gets for one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The bytes are in `LH_FS` at this sequence (inline or through the object store).
    Stream,
    /// A short text the view shows instead (masked secret, file too large).
    Notice(Arc<[u8]>),
}

/// One version of one file, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `LH_FS` stream sequence: identifies the content.
    pub seq: u64,
    /// When the server stored it (microseconds since the epoch): orders history.
    pub stored_us: u64,
    /// Modification time shown for the file.
    pub mtime_us: u64,
    /// Size of what a reader gets (the notice's length for notices).
    pub size: u64,
    pub executable: bool,
    /// `None`: the file was deleted in this version.
    pub body: Option<Body>,
}

/// A file in a [`Tree`]: enough for `stat` and to find its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub seq: u64,
    pub size: u64,
    pub mtime_us: u64,
    pub executable: bool,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(FileRef),
}

#[derive(Debug, Clone, Default)]
pub struct Dir {
    pub entries: BTreeMap<Name, Entry>,
    /// Latest change below this directory.
    pub mtime_us: u64,
}

/// A directory tree built from `/`-separated paths. `""` is the root.
#[derive(Debug, Clone)]
pub struct Tree {
    dirs: HashMap<Name, Dir>,
}

impl Default for Tree {
    fn default() -> Self {
        let mut dirs = HashMap::new();
        dirs.insert(Name::from(""), Dir::default());
        Tree { dirs }
    }
}

/// Directories a tree change created or removed (for kernel cache invalidation).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeChange {
    /// The shallowest directory created, if any.
    pub created_dir: Option<Name>,
    /// The shallowest directory removed (it became empty), if any.
    pub removed_dir: Option<Name>,
    /// Whether the file itself was added (it did not exist before).
    pub added: bool,
    /// Whether the file was removed.
    pub removed: bool,
}

/// `("a/b", "c")` for `"a/b/c"`; `("", "c")` for `"c"`.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `"a/b"` + `"c"`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

impl Tree {
    pub fn dir(&self, path: &str) -> Option<&Dir> {
        self.dirs.get(path)
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        if path.is_empty() {
            return Some(&Entry::Dir);
        }
        let (parent, name) = split_parent(path);
        self.dirs.get(parent)?.entries.get(name)
    }

    pub fn file(&self, path: &str) -> Option<&FileRef> {
        match self.entry(path)? {
            Entry::File(f) => Some(f),
            Entry::Dir => None,
        }
    }

    pub fn file_count(&self) -> usize {
        self.dirs
            .values()
            .map(|d| {
                d.entries
                    .values()
                    .filter(|e| matches!(e, Entry::File(_)))
                    .count()
            })
            .sum()
    }

    /// Puts a file at `path`, creating its directories. A directory already at `path`
    /// (or a file where a directory is needed) makes the insert refused: the first
    /// shape wins until it is deleted, so the tree stays a tree.
    pub fn insert(&mut self, path: &str, file: FileRef) -> Option<TreeChange> {
        let mut change = TreeChange::default();
        let (parent, name) = split_parent(path);
        // Check the whole chain first, so a refused insert changes nothing.
        let mut at = String::new();
        for component in parent.split('/').filter(|c| !c.is_empty()) {
            if let Some(Entry::File(_)) = self.dirs.get(at.as_str())?.entries.get(component) {
                return None;
            }
            at = join(&at, component);
            if !self.dirs.contains_key(at.as_str()) {
                break;
            }
        }
        if let Some(Entry::Dir) = self.dirs.get(parent).and_then(|d| d.entries.get(name)) {
            return None;
        }
        let mtime = file.mtime_us;
        let mut at = String::new();
        for component in parent.split('/').filter(|c| !c.is_empty()) {
            let child = join(&at, component);
            if !self.dirs.contains_key(child.as_str()) {
                let parent_dir = self.dirs.get_mut(at.as_str())?;
                parent_dir.entries.insert(Name::from(component), Entry::Dir);
                self.dirs.insert(Name::from(child.as_str()), Dir::default());
                if change.created_dir.is_none() {
                    change.created_dir = Some(Name::from(child.as_str()));
                }
            }
            at = child;
        }
        let dir = self.dirs.get_mut(parent)?;
        change.added = dir
            .entries
            .insert(Name::from(name), Entry::File(file))
            .is_none();
        self.touch(parent, mtime);
        Some(change)
    }

    /// Removes the file at `path`, and the directories it leaves empty.
    pub fn remove(&mut self, path: &str, mtime_us: u64) -> TreeChange {
        let mut change = TreeChange::default();
        let (mut parent, name) = split_parent(path);
        let Some(dir) = self.dirs.get_mut(parent) else {
            return change;
        };
        if !matches!(dir.entries.get(name), Some(Entry::File(_))) {
            return change;
        }
        dir.entries.remove(name);
        change.removed = true;
        while !parent.is_empty() && self.dirs.get(parent).is_some_and(|d| d.entries.is_empty()) {
            self.dirs.remove(parent);
            let (up, dir_name) = split_parent(parent);
            if let Some(d) = self.dirs.get_mut(up) {
                d.entries.remove(dir_name);
            }
            change.removed_dir = Some(Name::from(parent));
            parent = up;
        }
        self.touch(parent, mtime_us);
        change
    }

    fn touch(&mut self, dir: &str, mtime_us: u64) {
        let mut at = dir;
        loop {
            if let Some(d) = self.dirs.get_mut(at) {
                d.mtime_us = d.mtime_us.max(mtime_us);
            }
            if at.is_empty() {
                break;
            }
            at = split_parent(at).0;
        }
    }
}
