//! Path classification: where a path points, relative to the project and the user.
//!
//! A path gets one *location* (root, system, home, home_sub, project, temp, outside) and
//! any number of *attributes* (secret, persistence, guard, device, …). Globs classify as
//! the directory they expand in; text we cannot know ([`DYN`]) classifies as `unknown`
//! *and* as what the path would be if the unknown part were empty, which is the classic
//! way `rm -rf "$DIR/"` becomes `rm -rf /`.

use crate::word::DYN;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// A set of path classes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Classes(u32);

/// Class names as used in policy packs, in bit order.
pub const NAMES: &[&str] = &[
    "root",
    "system",
    "home",
    "home_sub",
    "project",
    "project_root",
    "temp",
    "outside",
    "secret",
    "persistence",
    "guard",
    "device",
    "net_device",
    "dev_null",
    "unknown",
    "system_top",
    "build_output",
    "project_source",
    "ci_config",
    "accounts",
];

impl Classes {
    pub const ROOT: Classes = Classes(1 << 0);
    pub const SYSTEM: Classes = Classes(1 << 1);
    pub const HOME: Classes = Classes(1 << 2);
    pub const HOME_SUB: Classes = Classes(1 << 3);
    pub const PROJECT: Classes = Classes(1 << 4);
    pub const PROJECT_ROOT: Classes = Classes(1 << 5);
    pub const TEMP: Classes = Classes(1 << 6);
    pub const OUTSIDE: Classes = Classes(1 << 7);
    pub const SECRET: Classes = Classes(1 << 8);
    pub const PERSISTENCE: Classes = Classes(1 << 9);
    pub const GUARD: Classes = Classes(1 << 10);
    pub const DEVICE: Classes = Classes(1 << 11);
    pub const NET_DEVICE: Classes = Classes(1 << 12);
    pub const DEV_NULL: Classes = Classes(1 << 13);
    pub const UNKNOWN: Classes = Classes(1 << 14);
    /// A top-level system directory itself (`/etc`, `/usr`), not a file inside it.
    pub const SYSTEM_TOP: Classes = Classes(1 << 15);
    /// Inside a build or cache directory, or a build by-product (`target/`, `*.pyc`).
    pub const BUILD_OUTPUT: Classes = Classes(1 << 16);
    /// Inside the project, below its root, and not a build output: its own source.
    pub const PROJECT_SOURCE: Classes = Classes(1 << 17);
    /// CI/CD and deployment configuration, git hooks: code that runs elsewhere or later.
    pub const CI_CONFIG: Classes = Classes(1 << 18);
    /// Who may log in and as whom: account databases, sudoers, PAM, `authorized_keys`,
    /// the loader's preload list. Also persistence, but any write there is denied.
    pub const ACCOUNTS: Classes = Classes(1 << 19);

    pub fn empty() -> Classes {
        Classes(0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn intersects(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }
    pub fn contains(self, other: Classes) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn union(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }
    /// These classes but `other`'s.
    pub fn without(self, other: Classes) -> Classes {
        Classes(self.0 & !other.0)
    }
    /// Parses a class name as written in packs.
    pub fn from_name(name: &str) -> Option<Classes> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Classes(1 << i))
    }
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Classes {
    type Output = Classes;
    fn bitor(self, rhs: Classes) -> Classes {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Classes {
    fn bitor_assign(&mut self, rhs: Classes) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.names().join("|"))
    }
}

/// Where paths are resolved.
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    pub cwd: &'a str,
    pub home: Option<&'a str>,
}

/// Stands for the home directory when the caller does not know it.
const UNKNOWN_HOME: &str = "/home/~";

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

/// Whether a word is worth classifying as a path (messages and patterns are not).
pub fn looks_like_path(text: &str) -> bool {
    !text.is_empty()
        && !text.contains('\n')
        && !text.contains("://")
        && (!text.contains(char::is_whitespace)
            || text.starts_with('/')
            || text.starts_with('~')
            || text.starts_with("./"))
}

/// Classifies `text` (a shell word after expansion) against `base`.
pub fn classify(text: &str, base: Base<'_>) -> Classes {
    if base.cwd.contains(DYN) && !text.starts_with('/') && !text.starts_with('~') {
        // After `cd $X`, a relative path is as unknown as `$X`.
        let joined = format!("{DYN}/{text}");
        return classify(
            &joined,
            Base {
                cwd: "/",
                home: base.home,
            },
        );
    }
    if text.contains(DYN) {
        let mut c = Classes::UNKNOWN;
        // Worst plausible case: the unknown part expands to nothing.
        let emptied: String = text.chars().filter(|c| *c != DYN).collect();
        if text.starts_with(DYN) {
            // `$X/` or `$X/*` with `$X` empty is the root; `$X/build` is just unknown.
            if emptied.starts_with('/') && emptied.trim_matches(['/', '*', '.']).is_empty() {
                c |= Classes::ROOT;
            }
        } else {
            c |= classify_known(&emptied, base);
            // `/home/$X` could be any home; `~/$X` could be any file in home.
            c |= classify_known(&format!("{}/x", emptied.trim_end_matches('/')), base);
        }
        return c;
    }
    classify_known(text, base)
}

