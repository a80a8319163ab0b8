//! The state the FUSE adapter and the followers share: the model behind a lock, the
//! inode table, cached snapshots, file contents (a bounded cache in front of direct
//! gets on `LH_FS`), and health counters for `.status.json`.

use crate::model::{Attr, Kind, Model, Name, Node, Project, Source, Tree};
use bytes::Bytes;
use lighthouse_schemas::{FileContent, FileVersion, decode};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ContentError {
    #[error("LH_FS sequence {seq}: {source}")]
    Fetch { seq: u64, source: SourceError },
    #[error("LH_FS sequence {seq} is not a file version: {source}")]
    Decode {
        seq: u64,
        source: lighthouse_schemas::CodecError,
    },
    #[error("LH_FS sequence {0} has no content to read")]
    NoContent(u64),
}

/// Stable inode numbers: a node keeps its number for the life of the process, so the
/// kernel's caches stay valid; numbers start at 1 (the root).
#[derive(Debug, Default)]
pub struct Inodes {
    inner: RwLock<(HashMap<Node, u64>, Vec<Node>)>,
}

impl Inodes {
    pub fn new() -> Inodes {
        let inodes = Inodes::default();
        inodes.intern(Node::Root);
        inodes
    }

    pub fn intern(&self, node: Node) -> u64 {
        if let Some(ino) = self.get(&node) {
            return ino;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(ino) = inner.0.get(&node) {
            return *ino;
        }
        inner.1.push(node.clone());
        let ino = inner.1.len() as u64;
        inner.0.insert(node, ino);
        ino
    }

    /// The number of a node the kernel has seen, if any.
    pub fn get(&self, node: &Node) -> Option<u64> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.0.get(node).copied()
    }

    pub fn node(&self, ino: u64) -> Option<Node> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.1.get(ino.checked_sub(1)? as usize).cloned()
    }

    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a stream follower stands.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StreamHealth {
    pub exists: bool,
    /// Last stream sequence applied to the view.
    pub applied_seq: u64,
    /// Last sequence the stream held when last asked.
    pub stream_last_seq: u64,
    pub applied: u64,
    pub rejected: u64,
    pub last_error: Option<String>,
}

/// Why a [`ContentSource`] has no bytes to give.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SourceError {
    /// The message or object is not there (deleted, purged, never stored).
    #[error("not found")]
    NotFound,
    /// The server did not answer in time.
    #[error("no answer within {0:?}")]
    TimedOut(std::time::Duration),
    /// The server or the connection failed; the text is the client's.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Bytes fetched on demand: direct get by sequence, bounded LRU in front.
pub trait ContentSource: Send + Sync {
    /// The raw `LH_FS` message at `seq`.
    fn fetch_message(&self, seq: u64) -> Result<Bytes, SourceError>;
    /// An object store object, read whole.
    fn fetch_object(&self, bucket: &str, name: &str) -> Result<Bytes, SourceError>;
    /// Many messages at once (read-ahead); sources that can pipeline override this.
    fn fetch_messages(&self, seqs: &[u64]) -> Vec<(u64, Result<Bytes, SourceError>)> {
        seqs.iter().map(|s| (*s, self.fetch_message(*s))).collect()
    }
}

/// Read-ahead requests: the `LH_FS` sequences of one directory's files.
pub type Prefetch = std::sync::mpsc::SyncSender<Vec<u64>>;

/// Uncached `LH_FS` files directly in `dir`, smallest first, within `budget` bytes.
fn collect_prefetch(
    tree: &Tree,
    dir: &str,
    budget: u64,
    cache: &moka::sync::Cache<u64, Bytes>,
) -> Vec<u64> {
    let Some(d) = tree.dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(u64, u64)> = d
        .entries
        .values()
        .filter_map(|e| match e {
            crate::model::Entry::File(f)
                if f.body == crate::model::Body::Stream
                    && f.size as usize <= lighthouse_schemas::msg::INLINE_MAX_BYTES
                    && !cache.contains_key(&f.seq) =>
            {
                Some((f.size, f.seq))
            }
            _ => None,
        })
        .collect();
    files.sort_unstable();
    let mut total = 0;
    files
        .into_iter()
        .take_while(|(size, _)| {
            total += size;
            total <= budget
        })
        .map(|(_, seq)| seq)
        .collect()
}

