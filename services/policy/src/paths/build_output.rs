//! What builds, package managers and test runners produce (build directories,
//! lockfiles, by-product extensions): paths whose loss a rebuild restores. Separate
//! because it is one long list with its own small lookups.

use std::collections::HashSet;
use std::sync::LazyLock;

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
pub(super) fn is_build_output(path: &str) -> bool {
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