fn classify_known(text: &str, base: Base<'_>) -> Classes {
    let home = base
        .home
        .filter(|h| h.starts_with('/'))
        .unwrap_or(UNKNOWN_HOME);
    let home = home.trim_end_matches('/');
    let home = if home.is_empty() { UNKNOWN_HOME } else { home };
    // Expand `~` and resolve against cwd.
    let abs: Cow<'_, str> = if text == "~" || text.starts_with("~/") {
        Cow::Owned(format!("{home}{}", &text[1..]))
    } else if let Some(rest) = text.strip_prefix('~') {
        // `~user/…`: another user's home.
        let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
        Cow::Owned(if user == "root" {
            format!("/root/{tail}")
        } else {
            format!("/home/{user}/{tail}")
        })
    } else if text.starts_with('/') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{}/{}", base.cwd.trim_end_matches('/'), text))
    };
    // `/proc/self/root/etc/x` is `/etc/x`; `/proc/self/cwd/x` is `x` in the working directory.
    let abs: Cow<'_, str> = match ["/proc/self/root", "/proc/thread-self/root"]
        .iter()
        .find_map(|p| abs.strip_prefix(p))
        .filter(|r| r.is_empty() || r.starts_with('/'))
    {
        Some("") => Cow::Borrowed("/"),
        Some(r) => Cow::Owned(r.to_owned()),
        None => match abs
            .strip_prefix("/proc/self/cwd")
            .filter(|r| r.is_empty() || r.starts_with('/'))
        {
            Some(r) => Cow::Owned(format!("{}{r}", base.cwd.trim_end_matches('/'))),
            None => abs,
        },
    };
    // Globs: `dir/*` is the contents of `dir`, `dir/x*` is something inside it.
    let mut hunted = false;
    let globbed = abs.contains(['*', '?', '[']);
    let (path, contents) = match abs.find(['*', '?', '[']) {
        Some(g) => {
            let dir_end = abs[..g].rfind('/').unwrap_or(0);
            let pattern = abs.get(dir_end + 1..).unwrap_or("");
            let dir = if dir_end == 0 {
                "/"
            } else {
                abs.get(..dir_end).unwrap_or("/")
            };
            let all = pattern.chars().all(|c| matches!(c, '*' | '.' | '/')) || pattern == ".[!.]*";
            if all {
                (normalize(dir), true)
            } else if let Some(name) = crate::secret_glob::secret_name(pattern) {
                // `.en?`, `id_r[s]a`: classified as the secret it can expand to.
                let mut p = normalize(dir).into_owned();
                if !p.ends_with('/') {
                    p.push('/');
                }
                p.push_str(name);
                (Cow::Owned(p), false)
            } else if !pattern.contains(['[', '?', '/']) && pattern.replace('*', "").len() >= 3 {
                // `.env*`, `*.pem`, `id_rsa*`: the name without its stars says what is hunted.
                let mut p = normalize(dir).into_owned();
                if !p.ends_with('/') {
                    p.push('/');
                }
                p.push_str(&pattern.replace('*', ""));
                hunted = ([
                    "secret",
                    "credential",
                    "password",
                    "passwd",
                    "token",
                    "private",
                    "id_rsa",
                    "id_ed25519",
                ]
                .iter()
                .any(|w| pattern.to_ascii_lowercase().contains(w))
                    // `id_*`: every SSH key by its default name.
                    || pattern.starts_with("id_"))
                    // `*secret*.ts`, `*token*_test.go`: source files about secrets
                    // (their names are code, not key material).
                    && !is_source_file_name(pattern);
                (Cow::Owned(p), false)
            } else {
                let mut p = normalize(dir).into_owned();
                if !p.ends_with('/') {
                    p.push('/');
                }
                // `*/.env`, `*/.ssh/id_*`: the names under the first star say what is
                // listed (a star alone stands for any one name).
                if pattern.contains('/') && !pattern.contains('[') {
                    for (i, comp) in pattern.split('/').filter(|c| !c.is_empty()).enumerate() {
                        if i > 0 {
                            p.push('/');
                        }
                        let lit: String =
                            comp.chars().filter(|c| !matches!(c, '*' | '?')).collect();
                        p.push_str(if lit.is_empty() { "x" } else { &lit });
                    }
                } else {
                    p.push('x');
                }
                (Cow::Owned(p), false)
            }
        }
        None => (normalize(&abs), false),
    };
    // Normalised once here rather than in each helper (classification is per word).
    let cwd_n = normalize(base.cwd);
    let mut c = location(&path, home, base.cwd, &cwd_n, contents);
    if c.intersects(Classes::PROJECT) && !c.intersects(Classes::PROJECT_ROOT) {
        let built = if globbed {
            is_build_output(&normalize(&abs))
        } else {
            is_build_output(&path)
        };
        c |= if built {
            Classes::BUILD_OUTPUT
        } else {
            Classes::PROJECT_SOURCE
        };
    }
    // macOS keeps /etc and /var under /private.
    let unprivate = path
        .strip_prefix("/private")
        .filter(|r| r.starts_with("/etc/") || r.starts_with("/var/") || *r == "/etc");
    let mut attrs = attributes(unprivate.unwrap_or(&path), home);
    // Inside the project, certificates (public material) and the throwaway keys of test
    // fixtures are not secrets; any other key file is, wherever it lives (the charter:
    // reading keys escalates).
    if c.intersects(Classes::PROJECT)
        && is_key_extension(&path)
        && (is_certificate(&path) || in_test_fixtures(&path))
    {
        attrs = Classes(attrs.0 & !Classes::SECRET.0);
    }
    // A start-up file's name inside an ordinary project (`docker/.bashrc`,
    // `deploy/crontab`) names a file of the project, not one this machine's shells or cron
    // read; a project kept in a hidden or system directory keeps the attribute.
    if c.intersects(Classes::PROJECT)
        && !c.intersects(Classes::PROJECT_ROOT)
        && attrs.intersects(Classes::PERSISTENCE | Classes::ACCOUNTS)
        && !cwd_n.split('/').any(|d| d.starts_with('.'))
        && ![
            "/etc", "/var", "/usr", "/Library", "/System", "/private", "/root", "/opt",
        ]
        .iter()
        .any(|d| under(&cwd_n, d))
    {
        attrs = Classes(attrs.0 & !(Classes::PERSISTENCE | Classes::ACCOUNTS).0);
    }
    if hunted {
        // A pattern hunting for secrets (`*secret*`, `*credentials*`) names them.
        attrs |= Classes::SECRET;
    }
    c |= attrs;
    c
}

