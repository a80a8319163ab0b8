//! Launchers: task runners and environment loaders that run a command inside a project,
//! tool or secrets environment (`uv run`, `poetry run`, `npm exec`, `npx`, `mise exec`,
//! `nix-shell --run`, `aws-vault exec PROFILE --`, `doppler run --`, `railway run`,
//! `dotenv -e FILE --`, `fly ssh console -C`, …). The command they run is judged as if it
//! ran directly (the charter's "by any route"); the environment they select (a profile,
//! a config, an env file, an app) names its target, so `aws-vault exec prod -- …` is
//! production like `AWS_PROFILE=prod …`.

use super::*;

/// What [`Walker::launched`] did.
pub(super) enum Step {
    /// Not a launch: judge the command as it is.
    NotLaunch,
    /// The launched command is now `argv`: peel it further.
    Continue,
    /// Judged (code handed to a shell, or a remote command).
    Done(Output),
}

impl Walker<'_> {
    /// Judges what the launcher `name` runs: its code, its command (left in `argv` to
    /// peel further), in the environment it names.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn launched(
        &mut self,
        name: &str,
        argv: &mut Vec<Word>,
        ctx: &Ctx,
        via: &mut Vec<String>,
        tags: &[String],
        extra_vars: &mut Vec<(String, String)>,
        depth: usize,
    ) -> Step {
        let rest = &argv[1..];
        if let Some(rm) = rm_alias(name, rest) {
            via.push(name.to_owned());
            *argv = rm;
            return Step::Continue;
        }
        let Some(l) = launch(name, rest) else {
            return Step::NotLaunch;
        };
        if l.start.is_none() && l.code.is_empty() {
            return Step::NotLaunch;
        }
        if l.keep {
            let e = Effective {
                name: name.to_owned(),
                args: rest.to_vec(),
                via: via.clone(),
                stdin: ctx.stdin.clone(),
                tags: tags.to_vec(),
                env: extra_vars.clone(),
                ..Effective::default()
            };
            self.emit(e, ctx);
        }
        if !l.context.is_empty() {
            extra_vars.push(("LH_CONTEXT_LAUNCH".to_owned(), l.context.join(" ")));
        }
        via.push(l.label.clone());
        let mut tags = tags.to_vec();
        let remote_ctx = Ctx {
            stdin: None,
            ..ctx.clone()
        };
        let code_ctx = if l.remote {
            tags.push("remote".to_owned());
            &remote_ctx
        } else {
            ctx
        };
        let mut codes = l.code;
        if l.remote
            && let Some(s) = l.start
        {
            codes.push(join_words(&rest[s..]));
        }
        if !codes.is_empty() {
            let mut out = Output::default();
            for code in codes.into_iter().take(4) {
                out = self.shell_code(code, code_ctx, via, &tags, depth, extra_vars);
            }
            return Step::Done(out);
        }
        let Some(s) = l.start else {
            return Step::Done(Output::default());
        };
        let mut next = rest[s..].to_vec();
        if l.package {
            next[0].text = package_binary(&next[0].text);
        }
        *argv = next;
        Step::Continue
    }
}

/// What a launcher runs.
#[derive(Debug, Default)]
pub(super) struct Launch {
    /// Where the launched command starts in the launcher's arguments.
    pub start: Option<usize>,
    /// Shell code it runs instead (`nix-shell --run CODE`, `npx -c CODE`).
    pub code: Vec<Word>,
    /// Names of the environment it selects (`prod`, `.env.production`, `acme-prod`).
    pub context: Vec<String>,
    /// The launcher itself is judged too: it fetches registry code (`npx`, `uvx`) or has
    /// rules of its own.
    pub keep: bool,
    /// The command runs on a remote machine (`fly ssh console -C`, `heroku run`).
    pub remote: bool,
    /// How the launch reads in explanations (`uv run`).
    pub label: String,
    /// The command's first word is a registry package, not yet its binary (`npx aws-cdk`).
    pub package: bool,
}

