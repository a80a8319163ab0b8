//! Which project a directory belongs to: the one resolver behind the hook's commands,
//! file events, annotations, `sync` and `policy push`.
//!
//! Paths are canonicalised first (symlinks resolved), so a command run from a symlinked
//! directory, a file event for a file in it and an annotation on that file all name the
//! same project: the name is the real root directory's name, never a link's.

use std::path::{Path, PathBuf};

/// How far up a project root is searched for.
const MAX_DEPTH: usize = 64;

/// `path` with symlinks resolved and relative to the current directory made absolute.
/// A path that does not exist (yet) resolves through its nearest existing ancestor, the
/// missing tail appended as given; without any (unlikely), the lexical absolute path.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut tail = Vec::new();
    let mut current = absolute.as_path();
    while let Some(parent) = current.parent() {
        if let Some(name) = current.file_name() {
            tail.push(name.to_owned());
        }
        if let Ok(resolved) = parent.canonicalize() {
            return tail.iter().rev().fold(resolved, |p, n| p.join(n));
        }
        current = parent;
    }
    absolute
}

/// The project root of `dir`: the nearest enclosing directory (after [`canonical`])
/// holding `.git` or `.lighthouse`, else that directory itself.
pub fn root(dir: &Path) -> PathBuf {
    let dir = canonical(dir);
    dir.ancestors()
        .take(MAX_DEPTH)
        .find(|d| d.join(".git").exists() || d.join(".lighthouse").is_dir())
        .unwrap_or(&dir)
        .to_path_buf()
}

/// The branch checked out in the git repository `dir` lies in (`main`), from its `HEAD`
/// (through a worktree's or submodule's `.git` file); `None` outside a repository, on a
/// detached HEAD, or when it cannot be read. Plain files only (the agent can put a FIFO
/// there), each read bounded.
pub fn git_branch(dir: &Path) -> Option<String> {
    let dir = canonical(dir);
    let top = dir
        .ancestors()
        .take(MAX_DEPTH)
        .find(|d| d.join(".git").exists())?;
    let dot_git = top.join(".git");
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        let link = lighthouse_nats::regular::read_to_string(&dot_git).ok()?;
        top.join(link.lines().next()?.strip_prefix("gitdir:")?.trim())
    };
    let head = lighthouse_nats::regular::read_to_string(&git_dir.join("HEAD")).ok()?;
    let name = head
        .lines()
        .next()?
        .strip_prefix("ref:")?
        .trim()
        .strip_prefix("refs/heads/")?;
    (!name.is_empty() && name.len() <= 255).then(|| name.to_owned())
}

/// The name of the project rooted at `root`: `configured` when set, else the root's
/// directory name (`root` for `/`).
pub fn name(root: &Path, configured: Option<&str>) -> String {
    if let Some(name) = configured {
        return name.to_owned();
    }
    root.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_owned())
}

/// The name of the project `dir` belongs to: `name(&root(dir), configured)`.
pub fn name_of(dir: &Path, configured: Option<&str>) -> String {
    if let Some(name) = configured {
        return name.to_owned();
    }
    name(&root(dir), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_nearest_marked_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("my-repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        let real = repo.canonicalize().unwrap();
        assert_eq!(root(&repo.join("src/deep")), real);
        assert_eq!(name_of(&repo.join("src/deep"), None), "my-repo");
        assert_eq!(name_of(&repo.join("src/deep"), Some("named")), "named");
        // A `.lighthouse` directory marks a root too, the nearest one wins.
        std::fs::create_dir_all(repo.join("src/.lighthouse")).unwrap();
        assert_eq!(name_of(&repo.join("src/deep"), None), "src");
    }

    #[test]
    fn a_symlinked_directory_names_the_real_project() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("real-repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&repo, &link).unwrap();
        assert_eq!(name_of(&link, None), "real-repo");
        assert_eq!(name_of(&link.join("src"), None), "real-repo");
        assert_eq!(root(&link.join("src")), repo.canonicalize().unwrap());
    }

    #[test]
    fn a_missing_path_resolves_through_its_existing_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(
            canonical(&link.join("gone/file.rs")),
            real.join("gone/file.rs")
        );
        assert_eq!(canonical(&link), real);
    }

    #[test]
    fn the_branch_is_read_from_head_as_git_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .map(|o| o.status.success());
            assert!(matches!(ok, Ok(true)), "git {args:?}");
        };
        git(&["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        assert_eq!(git_branch(&dir.path().join("src")).as_deref(), Some("main"));
        git(&[
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ]);
        git(&["checkout", "-q", "-b", "feature/x"]);
        assert_eq!(git_branch(dir.path()).as_deref(), Some("feature/x"));
        // A worktree's `.git` is a file naming its own HEAD.
        let wt = dir.path().join("wt");
        git(&[
            "worktree",
            "add",
            "-q",
            "-b",
            "release/1",
            wt.to_str().unwrap(),
        ]);
        assert_eq!(git_branch(&wt).as_deref(), Some("release/1"));
        git(&["checkout", "-q", "--detach"]);
        assert_eq!(git_branch(dir.path()), None);
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(git_branch(outside.path()), None);
    }
}