/// A file name that ends in a programming-language source extension (`auth_token.ts`,
/// `*secret*.py`): code and tests, not stored credentials.
fn is_source_file_name(name: &str) -> bool {
    let ext = match name.rsplit_once('.') {
        Some((_, e)) => e.to_ascii_lowercase(),
        None => return false,
    };
    matches!(
        ext.as_str(),
        "rs" | "go"
            | "py"
            | "rb"
            | "ts"
            | "tsx"
            | "js"
            | "jsx"
            | "mjs"
            | "cjs"
            | "java"
            | "kt"
            | "scala"
            | "cs"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "hpp"
            | "swift"
            | "php"
            | "ex"
            | "exs"
            | "vue"
            | "svelte"
            | "dart"
    )
}

/// Lexical normalisation: collapses `.`, `..` and repeated slashes. Most paths are
/// already normal and come back borrowed (this runs for every word classified).
fn normalize(abs: &str) -> Cow<'_, str> {
    let normal = abs == "/"
        || abs.starts_with('/')
            && !abs.ends_with('/')
            && abs[1..]
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
    if normal {
        Cow::Borrowed(abs)
    } else {
        Cow::Owned(collapse(abs))
    }
}

fn collapse(abs: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in abs.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::with_capacity(abs.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A file tool's path written plainly (`.git//config`, `.git/./config`, `src/../x` →
/// `.git/config`, `x`), so rules that read the text see what the classes see. Relative
/// paths stay relative (a leading `..` is kept), `~` stays `~`.
pub fn lexical(p: &str) -> Cow<'_, str> {
    let plain = !p.contains("//")
        && !p
            .split('/')
            .enumerate()
            .any(|(i, s)| s == "." && i > 0 || s == "..")
        && (p.len() < 2 || !p.ends_with('/'));
    if plain || p.is_empty() {
        return Cow::Borrowed(p);
    }
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." && last != "~" => {
                    parts.pop();
                }
                // Above the root is the root; above a relative start stays written.
                _ if absolute => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    Cow::Owned(match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    })
}

fn under(path: &str, dir: &str) -> bool {
    path == dir
        || (path.starts_with(dir)
            && (dir.ends_with('/') || path.as_bytes().get(dir.len()) == Some(&b'/')))
}

/// `cwd_n` is `cwd` normalised.
fn location(path: &str, home: &str, cwd: &str, cwd_n: &str, contents: bool) -> Classes {
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

/// Directories that hold what builds, package managers and test runners produce, and
/// files that are by-products: deleting them loses nothing a rebuild does not restore.
const BUILD_DIRS: &[&str] = &[
    "target",
    "node_modules",
    "dist",
    "build",
    "out",
    ".next",
    ".nuxt",
    ".turbo",
    ".venv",
    "venv",
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    "coverage",
    ".nyc_output",
    "htmlcov",
    ".cache",
    ".parcel-cache",
    ".gradle",
    "storybook-static",
    ".svelte-kit",
    ".angular",
    ".expo",
    ".dart_tool",
    ".eggs",
    "tmp",
    "temp",
    ".tmp",
    "log",
    "logs",
    ".sass-cache",
    ".terraform",
    "bazel-out",
    "bazel-bin",
    "cmake-build-debug",
    "cmake-build-release",
    ".docusaurus",
    ".vercel",
    ".serverless",
    "obj",
    ".webpack",
    ".vite",
    "DerivedData",
    ".build",
    "_build",
    "deps",
    "zig-cache",
    "zig-out",
    "elm-stuff",
    "vendor",
    "Pods",
    ".bundle",
    "bower_components",
    "jspm_packages",
    "output",
    "outputs",
    ".output",
    "artifacts",
    "test-results",
    "playwright-report",
    "allure-results",
    "site",
    "_site",
    ".pnpm-store",
    "cache",
    ".idea",
    ".eslintcache",
    ".stylelintcache",
    ".expo-shared",
    ".nox",
    ".hypothesis",
    "cdk.out",
    ".stack-work",
    "dist-newstyle",
    ".kotlin",
    ".cxx",
    ".swiftpm",
    "xcuserdata",
    ".aws-sam",
    ".wrangler",
    ".astro",
    ".jekyll-cache",
    "wheelhouse",
    ".pdm-build",
    ".benchmarks",
];

/// Lockfiles: tracked, but what a package manager writes and rewrites on the next
/// install (`rm -rf node_modules package-lock.json && npm install`).
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "bun.lock",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "pdm.lock",
    "Gemfile.lock",
    "composer.lock",
    "Cargo.lock",
    "go.sum",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "packages.lock.json",
];