/// How a launcher's own options read.
struct Grammar<'a> {
    /// Options that take a value (`-e`, `--environment`).
    values: &'a [&'a str],
    /// … whose value names the environment.
    context: &'a [&'a str],
    /// … whose value is shell code.
    code: &'a [&'a str],
}

const PLAIN: Grammar<'static> = Grammar {
    values: &[],
    context: &[],
    code: &[],
};

/// Registry runners: the first operand is a package whose binary runs.
const REGISTRY: &[&str] = &["npx", "pnpx", "bunx", "uvx", "pipx"];

/// The launch `name rest…` makes, if `name` is a launcher.
pub(super) fn launch(name: &str, rest: &[Word]) -> Option<Launch> {
    let sub = |words: &[&str]| -> Option<usize> {
        let at = first_operand(rest, GLOBAL_VALUES)?;
        words.contains(&rest[at].text.as_str()).then_some(at + 1)
    };
    let (from, g, keep) = match name {
        "uv" => (
            sub(&["run"])?,
            Grammar {
                values: &[
                    "--with",
                    "--with-editable",
                    "--with-requirements",
                    "--python",
                    "-p",
                    "--package",
                    "--extra",
                    "--group",
                    "--only-group",
                    "--no-group",
                    "--env-file",
                    "--directory",
                    "--project",
                    "--index",
                    "--default-index",
                    "--index-url",
                    "--extra-index-url",
                    "-i",
                    "--find-links",
                    "-f",
                ],
                context: &["--env-file"],
                code: &[],
            },
            true,
        ),
        "uvx" => (
            0,
            Grammar {
                values: &[
                    "--from",
                    "--with",
                    "--python",
                    "-p",
                    "--index",
                    "--index-url",
                ],
                ..PLAIN
            },
            true,
        ),
        "pipx" => (
            sub(&["run"])?,
            Grammar {
                values: &["--spec", "--python", "--pip-args", "--index-url", "-i"],
                ..PLAIN
            },
            true,
        ),
        "poetry" | "pipenv" | "pdm" | "rye" | "hatch" | "bundle" | "asdf" | "devbox" => {
            let words: &[&str] = match name {
                "bundle" | "asdf" => &["exec"],
                _ => &["run"],
            };
            (
                sub(words)?,
                Grammar {
                    values: &["-e", "--env", "--env-file", "-c", "--config"],
                    context: &["--env-file"],
                    code: &[],
                },
                false,
            )
        }
        "conda" | "mamba" | "micromamba" => (
            sub(&["run"])?,
            Grammar {
                values: &["-n", "--name", "-p", "--prefix", "--cwd"],
                context: &["-n", "--name", "-p", "--prefix"],
                code: &[],
            },
            false,
        ),
        "npm" | "npx" | "pnpx" => (
            if name == "npm" {
                sub(&["exec", "x"])?
            } else {
                0
            },
            Grammar {
                values: &["--package", "-p", "-c", "--call", "-w", "--workspace"],
                context: &[],
                code: &["-c", "--call"],
            },
            true,
        ),
        "pnpm" | "yarn" | "bun" => (
            sub(&["exec", "dlx", "x"])?,
            Grammar {
                values: &["--package", "-p", "-C", "--dir", "--filter", "-F"],
                ..PLAIN
            },
            true,
        ),
        "bunx" => (0, PLAIN, true),
        "direnv" | "envdir" => {
            // `direnv exec DIR cmd`, `envdir DIR cmd`: the directory holds the environment.
            let at = if name == "direnv" { sub(&["exec"])? } else { 0 };
            let dir = rest.get(at)?;
            return Some(Launch {
                start: (at + 1 < rest.len()).then_some(at + 1),
                context: vec![dir.text.clone()],
                label: format!("{name} exec"),
                ..Launch::default()
            });
        }
        "mise" | "rtx" => (
            sub(&["exec", "x"])?,
            Grammar {
                values: &[
                    "-C",
                    "--cd",
                    "-E",
                    "--env",
                    "-j",
                    "--jobs",
                    "-c",
                    "--command",
                ],
                context: &["-E", "--env"],
                code: &["-c", "--command"],
            },
            false,
        ),
        "nix-shell" => (
            0,
            Grammar {
                values: &[
                    "--run",
                    "--command",
                    "-p",
                    "-A",
                    "--attr",
                    "-I",
                    "--arg",
                    "--argstr",
                ],
                context: &[],
                code: &["--run", "--command"],
            },
            false,
        ),
        "nix" => {
            // `nix develop -c cmd args…`, `nix shell PKGS --command cmd args…`.
            sub(&["develop", "shell"])?;
            let c = rest
                .iter()
                .position(|w| matches!(w.text.as_str(), "-c" | "--command"))?;
            return Some(Launch {
                start: (c + 1 < rest.len()).then_some(c + 1),
                keep: true,
                label: "nix develop -c".to_owned(),
                ..Launch::default()
            });
        }
        "aws-vault" | "chamber" => {
            // `aws-vault exec PROFILE [-- ] cmd`, `chamber exec SERVICE… -- cmd`.
            let at = sub(&["exec"])?;
            let dash = rest.iter().position(|w| w.text == "--");
            let profile_at = at + skip(&rest[at..], &["-d", "--duration", "--region"]);
            let start = match dash {
                Some(d) if d >= profile_at => d + 1,
                _ => profile_at + 1,
            };
            let context = rest[profile_at..start.min(rest.len())]
                .iter()
                .filter(|w| !w.text.starts_with('-'))
                .map(|w| w.text.clone())
                .collect();
            return Some(Launch {
                start: (start < rest.len()).then_some(start),
                context,
                label: format!("{name} exec"),
                ..Launch::default()
            });
        }
        "doppler" | "infisical" => (
            sub(&["run"])?,
            Grammar {
                values: &[
                    "-c",
                    "--config",
                    "-p",
                    "--project",
                    "--env",
                    "--path",
                    "--projectId",
                    "--command",
                    "--token",
                    "--mount",
                    "--fallback",
                ],
                context: &["-c", "--config", "-p", "--project", "--env"],
                code: &["--command"],
            },
            false,
        ),
        "op" => (
            sub(&["run"])?,
            Grammar {
                values: &["--env-file", "--account"],
                context: &["--env-file"],
                code: &[],
            },
            false,
        ),
        "railway" => (
            sub(&["run"])?,
            Grammar {
                values: &["-e", "--environment", "-s", "--service", "-p", "--project"],
                context: &["-e", "--environment", "-s", "--service"],
                code: &[],
            },
            false,
        ),
        "dotenv" | "dotenvx" => (
            if name == "dotenvx" { sub(&["run"])? } else { 0 },
            Grammar {
                values: &[
                    "-e",
                    "-c",
                    "-v",
                    "-p",
                    "-f",
                    "--env-file",
                    "--env",
                    "--convention",
                ],
                context: &["-e", "-c", "-f", "--env-file"],
                code: &[],
            },
            false,
        ),
        "with-contenv" | "eatmydata" | "nocache" | "dbus-run-session" | "shx" => (0, PLAIN, false),
        "xvfb-run" => (
            0,
            Grammar {
                values: &[
                    "-n",
                    "-s",
                    "-f",
                    "-e",
                    "-p",
                    "--server-num",
                    "--server-args",
                ],
                ..PLAIN
            },
            false,
        ),
        "entr" => {
            // `entr -s 'cmd'` hands the command to a shell.
            let n = skip(rest, &[]);
            let shell = rest[..n]
                .iter()
                .any(|w| super::is_short_cluster_with(&w.text, 's'));
            return Some(Launch {
                start: (!shell && n < rest.len()).then_some(n),
                code: if shell {
                    rest.get(n).cloned().into_iter().collect()
                } else {
                    Vec::new()
                },
                label: "entr".to_owned(),
                ..Launch::default()
            });
        }
        "fly" | "flyctl" => {
            // `fly ssh console -a APP -C CMD`: CMD runs on the app's machine.
            if rest.first()?.text != "ssh" {
                return None;
            }
            let g = Grammar {
                values: &[
                    "-a",
                    "--app",
                    "-C",
                    "--command",
                    "-s",
                    "--select",
                    "-r",
                    "--region",
                    "-u",
                    "--user",
                ],
                context: &["-a", "--app"],
                code: &["-C", "--command"],
            };
            let mut l = options(rest, 2.min(rest.len()), &g);
            l.start = None;
            l.remote = true;
            l.keep = true;
            l.label = "fly ssh console".to_owned();
            return Some(l);
        }
        "heroku" => {
            // `heroku run -a APP cmd…`: cmd runs in a one-off dyno of the app.
            let at = sub(&["run", "run:detached"])?;
            let g = Grammar {
                values: &[
                    "-a", "--app", "-r", "--remote", "-s", "--size", "-e", "--env", "--type", "-x",
                ],
                context: &["-a", "--app", "-r", "--remote"],
                code: &[],
            };
            let mut l = options(rest, at, &g);
            l.remote = true;
            l.keep = true;
            l.label = "heroku run".to_owned();
            return Some(l);
        }
        _ => return None,
    };
    let mut l = options(rest, from, &g);
    l.keep = keep;
    l.label = match rest.get(from.wrapping_sub(1)) {
        Some(w) if from > 0 => format!("{name} {}", w.text),
        _ => name.to_owned(),
    };
    // `mise exec node@20 -- cmd`: tools come before the `--`.
    if matches!(name, "mise" | "rtx")
        && let Some(d) = rest[from..].iter().position(|w| w.text == "--")
    {
        l.start = (from + d + 1 < rest.len()).then_some(from + d + 1);
    }
    // `pnpm exec -c 'cmd'`, `bun exec 'cmd'`: the operand is shell code.
    let shell_mode = match name {
        "pnpm" => rest[from..]
            .iter()
            .any(|w| w.text == "-c" || w.text == "--shell-mode"),
        "bun" => rest[from - 1].text == "exec",
        _ => false,
    };
    // `nix-shell --run CODE`: no other operand is a command (`nix-shell shell.nix`).
    let taken = if name == "nix-shell" || shell_mode {
        l.start.take()
    } else {
        None
    };
    if let Some(s) = taken.filter(|_| shell_mode) {
        l.code.push(rest[s].clone());
    }
    l.package = REGISTRY.contains(&name)
        || (from > 0 && matches!(rest[from - 1].text.as_str(), "dlx" | "x"));
    Some(l)
}

