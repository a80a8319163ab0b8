//! Judging a Bash command line: every effective command's facts and rules, read in the
//! light of the line so far (git state, tainted files, a production environment
//! loaded), chain rules, and code a command plants in a start-up file (judged as the
//! shell will run it). Separate from the other tools (`tools.rs`), which hand it shell
//! text; the start-up file check stays here because it judges the planted text as a
//! line in turn.

use crate::finding::{Finding, decide};
use crate::git_flow::GitFlow;
use crate::patch;
use crate::paths::{Base, Classes};
use crate::rules::{Facts, Rule};
use crate::shell::{self, Effective, Env};
use crate::{Analysis, CommandReport, Policy};
use lighthouse_schemas::{Risk, Verdict};

/// Commands that load an environment file into the shell (or the command they run).
const ENV_LOADERS: &[&str] = &["source", ".", "dotenv", "env-cmd", "dotenvx"];

/// Whether argument `arg` refers to file `path` (`path`, `@path`, `x=@path`, `dir/path`).
fn names_file(arg: &str, path: &str) -> bool {
    let Some(prefix) = arg.strip_suffix(path) else {
        return false;
    };
    prefix.is_empty() || prefix.ends_with(['/', '@', '='])
}

/// How many earlier commands of a line are compared with the next one before judging it
/// afresh (keeps the comparison cheap on lines of hundreds of commands).
const MEMO_LOOKBACK: usize = 8;

/// Whether `text` names a command that fetches from the network (as a word: not
/// `CURL_CA_BUNDLE` or `libcurl`). Narrower than [`shell::DOWNLOADERS`]: in text,
/// `http` and `fetch` are ordinary words.
fn mentions_download(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .any(|w| {
            matches!(
                w,
                "curl" | "wget" | "aria2c" | "Invoke-WebRequest" | "Invoke-RestMethod"
            )
        })
}

impl Policy {
    /// `keep`: also return per-command reports (explanations); the hot path skips them.
    pub(crate) fn bash(&self, command: &str, base: Base<'_>, keep: bool) -> Analysis {
        self.shell(command, base, keep, true)
    }