const BUILD_EXTENSIONS: &[&str] = &[
    ".pyc",
    ".pyo",
    ".o",
    ".obj",
    ".a",
    ".so",
    ".dylib",
    ".class",
    ".log",
    ".tmp",
    ".orig",
    ".rej",
    ".bak",
    ".swp",
    ".swo",
    ".DS_Store",
    ".egg-info",
    ".tsbuildinfo",
    ".map",
    ".d",
    ".rs.bk",
    ".coverage",
];

/// Whether `path` is a `bin` directory named together with its sibling `obj` (`rm -rf
/// bin obj`, `src/App/bin src/App/obj`): the two output directories of a .NET build. A
/// `bin` on its own may hold the project's scripts and stays source.
pub fn dotnet_bin(path: &str, together: &[&str]) -> bool {
    let trimmed = path.trim_end_matches('/');
    let Some(dir) = trimmed.strip_suffix("bin") else {
        return false;
    };
    if !(dir.is_empty() || dir.ends_with('/')) {
        return false;
    }
    together
        .iter()
        .any(|t| t.trim_end_matches('/').strip_suffix("obj") == Some(dir))
}

/// Whether an absolute path lies in a build/cache directory or names a by-product.
fn is_build_output(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("");
    // A set: every component of every classified path is looked up.
    static DIRS: LazyLock<HashSet<&str>> = LazyLock::new(|| BUILD_DIRS.iter().copied().collect());
    path.split('/')
        .any(|c| DIRS.contains(c) || c.ends_with(".egg-info"))
        || BUILD_EXTENSIONS.iter().any(|e| base.ends_with(e))
        || base == ".DS_Store"
        || base == "[empty]"
        || LOCKFILES.contains(&base)
}

/// A certificate or signing request by its name (`server.crt`, `cert.pem`, `ca.pem`,
/// `fullchain.pem`): public halves, not keys.
fn is_certificate(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    base.ends_with(".crt")
        || base.ends_with(".csr")
        || base.contains("cert")
        || base.contains("chain")
        || ["ca.", "ca-", "ca_"].iter().any(|p| base.starts_with(p))
}

/// Under a test or fixture directory of the project, where keys are made up for tests.
fn in_test_fixtures(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "test",
        "tests",
        "testdata",
        "test_data",
        "test-data",
        "fixtures",
        "__fixtures__",
        "spec",
        "testing",
    ];
    path.split('/').any(|c| DIRS.contains(&c))
}

fn is_key_extension(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("");
    [
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        ".ppk",
        ".crt",
        ".csr",
    ]
    .iter()
    .any(|e| base.ends_with(e))
        && !path.split('/').any(|s| s == ".ssh")
}

/// Deployment configuration and scripts: a file under a `deploy…`/`deployment(s)`
/// directory, a script named `deploy…` (`scripts/deploy.js`, `config/deploy.rb`), a
/// chart's or manifest directory's YAML.
/// Not documentation about deploying (`docs/deployment/kubernetes.md`), and not an
/// app's own code that only has the word in its name (`app/models/deployment.rb`,
/// `src/commands/deploy.ts`).
fn is_deploy_file(comps: &[&str], base: &str) -> bool {
    let deploy_word = |s: &str| {
        matches!(s, "deployment" | "deployments" | ".deploy")
            || s.strip_prefix("deploy")
                .is_some_and(|r| r.is_empty() || r.starts_with(['-', '_']))
    };
    let (dirs, _) = comps.split_at(comps.len().saturating_sub(1));
    let in_dir = dirs.iter().any(|d| deploy_word(d));
    let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let script = base.starts_with("deploy")
        && matches!(
            ext.as_deref(),
            Some(
                "sh" | "bash" | "ps1" | "yml" | "yaml" | "py" | "rb" | "js" | "ts" | "mjs" | "cjs"
            )
        );
    // The name alone, without an extension (`bin/deploy`, a `deploy/` directory); not
    // `deploy_key`, which is a key.
    let named = matches!(base, "deploy" | "deployment" | "deployments" | ".deploy");
    // Helm charts and Kubernetes manifests (`chart/values-staging.yaml`, `k8s/*.yaml`).
    let manifests = matches!(ext.as_deref(), Some("yaml" | "yml" | "tpl"))
        && dirs.iter().any(|d| {
            matches!(
                *d,
                "chart" | "charts" | "helm" | "k8s" | "kubernetes" | "manifests" | "kustomize"
            )
        });
    if !(in_dir || script || named || manifests) {
        return false;
    }
    let doc = matches!(
        ext.as_deref(),
        Some("md" | "markdown" | "rst" | "txt" | "adoc" | "asciidoc" | "png" | "svg" | "jpg")
    );
    const SOURCE_TREES: &[&str] = &[
        "src",
        "app",
        "lib",
        "pkg",
        "internal",
        "cmd",
        "components",
        "models",
        "controllers",
    ];
    let app_code = is_source_file_name(base) && dirs.iter().any(|d| SOURCE_TREES.contains(d));
    !doc && !app_code
}

