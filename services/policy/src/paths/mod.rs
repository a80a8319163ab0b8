//! Path classification: where a path points, relative to the project and the user.
//!
//! A path gets one *location* (root, system, home, home_sub, project, temp, outside) and
//! any number of *attributes* (secret, persistence, guard, device, …). Globs classify as
//! the directory they expand in; text we cannot know ([`DYN`]) classifies as `unknown`
//! *and* as what the path would be if the unknown part were empty, which is the classic
//! way `rm -rf "$DIR/"` becomes `rm -rf /`.

mod agent_files;
mod attributes;
mod build_output;
mod classes;
mod location;
mod normal;

pub use build_output::dotnet_bin;
pub use classes::{Classes, NAMES};
pub use normal::lexical;

use crate::word::DYN;
use attributes::{
    attributes, in_test_fixtures, is_certificate, is_key_extension, is_source_file_name,
};
use build_output::is_build_output;
use location::location;
use normal::{normalize, under};
use std::borrow::Cow;

/// Where a command runs: the directory paths resolve against, the home `~` stands for,
/// and the git branch checked out there when the caller knows it (a push that names no
/// branch pushes it).
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    pub cwd: &'a str,
    pub home: Option<&'a str>,
    pub branch: Option<&'a str>,
}

/// Stands for the home directory when the caller does not know it.
const UNKNOWN_HOME: &str = "/home/~";

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
                branch: base.branch,
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

/// `text` as an absolute path: `~` expanded, relative to the working directory,
/// `/proc/self/root` and `/proc/self/cwd` seen through. Not normalised.
fn absolute<'t>(text: &'t str, base: Base<'_>) -> Cow<'t, str> {
    let home = home_of(base);
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
    match ["/proc/self/root", "/proc/thread-self/root"]
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
    }
}

/// The home directory `~` stands for.
fn home_of<'b>(base: Base<'b>) -> &'b str {
    let home = base
        .home
        .filter(|h| h.starts_with('/'))
        .unwrap_or(UNKNOWN_HOME);
    let home = home.trim_end_matches('/');
    if home.is_empty() { UNKNOWN_HOME } else { home }
}

/// The guard's own directories: the agents' user-level configuration and Lighthouse's.
const GUARD_DIRS: &[&str] = &[
    "~/.claude",
    "~/.codex",
    "~/.gemini",
    "~/.config/lighthouse",
    "~/.local/state/lighthouse",
    "~/.local/share/lighthouse",
    "/etc/lighthouse",
];

/// Whether the directory `text` lies above one of the guard's own directories (`~`,
/// `~/.config`, `~/.local`, `/etc`, `/`): an archive unpacked into it can put a member
/// on them. Unknown text (`$DIR`) is not known to.
pub fn above_guard(text: &str, base: Base<'_>) -> bool {
    if text.contains(DYN) || base.cwd.contains(DYN) && !text.starts_with(['/', '~']) {
        return false;
    }
    let dir = normalize(&absolute(text, base)).into_owned();
    let dir = dir.trim_end_matches('/');
    GUARD_DIRS.iter().any(|g| {
        let g = absolute(g, base);
        g.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
    })
}

fn classify_known(text: &str, base: Base<'_>) -> Classes {
    let home = home_of(base);
    let abs = absolute(text, base);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(p: &str) -> Vec<&'static str> {
        classify(
            p,
            Base {
                cwd: "/home/u/proj",
                branch: None,
                home: Some("/home/u"),
            },
        )
        .names()
    }

    #[test]
    fn directories_above_the_guards_own() {
        let base = Base {
            cwd: "/home/u/proj",
            branch: None,
            home: Some("/home/u"),
        };
        for d in [
            "~",
            "~/",
            "/home/u/.config",
            "~/.local",
            "/etc/",
            "/",
            "..",
            "~/.local/./state",
        ] {
            assert!(above_guard(d, base), "{d}");
        }
        for d in [
            ".",
            "~/src",
            "~/.local/bin",
            "/tmp",
            "~/.claude",
            "/etc/ssl",
            "~/.configs",
        ] {
            assert!(!above_guard(d, base), "{d}");
        }
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
        for p in [
            ".env-example",
            ".env_sample",
            ".env.example.bak",
            "pom.xml",
            "settings.xml",
        ] {
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
        assert_eq!(cls("/var/data/x"), ["system"]);
        // An application's directory under /opt or /srv is outside, as /srv is system.
        assert_eq!(cls("/srv/data/x"), ["outside"]);
        assert_eq!(cls("/opt/app"), ["outside"]);
        assert_eq!(cls("/srv"), ["system", "system_top"]);
        assert_eq!(cls("/dev/sda"), ["device"]);
        assert_eq!(cls("/dev/null"), ["dev_null"]);
        assert_eq!(cls("/home/other"), ["home"]);
        assert_eq!(cls("/home/other/x"), ["outside"]);
        assert_eq!(cls("~/other-repo"), ["home_sub"]);
        assert!(cls(".github/workflows/ci.yml").contains(&"ci_config"));
        assert!(cls(".git/hooks/pre-push").contains(&"ci_config"));
        assert!(!cls("src/deployer.ts").contains(&"ci_config"));
        // git's config names programs later git commands run.
        assert!(cls(".git/config").contains(&"ci_config"));
        assert!(cls(".git/modules/lib/config").contains(&"ci_config"));
        assert!(!cls("config").contains(&"ci_config"));
        assert!(!cls("src/.git-blame-ignore").contains(&"ci_config"));
    }

    #[test]
    fn agent_files() {
        // Gemini CLI loads `.gemini/.env` into the environment its hooks inherit.
        assert!(cls(".gemini/.env").contains(&"guard"));
        assert!(cls(".gemini/extensions/x/hooks/hooks.json").contains(&"guard"));
        for p in [".mcp.json", ".gemini/extensions/x/gemini-extension.json"] {
            assert!(cls(p).contains(&"agent_config"), "{p}");
        }
        for p in [
            ".claude/agents/helper.md",
            ".claude/skills/tidy/SKILL.md",
            ".claude/commands/x.md",
            ".gemini/commands/x.toml",
        ] {
            assert!(cls(p).contains(&"agent_prompt"), "{p}");
            assert!(!cls(p).contains(&"guard"), "{p}");
        }
        // The user's own are the guard's already.
        assert!(cls("~/.claude/agents/helper.md").contains(&"guard"));
        for p in [
            "CLAUDE.md",
            "AGENTS.md",
            "docs/commands.md",
            "src/agents/x.ts",
        ] {
            assert!(!cls(p).contains(&"agent_config"), "{p}");
            assert!(!cls(p).contains(&"agent_prompt"), "{p}");
        }
        assert!(cls(".env").contains(&"dotenv"));
        assert!(cls(".envrc").contains(&"dotenv"));
        assert!(!cls(".env.example").contains(&"dotenv"));
    }

    #[test]
    fn attributes_and_unknowns() {
        assert!(cls("~/.ssh/id_rsa").contains(&"secret"));
        assert!(!cls("~/.ssh/id_rsa.pub").contains(&"secret"));
        assert!(cls(".env").contains(&"secret"));
        assert!(cls(".env.bak").contains(&"secret"));
        assert!(cls(".env.local.orig").contains(&"secret"));
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
