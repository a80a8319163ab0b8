//! The hook starts once per tool call, so its binary is linked to start with as little
//! work as possible (GNU toolchains on Linux; elsewhere the defaults stand):
//!
//! - position-dependent (`-no-pie`): no run-time relocations to apply (a PIE build
//!   spent about a third of its start touching every relocated page);
//! - static, when the C library's static archives are installed: no dynamic loader
//!   (mapping glibc, libm and libgcc_s and resolving their symbols was about 1 ms of a
//!   relayed call's 3.6 ms of CPU). rustc names `gcc_s`, `c`, `m` … for a dynamic
//!   link; a directory searched before the system's holds only their static archives
//!   (`libgcc_eh.a` stands in for `libgcc_s`, as in rustc's own static builds), so
//!   `-static` finds those. It is passed to this binary alone, never to tests;
//! - otherwise dynamic, binding library symbols on first call, not all at start.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The archives rustc's link line asks for, by the name it uses, and the file that
/// provides each.
const ARCHIVES: &[(&str, &str)] = &[
    ("libgcc_s.a", "libgcc_eh.a"),
    ("libc.a", "libc.a"),
    ("libm.a", "libm.a"),
    ("librt.a", "librt.a"),
    ("libpthread.a", "libpthread.a"),
    ("libdl.a", "libdl.a"),
    ("libutil.a", "libutil.a"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIGHTHOUSE_HOOK_DYNAMIC");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os != "linux" || target_env != "gnu" {
        return;
    }
    let link = |arg: &str| println!("cargo:rustc-link-arg-bin=lighthouse-hook={arg}");
    link("-no-pie");
    let out = std::env::var_os("OUT_DIR").map(PathBuf::from);
    let wanted = std::env::var_os("LIGHTHOUSE_HOOK_DYNAMIC").is_none();
    match out
        .filter(|_| wanted)
        .and_then(|out| static_archives(&out.join("static-libs")))
    {
        Some(dir) => {
            link(&format!("-L{}", dir.display()));
            link("-static");
        }
        None => link("-Wl,-z,lazy"),
    }
}

/// A directory holding every archive in [`ARCHIVES`] under rustc's names, or `None`
/// when the C compiler does not have one of them (then the link stays dynamic).
fn static_archives(dir: &Path) -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).ok()?;
    for (name, file) in ARCHIVES {
        let printed = Command::new(&cc)
            .arg(format!("-print-file-name={file}"))
            .output()
            .ok()?;
        // The compiler prints the bare name back when it has no such file.
        let found = PathBuf::from(String::from_utf8(printed.stdout).ok()?.trim());
        if !found.is_absolute() || !found.is_file() {
            println!(
                "cargo:warning={cc} has no {file}, so lighthouse-hook is linked dynamically \
                 (slower to start); install the C library's static archives (Debian: \
                 libc6-dev) for a static hook"
            );
            return None;
        }
        std::os::unix::fs::symlink(&found, dir.join(name)).ok()?;
    }
    Some(dir.to_owned())
}