/// System-wide agent settings (managed policies) and Lighthouse's own installation:
/// its state, data, logs and packs.
fn system_guard_dir(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "/etc/claude-code",
        "/etc/gemini-cli",
        "/etc/codex",
        "/Library/Application Support/ClaudeCode",
        "/Library/Application Support/GeminiCli",
        "/var/lib/lighthouse",
        "/var/log/lighthouse",
        "/var/cache/lighthouse",
        "/opt/lighthouse",
        "/usr/share/lighthouse",
        "/usr/local/share/lighthouse",
        "/usr/local/lib/lighthouse",
    ];
    let top = path.split('/').nth(1).unwrap_or("");
    matches!(top, "etc" | "var" | "opt" | "usr" | "Library") && DIRS.iter().any(|d| under(path, d))
}

/// `.env.prod`, `.env-prod`, `.env_staging`: an env file for one stage, unless it is a
/// template (`.env.example`, `.env-sample`).
fn is_env_variant(base: &str) -> bool {
    // The bare stem too: a glob `.env.*` classifies as `.env.`.
    [".env.", ".env-", ".env_"]
        .iter()
        .any(|p| base.starts_with(p))
        && !is_env_template(base)
}

/// A template of an env file: names the variables, holds no values.
fn is_env_template(base: &str) -> bool {
    let stem = base.trim_start_matches('.');
    [
        "example", "sample", "template", "dist", "defaults", "tmpl", "tpl",
    ]
    .iter()
    .any(|t| stem.ends_with(t))
}

/// Tools' credential files known by their place rather than their name: Maven's
/// settings (server passwords), GitHub Copilot's OAuth tokens.
fn tool_credentials(path: &str, base: &str) -> bool {
    path.contains("/.m2/") && matches!(base, "settings.xml" | "settings-security.xml")
        || path.contains("/.config/github-copilot/") && base.ends_with(".json")
}

/// Directories whose files run code later (cron, systemd, profiles, sudoers, …).
const RC_DIRS: &[&str] = &[
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/zsh",
    "/etc/cron",
    "/etc/cron.d",
    "/etc/cron.daily",
    "/etc/cron.hourly",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/etc/crontab",
    "/var/spool/cron",
    "/etc/systemd",
    "/lib/systemd",
    "/usr/lib/systemd",
    "/etc/init.d",
    "/etc/rc.d",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/ld.so.preload",
    "/etc/pam.d",
    "/Library/LaunchAgents",
    "/Library/LaunchDaemons",
    "/etc/update-motd.d",
    "/etc/xdg/autostart",
];

/// Files that say who may log in and with what rights (charter D9: any write is
/// denied), and the loader's preload list (code in every process).
const ACCOUNT_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/pam.d",
    "/etc/ld.so.preload",
    "/etc/doas.conf",
];

/// The top directories of [`RC_DIRS`].
const RC_DIR_TOPS: &[&str] = &["etc", "var", "lib", "usr", "Library"];

