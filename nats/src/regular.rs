//! Opening files the agent can reach (the project's policy, the hook's start log, the
//! state `up` leaves: `up.json`, the identities and their public keys) only when they
//! are regular files. The agent can plant a FIFO there, and opening or reading one
//! blocks: a hook would then answer only when its watchdog fires, later than a client's
//! own timeout. So the open never blocks, and what was opened is checked, not the path
//! beforehand (which could change between the check and the open).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The most [`read`] takes from one file: the state and identity files it serves are a
/// few hundred bytes.
pub const MAX_READ: u64 = 1024 * 1024;

/// The whole of `path`, if it is a regular file (or a symlink to one) of at most
/// [`MAX_READ`] bytes; a missing file is `NotFound`, as from `std::fs::read`.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path, OpenOptions::new().read(true))?
        .take(MAX_READ + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_READ {
        return Err(io::Error::other(format!(
            "{} is over {MAX_READ} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Opens `path` with `options` if it is a regular file or a symlink to one; anything
/// else (a FIFO, a device, a directory) is an error naming the path and the remedy.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    open_with(path, options, libc::O_NONBLOCK)
}

/// As [`open`], but a symlink is refused too: for files the hook writes, which a link
/// could redirect to one of the user's own (appending to `~/.bashrc`, say).
pub fn open_unlinked(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    open_with(path, options, libc::O_NONBLOCK | libc::O_NOFOLLOW)
}

fn open_with(path: &Path, options: &mut OpenOptions, flags: i32) -> io::Result<File> {
    let file = options
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink; O_NONBLOCK on a FIFO with no reader (for writing).
            Some(libc::ELOOP | libc::ENXIO) => not_a_file(path),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(not_a_file(path));
    }
    Ok(file)
}

fn not_a_file(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is not a regular file; remove it (Lighthouse only reads and writes plain files there)",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_only() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.read(true);
        options
    }

    #[test]
    fn a_regular_file_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        assert!(open(&path, &mut read_only()).is_ok());
    }

    /// A FIFO or a directory is refused at once, for reading and for appending; a
    /// symlink to a file opens, except where links are refused.
    #[test]
    fn anything_else_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let refused =
            |r: io::Result<File>| r.unwrap_err().to_string().contains("not a regular file");
        assert!(refused(open(&fifo, &mut read_only())));
        assert!(refused(open(dir.path(), &mut read_only())));
        assert!(refused(open_unlinked(
            &fifo,
            OpenOptions::new().append(true).create(true)
        )));
        assert!(refused(open_unlinked(
            &link,
            OpenOptions::new().append(true)
        )));
        assert!(open(&link, &mut read_only()).is_ok());
    }

    #[test]
    fn read_takes_a_regular_file_whole_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("up.json");
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "{}");
        let missing = read(&dir.path().join("none")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        assert!(
            read(&fifo)
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; MAX_READ as usize + 1]).unwrap();
        assert!(read(&big).is_err());
    }
}