/// Options of `npm`, `uv`, `poetry` … before their subcommand that take a value.
const GLOBAL_VALUES: &[&str] = &[
    "-C",
    "--directory",
    "--project",
    "-P",
    "--config-file",
    "--cache-dir",
    "--prefix",
    "-e",
    "--env",
    "--cwd",
    "--dir",
    "-w",
    "--workspace",
    "--filter",
    "-F",
];

/// The first word of `rest` that is not an option or an option's value.
fn first_operand(rest: &[Word], values: &[&str]) -> Option<usize> {
    let n = skip(rest, values);
    (n < rest.len()).then_some(n)
}

/// Counts the option words at the start of `rest` (values of `values` included); a `--`
/// is not counted.
fn skip(rest: &[Word], values: &[&str]) -> usize {
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        let t = w.text.as_str();
        if !t.starts_with('-') || t == "-" || t == "--" {
            break;
        }
        i += if values.contains(&t) { 2 } else { 1 };
    }
    i.min(rest.len())
}

/// Reads the launcher's options from `rest[from..]`: the environment they name, the code
/// they carry, and where the command starts (after a `--`, or at the first operand).
fn options(rest: &[Word], from: usize, g: &Grammar<'_>) -> Launch {
    let mut l = Launch::default();
    let mut i = from;
    while let Some(w) = rest.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let (opt, inline) = match t.split_once('=') {
            Some((o, v)) if o.starts_with("--") || g.values.contains(&o) => (o, Some(v)),
            _ => (t, None),
        };
        let value = match inline {
            Some(v) => Some(Word {
                text: v.to_owned(),
                ..w.clone()
            }),
            // A value never swallows the `--` that ends the options (`dotenv -c -- cmd`).
            None if g.values.contains(&opt) && rest.get(i + 1).is_some_and(|n| n.text != "--") => {
                i += 1;
                rest.get(i).cloned()
            }
            None => None,
        };
        if let Some(v) = value {
            if g.context.contains(&opt) {
                l.context.push(v.text.clone());
            }
            if g.code.contains(&opt) {
                l.code.push(v);
            }
        }
        i += 1;
    }
    l.start = (i < rest.len()).then_some(i);
    l
}