fn attributes(path: &str, home: &str) -> Classes {
    let mut c = Classes::empty();
    let base = path.rsplit('/').next().unwrap_or("");
    let rel_home = path.strip_prefix(home).and_then(|r| r.strip_prefix('/'));
    // Split once: most checks below ask whether some component is present.
    let comps: Vec<&str> = path.split('/').collect();
    let has_comp = |name: &str| comps.contains(&name);
    // Most of the substrings looked for below contain one of these: skip them otherwise.
    let dotted = path.contains("/.");
    let library = path.contains("/Library/");

    if let Some(dev) = path.strip_prefix("/dev/") {
        let first = dev.split('/').next().unwrap_or("");
        if matches!(
            first,
            "null"
                | "zero"
                | "random"
                | "urandom"
                | "stdin"
                | "stdout"
                | "stderr"
                | "tty"
                | "fd"
                | "pts"
                | "ptmx"
                | "full"
                | "shm"
        ) {
            c |= Classes::DEV_NULL;
        } else if matches!(first, "tcp" | "udp") {
            c |= Classes::NET_DEVICE;
        } else {
            c |= Classes::DEVICE;
        }
    }

    // Secrets.
    let env_file = base == ".env"
        || base == ".envrc"
        || is_env_variant(base)
        || (base.ends_with(".env") && base.len() > 4 && !base.starts_with('.'))
        // cookiecutter-django and others keep one directory of env files per stage.
        || (has_comp(".envs") && !is_env_template(base) && !base.ends_with(".md"));
    let key_file = matches!(
        base,
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
    ) || base.ends_with(".pem")
        || base.ends_with(".key")
        || base.ends_with(".p12")
        || base.ends_with(".pfx")
        || base.ends_with(".jks")
        || base.ends_with(".keystore")
        || base.ends_with(".ppk")
        // Password-manager databases (KeePass) hold every other secret.
        || base.ends_with(".kdbx")
        || base.ends_with(".kdb");
    let cred_file = matches!(
        base,
        ".netrc"
            | ".pgpass"
            | ".git-credentials"
            | ".npmrc"
            | ".pypirc"
            | "credentials"
            | "credentials.json"
            | ".vault-token"
            | "secrets.yml"
            | "secrets.yaml"
            | "secrets.json"
            | ".htpasswd"
            | "master.key"
            | "shadow"
            | "gshadow"
            | "sudoers"
            | ".my.cnf"
            | "service-account.json"
            | "kubeconfig"
            | "auth.json"
            | ".dockercfg"
            | "token"
            | "access_tokens.db"
            | "hosts.yml"
            | "oauth_creds.json"
            | ".s3cfg"
            | "rclone.conf"
            | "kaggle.json"
            | ".terraformrc"
            | "terraform.rc"
    ) && (base != "hosts.yml" || path.contains("/gh/"))
        || tool_credentials(path, base)
        // Cloud service-account keys and OAuth client secrets: `gcp-service-account.json`,
        // `client_secret_123.json`, `firebase-credentials.json`.
        || (base.ends_with(".json")
            && (base.contains("service-account")
                || base.contains("service_account")
                || base.starts_with("client_secret")
                || base.ends_with("credentials.json")));
    let ssh_private = has_comp(".ssh")
        && !base.ends_with(".pub")
        && !matches!(
            base,
            "known_hosts" | "known_hosts.old" | "config" | "authorized_keys" | "authorized_keys2"
        );
    let secret_dir = [
        ".aws",
        ".gnupg",
        ".azure",
        ".password-store",
        ".kube",
        ".docker",
    ]
    .iter()
    .any(|d| has_comp(d))
        || (dotted || library)
            && (path.contains("/.config/gcloud")
                || path.contains("/.config/gh")
                || path.contains("/.local/share/keyrings")
                || path.contains("/Library/Keychains")
                || path.contains("/.config/google-chrome")
                || path.contains("/.config/chromium")
                || path.contains("/.config/BraveSoftware")
                || path.contains("/.mozilla/firefox")
                || path.contains("/Library/Application Support/Google/Chrome")
                || path.contains("/Library/Application Support/Firefox")
                || path.contains("/.terraform.d/credentials"))
        || matches!(base, "Login Data" | "Cookies" | "key4.db" | "logins.json" | "credentials.toml" | "credentials.tfrc.json")
        || path.ends_with("/.ssh")
        || path.starts_with("/etc/ssl/private")
        // Docker and Kubernetes mount secrets here.
        || path.starts_with("/run/secrets/")
        || path.starts_with("/var/run/secrets/")
        // Another process's environment, and shell histories, hold tokens too.
        || (path.starts_with("/proc/") && base == "environ")
        || matches!(
            base,
            ".bash_history" | ".zsh_history" | ".python_history" | ".psql_history"
                | ".mysql_history" | ".node_repl_history" | ".sh_history" | ".history"
        );
    if (env_file || key_file || cred_file || ssh_private || secret_dir)
        && !(base.ends_with(".pub") || base == "known_hosts")
    {
        c |= Classes::SECRET;
    }

    // Shell start-up and other places that run code later (persistence).
    let rc = matches!(
        base,
        ".bashrc"
            | ".bash_profile"
            | ".bash_login"
            | ".bash_logout"
            | ".profile"
            | ".zshrc"
            | ".zshenv"
            | ".zprofile"
            | ".zlogin"
            | ".zlogout"
            | ".kshrc"
            | ".cshrc"
            | ".tcshrc"
            | ".xinitrc"
            | ".xprofile"
            | ".xsession"
            | ".pam_environment"
            | ".bash_aliases"
            | ".zsh_aliases"
            | ".aliases"
            | "authorized_keys"
            | "authorized_keys2"
            | "rc.local"
            | "config.fish"
            | "crontab"
            | "ld.so.preload"
            | "environment"
    ) && (base != "environment" || path.starts_with("/etc/"));
    // Every one of them lies under a top directory in RC_DIR_TOPS: look only then.
    let rc_dir = comps.get(1).is_some_and(|top| RC_DIR_TOPS.contains(top))
        && RC_DIRS.iter().any(|d| under(path, d));
    let home_dirs = rel_home.is_some_and(|r| {
        [
            ".config/autostart",
            ".config/systemd",
            ".local/share/systemd",
            "Library/LaunchAgents",
            ".config/fish",
            ".config/environment.d",
            ".oh-my-zsh/custom",
        ]
        .iter()
        .any(|d| {
            r.strip_prefix(d)
                .is_some_and(|t| t.is_empty() || t.starts_with('/'))
        })
    });
    if rc || rc_dir || home_dirs {
        c |= Classes::PERSISTENCE;
    }
    let accounts = matches!(base, "authorized_keys" | "authorized_keys2")
        || comps.get(1) == Some(&"etc") && ACCOUNT_FILES.iter().any(|d| under(path, d));
    if accounts {
        c |= Classes::ACCOUNTS;
    }

    // The guard's own configuration: agent settings, hook scripts, Lighthouse itself.
    // The agent's user-level configuration (settings, hooks, agents, commands) is all
    // the guard's; in a project only settings and hooks are.
    let user_claude = rel_home
        .is_some_and(|r| r == ".claude" || r.starts_with(".claude/") || r == ".claude.json");
    let guard = has_comp(".lighthouse")
        || user_claude
        || base == ".claude"
        || (has_comp(".claude")
            && (base.starts_with("settings") && base.ends_with(".json")
                || path.contains("/.claude/hooks")))
        || base == "managed-settings.json"
        || path.ends_with("/bin/lighthouse")
        || dotted
            && (path.contains("/.config/lighthouse")
                || path.contains("/.local/state/lighthouse")
                || path.contains("/.local/share/lighthouse"))
        || (base.starts_with("lighthouse") && path.contains("/bin/"))
        || (has_comp(".gemini")
            && (base.starts_with("settings") && base.ends_with(".json")
                || path.contains("/.gemini/hooks")))
        || (has_comp(".codex") && (base == "config.toml" || path.contains("/.codex/hooks")))
        || path.contains("/etc/lighthouse")
        || system_guard_dir(path);
    if guard {
        c |= Classes::GUARD;
    }

    // CI/CD pipelines, deployment configuration and git hooks.
    let ci = (has_comp(".github") && (has_comp("workflows") || has_comp("actions")))
        || has_comp(".circleci")
        || has_comp(".buildkite")
        || has_comp(".gitlab")
        || has_comp(".husky")
        || has_comp(".githooks")
        || dotted && path.contains("/.git/hooks/")
        || matches!(
            base,
            ".gitlab-ci.yml"
                | ".gitlab-ci.yaml"
                | "Jenkinsfile"
                | "azure-pipelines.yml"
                | "azure-pipelines.yaml"
                | "bitbucket-pipelines.yml"
                | ".travis.yml"
                | ".drone.yml"
                | "appveyor.yml"
                | ".appveyor.yml"
                | "cloudbuild.yaml"
                | "cloudbuild.yml"
                | "buildspec.yml"
                | "codemagic.yaml"
                | ".woodpecker.yml"
                | "fly.toml"
                | "netlify.toml"
                | "vercel.json"
                | "render.yaml"
                | "app.yaml"
                | "Procfile"
                | "serverless.yml"
                | "serverless.yaml"
                | "skaffold.yaml"
                | ".pre-commit-config.yaml"
                | "lefthook.yml"
                | ".lefthook.yml"
                | "railway.json"
                | "railway.toml"
        )
        || has_comp(".woodpecker")
        || ((has_comp(".gitea") || has_comp(".forgejo"))
            && (has_comp("workflows") || has_comp("actions")))
        || is_deploy_file(&comps, base);
    if ci {
        c |= Classes::CI_CONFIG;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(p: &str) -> Vec<&'static str> {
        classify(
            p,
            Base {
                cwd: "/home/u/proj",
                home: Some("/home/u"),
            },
        )
        .names()
    }

    #[test]
    fn normal_paths_are_borrowed_and_others_collapsed() {
        for p in ["/", "/a", "/home/u/p/src/main.rs", "/.env", "/a/.b/c..d"] {
            assert!(matches!(normalize(p), Cow::Borrowed(_)), "{p}");
            assert_eq!(normalize(p), collapse(p), "{p}");
        }
        for (p, want) in [
            ("/a/", "/a"),
            ("//a//b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/..", "/"),
            ("/a/.", "/a"),
            ("", "/"),
        ] {
            assert_eq!(normalize(p), want, "{p}");
        }
    }

    #[test]
    fn lexical_keeps_relative_paths_relative() {
        for (p, want) in [
            ("/p/.git//config", "/p/.git/config"),
            ("/p/.git/./config", "/p/.git/config"),
            ("./.claude//settings.json", ".claude/settings.json"),
            ("src/../.claude/settings.json", ".claude/settings.json"),
            ("../x/./y", "../x/y"),
            ("~/a/../.ssh/id_rsa", "~/.ssh/id_rsa"),
            ("/../etc", "/etc"),
            ("a/..", "."),
        ] {
            assert_eq!(lexical(p), want, "{p}");
        }
        assert!(matches!(lexical("./src/main.rs"), Cow::Borrowed(_)));
    }

    #[test]
    fn guard_secret_and_ci_files() {
        for p in [
            "/etc/gemini-cli/settings.json",
            "/etc/codex/managed_config.toml",
            ".gemini/hooks/guard.sh",
            "/var/lib/lighthouse/data",
        ] {
            assert!(cls(p).contains(&"guard"), "{p}");
        }
        for p in [
            "~/.gemini/oauth_creds.json",
            "~/.s3cfg",
            "~/.config/rclone/rclone.conf",
            "~/.kaggle/kaggle.json",
            "~/.terraformrc",
            "~/.config/github-copilot/hosts.json",
            "~/.m2/settings.xml",
            ".env-prod",
            ".env_staging",
            ".envs/.production/.django",
            "~/id_*",
            "~/*.kdbx",
        ] {
            assert!(cls(p).contains(&"secret"), "{p}");
        }
        for p in [".env-example", ".env_sample", "pom.xml", "settings.xml"] {
            assert!(!cls(p).contains(&"secret"), "{p}");
        }
        for p in [
            ".gitea/workflows/ci.yml",
            ".forgejo/workflows/build.yaml",
            ".woodpecker/test.yml",
            "scripts/deploy.js",
            "config/deploy.rb",
            "deploy/values.yaml",
            "bin/deploy",
        ] {
            assert!(cls(p).contains(&"ci_config"), "{p}");
        }
        for p in [
            "docs/deployment/kubernetes.md",
            "app/models/deployment.rb",
            "src/deploy/index.ts",
            "deploy_key",
        ] {
            assert!(!cls(p).contains(&"ci_config"), "{p}");
        }
    }

    #[test]
    fn rc_dirs_lie_under_their_tops() {
        for d in RC_DIRS {
            let top = d.split('/').nth(1).unwrap_or("");
            assert!(d.starts_with('/') && RC_DIR_TOPS.contains(&top), "{d}");
        }
    }

    #[test]
    fn locations() {
        // The root, the home directory and `..` contain the project: they are also its root.
        assert_eq!(cls("/"), ["root", "project_root"]);
        assert_eq!(cls("/*"), ["root", "project_root"]);
        assert_eq!(cls("~"), ["home", "project_root"]);
        assert_eq!(cls("~/"), ["home", "project_root"]);
        assert_eq!(cls("~/*"), ["home", "project_root"]);
        assert_eq!(cls(".."), ["home", "project_root"]);
        assert_eq!(cls("../.."), ["system", "project_root", "system_top"]);
        assert_eq!(cls("./target"), ["project", "build_output"]);
        assert!(dotnet_bin("bin", &["bin", "obj"]));
        assert!(dotnet_bin(
            "src/App/bin/",
            &["src/App/bin/", "src/App/obj/"]
        ));
        assert!(!dotnet_bin("bin", &["bin", "src/obj"]));
        assert!(!dotnet_bin("bin", &["bin"]));
        assert!(!dotnet_bin("cabin", &["cabin", "caobj"]));
        assert_eq!(cls("./src"), ["project", "project_source"]);
        assert_eq!(cls("."), ["project", "project_root"]);
        assert_eq!(cls("./.git"), ["project", "project_root"]);
        assert_eq!(cls("*"), ["project", "project_root"]);
        assert_eq!(cls("./[match]"), ["project", "project_source"]);
        assert_eq!(cls("./*.pyc"), ["project", "build_output"]);
        assert_eq!(cls("/etc"), ["system", "system_top"]);
        assert_eq!(cls("/u*"), ["system", "system_top"]);
        assert_eq!(cls("/tmp/x"), ["temp"]);
        assert_eq!(cls("/srv/data/x"), ["system"]);
        assert_eq!(cls("/dev/sda"), ["device"]);
        assert_eq!(cls("/dev/null"), ["dev_null"]);
        assert_eq!(cls("/home/other"), ["home"]);
        assert_eq!(cls("/home/other/x"), ["outside"]);
        assert_eq!(cls("~/other-repo"), ["home_sub"]);
        assert!(cls(".github/workflows/ci.yml").contains(&"ci_config"));
        assert!(cls(".git/hooks/pre-push").contains(&"ci_config"));
        assert!(!cls("src/deployer.ts").contains(&"ci_config"));
    }

    #[test]
    fn attributes_and_unknowns() {
        assert!(cls("~/.ssh/id_rsa").contains(&"secret"));
        assert!(!cls("~/.ssh/id_rsa.pub").contains(&"secret"));
        assert!(cls(".env").contains(&"secret"));
        assert!(!cls(".env.example").contains(&"secret"));
        assert!(cls("~/.aws/credentials").contains(&"secret"));
        assert!(cls("~/.bashrc").contains(&"persistence"));
        assert!(cls(".claude/settings.local.json").contains(&"guard"));
        assert!(cls(".lighthouse/policy.toml").contains(&"guard"));
        assert!(cls(".env*").contains(&"secret"));
        assert!(cls("~/.ssh/*").contains(&"secret"));
        assert!(cls("/private/etc/sudoers").contains(&"persistence"));
        assert!(cls("~/.gemini/settings.json").contains(&"guard"));
        assert!(cls("/proc/self/root/etc/sudoers").contains(&"persistence"));
        assert!(cls("~/work/gcp-service-account.json").contains(&"secret"));
        assert!(cls("~/work/*/.env").contains(&"secret"));
        // A start-up file's name inside the project is the project's file.
        assert!(!cls("/home/u/proj/docker/.bashrc").contains(&"persistence"));
        assert!(cls("/proc/self/cwd/../.bashrc").contains(&"persistence"));
        let d = format!("{DYN}/");
        assert!(cls(&d).contains(&"root"));
        assert!(cls(&d).contains(&"unknown"));
        assert_eq!(cls(&DYN.to_string()), ["unknown"]);
    }
}
