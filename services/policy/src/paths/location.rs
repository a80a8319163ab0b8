//! A path's one *location* (root, system, home, home_sub, project, temp, outside), from
//! where it lies relative to the project, the home directory and the system's directories.
//! Separate from its *attributes* ([`super::attributes`](mod@super::attributes)).

use super::Classes;
use super::normal::under;

const SYSTEM_DIRS: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "srv",
    "sys",
    "usr",
    "var",
    "home",
    "Users",
    "System",
    "Library",
    "Applications",
    "private",
    "nix",
    "snap",
    "mnt",
    "media",
    "lost+found",
    "tmp",
    "Volumes",
    "cores",
];

/// `cwd_n` is `cwd` normalised.
pub(super) fn location(path: &str, home: &str, cwd: &str, cwd_n: &str, contents: bool) -> Classes {
    let c = location_of(path, home, cwd, cwd_n, contents);
    // A directory that contains the project is as precious as the project root.
    if cwd_n != "/" && cwd_n != home && path != cwd_n && under(cwd_n, path) {
        return c | Classes::PROJECT_ROOT;
    }
    c
}

fn location_of(path: &str, home: &str, cwd: &str, cwd_n: &str, contents: bool) -> Classes {
    if path == "/" {
        return Classes::ROOT;
    }
    if path == home {
        return Classes::HOME;
    }
    // Another user's home directory is as precious as ours.
    if let Some(rest) = path
        .strip_prefix("/home/")
        .or_else(|| path.strip_prefix("/Users/"))
        && !rest.is_empty()
        && !rest.contains('/')
    {
        return Classes::HOME;
    }
    if path.starts_with("/dev/") {
        // Devices are classed by attribute (device, dev_null, net_device) alone.
        return Classes::empty();
    }
    let project = cwd_n != "/" && cwd_n != home && cwd.starts_with('/');
    if project
        && matches!(
            path.strip_prefix(cwd_n),
            Some("/.git" | "/.git/objects" | "/.git/refs")
        )
    {
        // The project's history (the repository, or its object store or refs, without
        // which it is nothing): deleting it loses the whole project's past.
        return Classes::PROJECT | Classes::PROJECT_ROOT;
    }
    if project && under(path, cwd_n) {
        // `.` and `./*` both mean the whole project.
        return if path == cwd_n {
            Classes::PROJECT | Classes::PROJECT_ROOT
        } else {
            Classes::PROJECT
        };
    }
    if under(path, home) {
        return Classes::HOME_SUB;
    }
    for t in ["/tmp", "/var/tmp", "/private/tmp", "/dev/shm"] {
        if path != t && under(path, t) {
            return Classes::TEMP;
        }
    }
    let top = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let depth = path.trim_start_matches('/').split('/').count();
    if SYSTEM_DIRS.contains(&top) {
        // Other users' homes and mounted volumes are someone else's data, not the OS.
        if matches!(top, "home" | "Users" | "mnt" | "media" | "Volumes") && depth >= 2 {
            return Classes::OUTSIDE;
        }
        // An application's directory under /opt or /srv is its own, not the system's
        // (deleting /opt/app/cache is outside the project: E4, not D1).
        if matches!(top, "opt" | "srv") && depth >= 2 {
            return Classes::OUTSIDE;
        }
        if depth == 1 || contents && depth == 2 {
            return Classes::SYSTEM | Classes::SYSTEM_TOP;
        }
        return Classes::SYSTEM;
    }
    // Unknown top-level directories are still part of the system's skeleton.
    if depth == 1 {
        return Classes::SYSTEM | Classes::SYSTEM_TOP;
    }
    Classes::OUTSIDE
}
