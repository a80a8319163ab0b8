//! Mount-point housekeeping: a FUSE process that was killed leaves its mount behind
//! ("Transport endpoint is not connected"); it is cleared before mounting again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(b) = bytes
                .get(i + 1..i + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        {
            out.push(b);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points listed in `/proc/self/mountinfo` text.
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|f| PathBuf::from(unescape(f)))
        .collect()
}

/// Whether something is mounted at `path`.
pub fn is_mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|text| mount_points(&text).iter().any(|p| p == path))
        .unwrap_or(false)
}

/// Absolute form of `path` without touching it (a stale mount cannot be stat'ed).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    }
}

/// Lazily unmounts whatever is mounted at `path` (a stale FUSE mount from a killed
/// projector). Returns whether something was mounted there.
pub fn clear_stale(path: &Path) -> bool {
    let path = absolute(path);
    if !is_mounted(&path) {
        return false;
    }
    tracing::warn!(mount = %path.display(), "stale_mount_cleared");
    detach(&path)
}

/// Lazily unmounts `path` (readers still inside finish; new ones see the directory
/// below). Used at shutdown too: the fusermount3 watchdog that `auto_unmount` starts
/// does not unmount reliably for root, and the session threads only end once the
/// kernel drops the mount.
pub fn detach(path: &Path) -> bool {
    let path = absolute(path);
    for (bin, args) in [("fusermount3", &["-u", "-z"][..]), ("umount", &["-l"][..])] {
        let _ = Command::new(bin)
            .args(args)
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !is_mounted(&path) {
            return true;
        }
    }
    !is_mounted(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        let text = "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - fuse lighthouse rw\n\
                    37 35 98:0 / /proc rw - proc proc rw\n\
                    38 35 98:0 / /x\\é\\04 rw - x x rw\n";
        assert_eq!(
            mount_points(text),
            vec![
                PathBuf::from("/mnt/a b"),
                PathBuf::from("/proc"),
                PathBuf::from("/x\\é\\04")
            ]
        );
    }
}