/// Everything shared between the followers and the FUSE threads.
pub struct Shared {
    pub model: RwLock<Model>,
    pub inodes: Inodes,
    snapshots: moka::sync::Cache<(Name, u64), Arc<Tree>>,
    contents: moka::sync::Cache<u64, Bytes>,
    source: Box<dyn ContentSource>,
    prime_cache: bool,
    prefetch: std::sync::OnceLock<Prefetch>,
    pub health: Mutex<BTreeMap<String, StreamHealth>>,
    pub started_us: u64,
    pub reads: AtomicU64,
    pub fetches: AtomicU64,
    pub fetch_errors: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new(source: Box<dyn ContentSource>, cache_bytes: u64, prime_cache: bool) -> Shared {
        Shared {
            model: RwLock::new(Model::default()),
            inodes: Inodes::new(),
            // A snapshot is a full tree; a handful covers anyone browsing history.
            snapshots: moka::sync::Cache::new(16),
            contents: moka::sync::Cache::builder()
                .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .max_capacity(cache_bytes)
                .build(),
            source,
            prime_cache,
            prefetch: std::sync::OnceLock::new(),
            health: Mutex::new(BTreeMap::new()),
            started_us: lighthouse_schemas::now_us(),
            reads: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            fetch_errors: AtomicU64::new(0),
        }
    }

