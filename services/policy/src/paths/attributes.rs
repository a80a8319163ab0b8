//! A path's *attributes* (secret, persistence, guard, ci_config, device, …): what the file
//! is, from its name and directories, wherever it lies. Separate from its location
//! ([`super::location`](mod@super::location)): the longest part of classification, and all
//! lists of names.

use super::Classes;
use super::agent_files;
use super::normal::under;

/// A certificate or signing request by its name (`server.crt`, `cert.pem`, `ca.pem`,
/// `fullchain.pem`): public halves, not keys.
pub(super) fn is_certificate(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    base.ends_with(".crt")
        || base.ends_with(".csr")
        || base.contains("cert")
        || base.contains("chain")
        || ["ca.", "ca-", "ca_"].iter().any(|p| base.starts_with(p))
}

/// Under a test or fixture directory of the project, where keys are made up for tests.
pub(super) fn in_test_fixtures(path: &str) -> bool {
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

pub(super) fn is_key_extension(path: &str) -> bool {
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

/// A repository's config file: `.git/config`, its per-worktree `config.worktree`, a
/// submodule's `.git/modules/NAME/config`.
fn git_config_file(comps: &[&str]) -> bool {
    let Some(git) = comps.iter().position(|c| *c == ".git") else {
        return false;
    };
    matches!(comps.last(), Some(&("config" | "config.worktree"))) && comps.len() > git + 1
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

/// A template of an env file: names the variables, holds no values. So does its backup
/// copy (`.env.example.bak`), where `.env.bak` stays a secret.
fn is_env_template(base: &str) -> bool {
    let mut stem = base.trim_start_matches('.').trim_end_matches('~');
    while let Some(s) = [".bak", ".orig", ".old", ".backup", ".save", ".swp"]
        .iter()
        .find_map(|b| stem.strip_suffix(b))
    {
        stem = s;
    }
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

pub(super) fn attributes(path: &str, home: &str) -> Classes {
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
    if env_file {
        c |= Classes::DOTENV;
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

    if agent_files::guard(path, &comps, base, rel_home, dotted) {
        c |= Classes::GUARD;
    } else if agent_files::agent_config(&comps, base) {
        c |= Classes::AGENT_CONFIG;
    } else if agent_files::agent_prompt(&comps) {
        c |= Classes::AGENT_PROMPT;
    }

    // CI/CD pipelines, deployment configuration and git hooks.
    let ci = (has_comp(".github") && (has_comp("workflows") || has_comp("actions")))
        || has_comp(".circleci")
        || has_comp(".buildkite")
        || has_comp(".gitlab")
        || has_comp(".husky")
        || has_comp(".githooks")
        || dotted && path.contains("/.git/hooks/")
        // git's own config names the programs later git commands run (aliases, filters,
        // fsmonitor, diff drivers): git hooks by another name.
        || dotted && git_config_file(&comps)
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

/// A file name that ends in a programming-language source extension (`auth_token.ts`,
/// `*secret*.py`): code and tests, not stored credentials.
pub(super) fn is_source_file_name(name: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_dirs_lie_under_their_tops() {
        for d in RC_DIRS {
            let top = d.split('/').nth(1).unwrap_or("");
            assert!(d.starts_with('/') && RC_DIR_TOPS.contains(&top), "{d}");
        }
    }
}