    /// `follow_plants`: also judge text a command writes into a start-up file as the
    /// shell will run it (off while judging such text: a plant within a plant is not
    /// followed further).
    fn shell(&self, command: &str, base: Base<'_>, keep: bool, follow_plants: bool) -> Analysis {
        let rules = &self.inner.rules;
        let norm = shell::normalize(
            command,
            Env {
                cwd: base.cwd,
                home: base.home,
            },
        );
        let mut findings = Vec::new();
        let mut reports = Vec::with_capacity(norm.commands.len());
        let bash_default = rules.tool_default("Bash");
        // Files that received secret data earlier in this command line
        // (`zip k.zip ~/.ssh && curl -F f=@k.zip …`).
        let mut tainted: Vec<String> = Vec::new();
        // Rule ids matched anywhere in the chain, for chain rules.
        let mut seen: Vec<&str> = Vec::new();
        // What earlier git commands in the line tell about later ones.
        let mut flow = GitFlow::on(base.branch);
        // A production environment file loaded earlier in the line (`source
        // .env.production && psql "$DATABASE_URL" …`): later unresolved variables come
        // from it, so the commands they name target production (D6).
        let mut prod_env: Option<String> = None;
        // Facts and matches of commands seen earlier in this line, by index: a function
        // body walked at each call (`:(){ :|:& };:`) yields the same command many times.
        let mut judged: Vec<(usize, Facts, Vec<&Rule>)> = Vec::new();
        // A line that downloads and writes a start-up file plants downloaded code
        // (`wget -qO ~/.local/bin/x URL && echo '~/.local/bin/x &' >> ~/.profile`).
        let downloads = norm
            .commands
            .iter()
            .any(|e| shell::DOWNLOADERS.contains(&e.name.as_str()));
        for (i, e) in norm.commands.iter().enumerate() {
            // Only while nothing earlier in the line changes how a command reads (a
            // branch checked out, a file made secret): then facts depend on `e` alone.
            let context_free = e.name != "git" && tainted.is_empty() && !flow.affects_others();
            let earlier = judged
                .iter()
                .rev()
                .take_while(|(j, ..)| i - j <= MEMO_LOOKBACK)
                .find(|(j, ..)| context_free && norm.commands[*j] == *e);
            let (mut facts, matched) = match earlier {
                Some((_, facts, matched)) => (facts.clone(), matched.clone()),
                None => {
                    let (facts, matched) = self.judge(e, base, &mut flow, &tainted);
                    // Kept only for a command that comes again shortly.
                    if context_free
                        && norm.commands[i + 1..]
                            .iter()
                            .take(MEMO_LOOKBACK)
                            .any(|later| later == e)
                    {
                        judged.push((i, facts.clone(), matched.clone()));
                    }
                    (facts, matched)
                }
            };
            if ENV_LOADERS.contains(&e.name.as_str()) && facts.production && prod_env.is_none() {
                prod_env = facts.production_by.clone();
            } else if let Some(file) = &prod_env
                && !facts.production
                && e.args.iter().any(|w| !w.vars.is_empty())
            {
                facts.production = true;
                facts.production_by = Some(file.clone());
            }
            if (facts.paths | facts.stdin_paths).intersects(Classes::SECRET) {
                for (p, cls) in &facts.classified {
                    let p = p.trim_start_matches(['>', '<']);
                    if !cls.intersects(Classes::SECRET) && p.len() >= 3 && tainted.len() < 64 {
                        tainted.push(p.to_owned());
                    }
                }
            }
            if matched.iter().all(|r| r.mark || r.restricted)
                && let Some(d) = bash_default
                && d.verdict != Verdict::Allow
            {
                findings.push(Finding::new(
                    d.verdict,
                    d.risk,
                    "bash.default",
                    d.reason.clone(),
                ));
            }
            for r in &matched {
                if !seen.contains(&r.id.as_str()) {
                    seen.push(&r.id);
                }
                if !r.mark {
                    findings.push(Finding::from_rule(r, &facts));
                }
            }
            // A unified diff applied by `git apply` or `patch`: each file it changes is
            // judged as an Edit of it (`.claude/settings.json` through a diff is still
            // the guard's file).
            if let Some(diff) = patch::diff_input(e) {
                findings.extend(self.patch_findings(diff, base));
            }
            // What a command puts in a start-up file (a `persistence.*` rule matched)
            // decides whether that is review (E5) or planting code (D9).
            if follow_plants
                && matched.iter().any(|r| r.id.starts_with("persistence."))
                && (downloads
                    || mentions_download(&facts.text)
                    || (e.printed.as_deref()).is_some_and(|t| self.planted(t, base).is_some()))
            {
                findings.push(Finding::new(
                    Verdict::Deny,
                    Risk::Critical,
                    "persistence.planted_code",
                    "plants downloaded or denied code in a start-up or persistence file (it would run in every future session)",
                ));
            }
            if keep {
                reports.push(CommandReport {
                    command: e.clone(),
                    matched: matched.iter().map(|r| (r.id.clone(), r.verdict)).collect(),
                    facts,
                });
            }
        }
        for r in rules.chain_rules() {
            if r.chain_matches(&seen) {
                findings.push(Finding::from_rule(r, &Facts::default()));
            }
        }
        if let Some(why) = &norm.over_bound {
            findings.push(Finding::new(
                Verdict::Escalate,
                Risk::High,
                "shell.over_bound",
                format!("not fully analysed: {why}"),
            ));
        }
        if norm.parse_error {
            findings.push(Finding::new(
                Verdict::Escalate,
                Risk::Medium,
                "shell.parse_error",
                "the command does not parse cleanly as Bash",
            ));
        }
        let normalized: Vec<String> = norm.commands.iter().map(Effective::display).collect();
        let best = decide(findings).unwrap_or_else(|| match bash_default {
            Some(_) => Finding::new(
                Verdict::Allow,
                Risk::Low,
                "bash.allow",
                "no rule objects to these commands",
            ),
            // No Bash default means no packs loaded: fail closed.
            None => Finding::new(
                Verdict::Escalate,
                Risk::Medium,
                "policy.empty",
                "no policy rules are loaded",
            ),
        });
        Analysis {
            evaluation: best.into_evaluation(normalized),
            commands: reports,
            parse_error: norm.parse_error,
            over_bound: norm.over_bound,
        }
    }

    /// What the charter denies in `text` written into a start-up file, if anything:
    /// code that downloads code, or that would be denied if run now (an alias's body
    /// included: `alias ls='rm -rf ~'`).
    pub(crate) fn planted(&self, text: &str, base: Base<'_>) -> Option<String> {
        if mentions_download(text) {
            return Some("downloads code".to_owned());
        }
        let denied = |code: &str| {
            let inner = self.shell(code, base, false, false).evaluation;
            (inner.verdict == Verdict::Deny).then(|| format!("would be denied: {}", inner.reason))
        };
        denied(text).or_else(|| shell::alias_bodies(text).find_map(denied))
    }

    /// Facts of one effective command, read in the light of the line so far (the branch
    /// a `git checkout` moved to, files that received secrets), and the rules they match.
    fn judge(
        &self,
        e: &Effective,
        base: Base<'_>,
        flow: &mut GitFlow,
        tainted: &[String],
    ) -> (Facts, Vec<&Rule>) {
        let rules = &self.inner.rules;
        let mut facts = rules.facts(e, base);
        flow.follow(e, &mut facts);
        if !tainted.is_empty()
            && facts
                .args
                .iter()
                .map(String::as_str)
                .chain(
                    facts
                        .classified
                        .iter()
                        .map(|(p, _)| p.trim_start_matches(['<', '>'])),
                )
                .any(|a| tainted.iter().any(|t| names_file(a, t)))
        {
            facts.paths |= Classes::SECRET;
            facts.stdin_paths |= Classes::SECRET;
        }
        let matched = rules.matching(&facts);
        (facts, matched)
    }
}