    fn snapshot_fn(&self) -> impl Fn(&Name, &Project, u64) -> Arc<Tree> + '_ {
        |name, project, seq| {
            self.snapshots
                .get_with((name.clone(), seq), || Arc::new(project.snapshot(seq)))
        }
    }

    fn model(&self) -> std::sync::RwLockReadGuard<'_, Model> {
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lookup(&self, parent: u64, name: &str) -> Option<(u64, Attr)> {
        let parent = self.inodes.node(parent)?;
        let model = self.model();
        let snap = self.snapshot_fn();
        let child = model.lookup(&parent, name, &snap)?;
        let attr = self.attr_of(&model, &child)?;
        Some((self.inodes.intern(child), attr))
    }

    pub fn attr(&self, ino: u64) -> Option<Attr> {
        let node = self.inodes.node(ino)?;
        let model = self.model();
        self.attr_of(&model, &node)
    }

    fn attr_of(&self, model: &Model, node: &Node) -> Option<Attr> {
        let mut attr = model.attr(node, &self.snapshot_fn())?;
        if *node == Node::Status {
            attr.size = self.status_json().len() as u64;
        }
        Some(attr)
    }

    /// Directory entries with their inode numbers.
    pub fn list(&self, ino: u64) -> Option<Vec<(u64, Name, Kind)>> {
        let node = self.inodes.node(ino)?;
        let entries = self.model().list(&node, &self.snapshot_fn())?;
        Some(
            entries
                .into_iter()
                .map(|(name, node, kind)| (self.inodes.intern(node), name, kind))
                .collect(),
        )
    }

    /// Whether a node is a file whose bytes change with time alone (status).
    pub fn is_volatile(&self, ino: u64) -> bool {
        self.inodes.node(ino) == Some(Node::Status)
    }

    /// The whole content of a file node.
    pub fn read(&self, ino: u64) -> Option<Result<Bytes, ContentError>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let node = self.inodes.node(ino)?;
        let source = self.model().source(&node, &self.snapshot_fn())?;
        Some(match source {
            Source::Bytes(b) => Ok(Bytes::copy_from_slice(&b)),
            Source::Status => Ok(Bytes::from(self.status_json())),
            Source::Stream(seq) => self.content(seq),
        })
    }

    /// Content of the `LH_FS` version at `seq`: cached, else fetched and cached.
    pub fn content(&self, seq: u64) -> Result<Bytes, ContentError> {
        if let Some(bytes) = self.contents.get(&seq) {
            return Ok(bytes);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch(seq);
        match &result {
            Ok(bytes) => self.contents.insert(seq, bytes.clone()),
            Err(_) => {
                self.fetch_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    fn fetch(&self, seq: u64) -> Result<Bytes, ContentError> {
        let fail = |source: SourceError| ContentError::Fetch { seq, source };
        let raw = self.source.fetch_message(seq).map_err(fail)?;
        let version: FileVersion =
            decode(&raw).map_err(|source| ContentError::Decode { seq, source })?;
        match version.content {
            FileContent::Inline(bytes) => Ok(Bytes::from(bytes)),
            FileContent::Object { bucket, name } => {
                self.source.fetch_object(&bucket, &name).map_err(fail)
            }
            _ => Err(ContentError::NoContent(seq)),
        }
    }

    /// Starts the read-ahead thread: listing a directory fetches its files' contents
    /// in the background, pipelined, so `grep -r` or `cat *` after a cold start does not
    /// pay one round trip per file in turn.
    pub fn start_prefetch(self: &Arc<Self>) -> std::io::Result<()> {
        // A few directories queued is plenty; more are dropped, not waited for.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u64>>(4);
        let shared = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("lh-prefetch".into())
            .spawn(move || {
                while let Ok(seqs) = rx.recv() {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    let missing: Vec<u64> = seqs
                        .into_iter()
                        .filter(|s| !shared.contents.contains_key(s))
                        .collect();
                    for (seq, raw) in shared.source.fetch_messages(&missing) {
                        let Ok(raw) = raw else { continue };
                        if let Ok(FileVersion {
                            content: FileContent::Inline(bytes),
                            ..
                        }) = decode::<FileVersion>(&raw)
                        {
                            shared.contents.insert(seq, Bytes::from(bytes));
                        }
                    }
                }
            })?;
        let _ = self.prefetch.set(tx);
        Ok(())
    }

    /// Asks the read-ahead thread for the contents of the files directly in directory
    /// `ino` that are not cached, up to a quarter of the cache.
    pub fn prefetch_dir(&self, ino: u64) {
        let Some(tx) = self.prefetch.get() else {
            return;
        };
        let Some(node) = self.inodes.node(ino) else {
            return;
        };
        let budget = self.contents.policy().max_capacity().unwrap_or(0) / 4;
        let seqs = {
            let model = self.model();
            let snap = self.snapshot_fn();
            let (tree, dir): (Arc<Tree>, Name) = match &node {
                Node::Current(p, dir) => match model.projects.get(p) {
                    // Cloning the tree would cost more than the lookups it saves.
                    Some(project) => {
                        return self.request_prefetch(tx, &project.current, dir, budget);
                    }
                    None => return,
                },
                Node::Snapshot(p, s, dir) => match model.projects.get(p) {
                    Some(project) => (snap(p, project, s.seq), dir.clone()),
                    None => return,
                },
                _ => return,
            };
            collect_prefetch(&tree, &dir, budget, &self.contents)
        };
        if !seqs.is_empty() {
            let _ = tx.try_send(seqs);
        }
    }

    fn request_prefetch(&self, tx: &Prefetch, tree: &Tree, dir: &str, budget: u64) {
        let seqs = collect_prefetch(tree, dir, budget, &self.contents);
        if !seqs.is_empty() {
            let _ = tx.try_send(seqs);
        }
    }

    /// Keeps content that a follower already holds (it came with the message), so the
    /// first read after a rebuild does not go back to the server.
    pub fn prime(&self, seq: u64, bytes: Bytes) {
        if self.prime_cache {
            self.contents.insert(seq, bytes);
        }
    }

    /// Applies a model change and returns the inode-level invalidations.
    pub fn apply<F, T>(&self, change: F) -> T
    where
        F: FnOnce(&mut Model) -> T,
    {
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        change(&mut model)
    }

    pub fn set_health(&self, stream: &str, update: impl FnOnce(&mut StreamHealth)) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        update(health.entry(stream.to_owned()).or_default());
    }

    /// `.status.json`: lag per stream and counters.
    pub fn status_json(&self) -> Vec<u8> {
        let health = self
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let lag: u64 = health
            .values()
            .map(|h| h.stream_last_seq.saturating_sub(h.applied_seq))
            .sum();
        let (projects, files) = {
            let model = self.model();
            (
                model.projects.len(),
                model
                    .projects
                    .values()
                    .map(|p| p.current.file_count())
                    .sum::<usize>(),
            )
        };
        let status = serde_json::json!({
            "healthy": health.values().all(|h| h.last_error.is_none()),
            "lag_messages": lag,
            "streams": health,
            "projects": projects,
            "current_files": files,
            "inodes": self.inodes.len(),
            "cached_contents": self.contents.entry_count(),
            "cached_bytes": self.contents.weighted_size(),
            "reads": self.reads.load(Ordering::Relaxed),
            "fetches": self.fetches.load(Ordering::Relaxed),
            "fetch_errors": self.fetch_errors.load(Ordering::Relaxed),
            "started_us": self.started_us,
            "now_us": lighthouse_schemas::now_us(),
        });
        let mut out = serde_json::to_vec_pretty(&status).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{Envelope, encode};
    use std::collections::HashMap;

    /// Messages by sequence, counting how often each is fetched.
    struct Fake {
        messages: HashMap<u64, Vec<u8>>,
        fetched: Mutex<Vec<u64>>,
    }

    impl ContentSource for Arc<Fake> {
        fn fetch_message(&self, seq: u64) -> Result<Bytes, SourceError> {
            self.fetched.lock().unwrap().push(seq);
            self.messages
                .get(&seq)
                .map(|m| Bytes::from(m.clone()))
                .ok_or(SourceError::NotFound)
        }
        fn fetch_object(&self, _: &str, _: &str) -> Result<Bytes, SourceError> {
            Err(SourceError::NotFound)
        }
    }

    fn version(path: &str, text: &str) -> FileVersion {
        FileVersion {
            env: Envelope::new(path, 1, "demo", "a", "c"),
            path: path.into(),
            content: FileContent::Inline(text.as_bytes().to_vec()),
            sha256: String::new(),
            size: text.len() as u64,
            mtime_us: 1,
            executable: false,
            tool: "Write".into(),
            tool_use_id: None,
        }
    }

    fn setup(prime: bool) -> (Arc<Shared>, Arc<Fake>) {
        let versions = [(1, version("a.txt", "one")), (2, version("a.txt", "two!"))];
        let fake = Arc::new(Fake {
            messages: versions
                .iter()
                .map(|(s, v)| (*s, encode(v).unwrap()))
                .collect(),
            fetched: Mutex::new(Vec::new()),
        });
        let shared = Arc::new(Shared::new(Box::new(fake.clone()), 1 << 20, prime));
        for (seq, v) in versions {
            shared.apply(|m| m.apply_file(seq, seq, &v)).unwrap();
            if let FileContent::Inline(b) = v.content {
                shared.prime(seq, Bytes::from(b));
            }
        }
        (shared, fake)
    }

    fn ino(shared: &Shared, path: &[&str]) -> u64 {
        path.iter()
            .try_fold(1, |parent, name| {
                shared.lookup(parent, name).map(|(i, _)| i)
            })
            .unwrap()
    }

    #[test]
    fn contents_are_fetched_by_sequence_once_then_cached() {
        let (shared, fake) = setup(false);
        let current = ino(&shared, &["demo", "current", "a.txt"]);
        let old = ino(&shared, &["demo", "history", "1", "a.txt"]);
        assert_eq!(shared.attr(current).unwrap().size, 4);
        assert_eq!(&shared.read(current).unwrap().unwrap()[..], b"two!");
        assert_eq!(&shared.read(old).unwrap().unwrap()[..], b"one");
        assert_eq!(&shared.read(current).unwrap().unwrap()[..], b"two!");
        assert_eq!(*fake.fetched.lock().unwrap(), [2, 1]);
        // Inode numbers are stable.
        assert_eq!(ino(&shared, &["demo", "current", "a.txt"]), current);
    }

    #[test]
    fn primed_contents_need_no_fetch_and_read_ahead_fills_the_cache() {
        let (shared, fake) = setup(true);
        let current = ino(&shared, &["demo", "current", "a.txt"]);
        assert_eq!(&shared.read(current).unwrap().unwrap()[..], b"two!");
        assert!(fake.fetched.lock().unwrap().is_empty());

        let (shared, fake) = setup(false);
        shared.start_prefetch().unwrap();
        let dir = ino(&shared, &["demo", "current"]);
        shared.prefetch_dir(dir);
        for _ in 0..500 {
            if !fake.fetched.lock().unwrap().is_empty() && shared.contents.contains_key(&2) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(*fake.fetched.lock().unwrap(), [2]);
        let file = ino(&shared, &["demo", "current", "a.txt"]);
        assert_eq!(&shared.read(file).unwrap().unwrap()[..], b"two!");
        assert_eq!(
            fake.fetched.lock().unwrap().len(),
            1,
            "served from the cache"
        );
    }

    #[test]
    fn status_reports_lag() {
        let (shared, _) = setup(true);
        shared.set_health("LH_FS", |h| {
            h.exists = true;
            h.applied_seq = 2;
            h.stream_last_seq = 5;
        });
        let status: serde_json::Value = serde_json::from_slice(&shared.status_json()).unwrap();
        assert_eq!(status["lag_messages"], 3);
        assert_eq!(status["current_files"], 1);
        let file = ino(&shared, &[crate::model::STATUS_FILE]);
        assert!(shared.is_volatile(file));
    }
}
