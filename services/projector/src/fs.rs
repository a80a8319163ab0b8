//! The thin `fuser::Filesystem` adapter: every call goes to [`Shared`], which answers
//! from the pure model; this file only translates to and from the kernel's types.
//!
//! Caching: attributes and entries are given long TTLs because every change is pushed
//! to the kernel as an invalidation ([`invalidate`]); `open` and `opendir` answer
//! ENOSYS, the kernel's no-open mode: no OPEN/RELEASE round trips, and file pages and
//! directory listings stay cached between opens until invalidated. Things that change
//! without an event (`.status.json`, `@<time>` snapshots) get short or no TTLs.

use crate::model::{Attr, Inval, Kind};
use crate::view::Shared;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, Generation, INodeNo, LockOwner, Notifier,
    OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen,
    ReplyXattr, Request,
};
use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// TTL for anything whose changes are invalidated explicitly.
const LONG_TTL: Duration = Duration::from_secs(3600);
/// TTL for views that move with the clock (`@<time>`).
const SHORT_TTL: Duration = Duration::from_secs(1);

/// The mounted view.
pub struct LighthouseFs {
    shared: Arc<Shared>,
    uid: u32,
    gid: u32,
}

impl LighthouseFs {
    pub fn new(shared: Arc<Shared>) -> LighthouseFs {
        // The mounting user owns everything (`ls -l` looks right); permissions are
        // read-only anyway.
        let (uid, gid) = std::fs::metadata("/proc/self")
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.uid(), m.gid())
            })
            .unwrap_or((0, 0));
        LighthouseFs { shared, uid, gid }
    }

    fn file_attr(&self, ino: u64, attr: &Attr) -> FileAttr {
        let time = UNIX_EPOCH + Duration::from_micros(attr.mtime_us);
        let (kind, perm, nlink) = match attr.kind {
            Kind::Dir => (FileType::Directory, 0o555, 2),
            Kind::File if attr.executable => (FileType::RegularFile, 0o555, 1),
            Kind::File => (FileType::RegularFile, 0o444, 1),
        };
        FileAttr {
            ino: INodeNo(ino),
            size: attr.size,
            blocks: attr.size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        }
    }

    fn ttl(&self, ino: u64, attr: &Attr) -> Duration {
        if self.shared.is_volatile(ino) {
            Duration::ZERO
        } else if attr.cacheable {
            LONG_TTL
        } else {
            SHORT_TTL
        }
    }
}

fn kind(k: Kind) -> FileType {
    match k {
        Kind::Dir => FileType::Directory,
        Kind::File => FileType::RegularFile,
    }
}

impl Filesystem for LighthouseFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str() else {
            return reply.error(Errno::ENOENT);
        };
        match self.shared.lookup(parent.0, name) {
            Some((ino, attr)) => reply.entry(
                &self.ttl(ino, &attr),
                &self.file_attr(ino, &attr),
                Generation(0),
            ),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.shared.attr(ino.0) {
            Some(attr) => reply.attr(&self.ttl(ino.0, &attr), &self.file_attr(ino.0, &attr)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, _ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            // The mount is read-only, so the kernel refuses these first; kept as a
            // second line.
            return reply.error(Errno::EROFS);
        }
        // ENOSYS is the kernel's "no-open" protocol: every later open succeeds without
        // a round trip and behaves as FOPEN_KEEP_CACHE, and no RELEASE follows. Pages
        // stay cached across opens; a change drops them through `inval_inode`, and the
        // status file (TTL 0, mtime = now) is re-read because its mtime always moves.
        reply.error(Errno::ENOSYS);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.shared.read(ino.0) {
            Some(Ok(bytes)) => {
                let start = (offset as usize).min(bytes.len());
                let end = start.saturating_add(size as usize).min(bytes.len());
                reply.data(&bytes[start..end]);
            }
            Some(Err(e)) => {
                tracing::warn!(ino = ino.0, error = %e, "read_failed");
                reply.error(Errno::EIO);
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: fuser::ReplyEmpty,
    ) {
        // Nothing is ever written, so there is nothing to flush. ENOSYS (unlike the
        // default, without a log line) makes the kernel stop sending FLUSH on every
        // close: one round trip less per file that grep or cat opens.
        reply.error(Errno::ENOSYS);
    }

    fn lseek(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: i64,
        _whence: i32,
        reply: fuser::ReplyLseek,
    ) {
        // Files have no holes; ENOSYS lets the kernel answer SEEK_DATA/SEEK_HOLE itself
        // from now on (the default does the same, with a warning per mount).
        reply.error(Errno::ENOSYS);
    }

    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        // No extended attributes. ENOSYS (unlike the default, without a multi-line
        // warning per `ls`) makes the kernel answer every later getxattr itself
        // (EOPNOTSUPP): `ls -l` asks for security.selinux and ACLs on each file.
        reply.error(Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: ReplyXattr) {
        // As getxattr: none, answered by the kernel from now on.
        reply.error(Errno::ENOSYS);
    }

    fn opendir(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        // ENOSYS again selects the kernel's no-opendir mode: no OPENDIR/RELEASEDIR round
        // trips, and listings cached as if FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE were set,
        // dropped by `inval_inode` on the directory. `@<time>` directories are safe too:
        // when the name resolves differently it is a different inode.
        reply.error(Errno::ENOSYS);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        // The kernel caches the listing, so this runs once per directory (per
        // change), in as many calls as the listing needs buffers.
        let Some(listing) = self.shared.list(ino.0) else {
            return reply.error(Errno::ENOTDIR);
        };
        if offset == 0 {
            // Whoever lists a directory is about to read its files.
            self.shared.prefetch_dir(ino.0);
        }
        // Offsets: 1 = after ".", 2 = after "..", 3 + i = after entry i.
        let mut next = offset;
        if next == 0 {
            if reply.add(ino, 1, FileType::Directory, ".") {
                return reply.ok();
            }
            next = 1;
        }
        if next == 1 {
            // The kernel fills in the real parent for "..".
            if reply.add(ino, 2, FileType::Directory, "..") {
                return reply.ok();
            }
            next = 2;
        }
        for (i, (child, name, k)) in listing.iter().enumerate().skip((next - 2) as usize) {
            if reply.add(INodeNo(*child), 3 + i as u64, kind(*k), name.as_ref()) {
                break;
            }
        }
        reply.ok();
    }
}

/// Pushes model changes to the kernel until the channel closes. Runs on its own thread:
/// a notification is a blocking write to `/dev/fuse`, and must never be made from a
/// thread that is serving a FUSE request.
pub fn invalidate(
    shared: Arc<Shared>,
    notifier: Notifier,
    changes: std::sync::mpsc::Receiver<Vec<Inval>>,
) {
    while let Ok(batch) = changes.recv() {
        for inval in batch {
            // Nodes the kernel never saw have nothing cached.
            let result = match &inval {
                Inval::Node(node) => match shared.inodes.get(node) {
                    Some(ino) => notifier.inval_inode(INodeNo(ino), 0, 0),
                    None => Ok(()),
                },
                Inval::Entry(parent, name) => match shared.inodes.get(parent) {
                    Some(ino) => notifier.inval_entry(INodeNo(ino), OsStr::new(name.as_ref())),
                    None => Ok(()),
                },
            };
            // ENOENT: the kernel had nothing cached for it; anything else is worth a note.
            if let Err(e) = result
                && e.raw_os_error() != Some(2)
            {
                tracing::debug!(error = %e, ?inval, "invalidation_failed");
            }
        }
    }
}