/// The binary a registry package runs: `aws-cdk@2` → `cdk`, `@vscode/vsce` → `vsce`.
pub(super) fn package_binary(package: &str) -> String {
    // A version after the name (`cdk@2.100`, `@scope/x@1`); a scope's `@` comes first.
    let name = match package.char_indices().skip(1).find(|(_, c)| *c == '@') {
        Some((p, _)) => &package[..p],
        None => package,
    };
    let name = name.split("==").next().unwrap_or(name);
    match name {
        "aws-cdk" => "cdk",
        "firebase-tools" => "firebase",
        "netlify-cli" => "netlify",
        "@railway/cli" => "railway",
        "@angular/cli" => "ng",
        "@nestjs/cli" => "nest",
        "@prisma/cli" => "prisma",
        "sequelize-cli" => "sequelize",
        "serverless" | "sls" => "serverless",
        _ => name.rsplit('/').next().unwrap_or(name),
    }
    .to_owned()
}

/// Commands that are `rm -r -f` under another name (`rimraf dir`, `del-cli dir`).
pub(super) fn rm_alias(name: &str, rest: &[Word]) -> Option<Vec<Word>> {
    if !matches!(name, "rimraf" | "del-cli" | "del") {
        return None;
    }
    let mut argv = vec![
        Word::lit("rm".to_owned()),
        Word::lit("-r".to_owned()),
        Word::lit("-f".to_owned()),
    ];
    argv.extend(rest.iter().filter(|w| !w.text.starts_with('-')).cloned());
    Some(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Word> {
        line.split_whitespace()
            .map(|s| Word::lit(s.to_owned()))
            .collect()
    }

    fn start(line: &str) -> Option<String> {
        let w = words(line);
        let l = launch(&w[0].text, &w[1..])?;
        l.start.map(|s| {
            w[1 + s..]
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    #[test]
    fn finds_the_command() {
        assert_eq!(
            start("uv run --with x python m.py").as_deref(),
            Some("python m.py")
        );
        assert_eq!(start("poetry run rm -rf /").as_deref(), Some("rm -rf /"));
        assert_eq!(start("npm exec -- rimraf ~").as_deref(), Some("rimraf ~"));
        assert_eq!(
            start("mise exec node@20 -- rm -rf ~").as_deref(),
            Some("rm -rf ~")
        );
        assert_eq!(start("mise x -- rm -rf ~").as_deref(), Some("rm -rf ~"));
        assert_eq!(
            start("aws-vault exec prod -- aws s3 ls").as_deref(),
            Some("aws s3 ls")
        );
        assert_eq!(
            start("doppler run --config prd -- make").as_deref(),
            Some("make")
        );
        assert_eq!(start("dotenv -c -- make").as_deref(), Some("make"));
        assert_eq!(start("uv sync"), None);
        assert_eq!(start("poetry install"), None);
    }

    #[test]
    fn names_the_environment() {
        let w = words("doppler run --config prd -- bin/rails db:drop");
        assert_eq!(launch("doppler", &w[1..]).unwrap().context, ["prd"]);
        let w = words("railway run --environment=production npx x");
        assert_eq!(launch("railway", &w[1..]).unwrap().context, ["production"]);
        assert_eq!(package_binary("aws-cdk@2.1"), "cdk");
        assert_eq!(package_binary("@vscode/vsce"), "vsce");
        assert_eq!(package_binary("wrangler"), "wrangler");
    }
}
