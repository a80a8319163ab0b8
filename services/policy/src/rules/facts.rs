//! What the rules see of one effective command ([`Facts`]): reading its arguments
//! through the command's spec into flags, operands, classified paths, tags and text.
//! Separate because reading a command is the longest single step, and independent of
//! how rules are compiled or matched.

use super::file::CommandSpec;
use crate::paths::{self, Base, Classes};
use crate::shell::{Effective, RedirectKind};
use crate::targets;
use crate::twin_regex::TwinRegex;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// What the rules see of one effective command.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub name: String,
    pub sub: Option<String>,
    pub flags: BTreeSet<String>,
    /// Operands and option values, as text.
    pub args: Vec<String>,
    pub paths: Classes,
    pub dest: Classes,
    pub src: Classes,
    pub writes: Classes,
    pub stdin_paths: Classes,
    pub tags: BTreeSet<String>,
    pub script_from: Vec<String>,
    pub stdin_from: Vec<String>,
    /// Whole command line plus inline code and known stdin, for `text_any`.
    pub text: String,
    /// Paths with their classes, for explanations.
    pub classified: Vec<(String, Classes)>,
    /// Operands only (no option values, no subcommand), for `operands_any`.
    pub operands: Vec<String>,
    /// The command's target is production (see [`crate::targets`]).
    pub production: bool,
    /// What named the target production, for explanations.
    pub production_by: Option<String>,
}

/// Members an archive may hold that land on the guard's files when it unpacks inside
/// an agent's config dir (`tar -x -C .codex`).
const GUARD_MEMBERS: &[&str] = &["settings.json", "config.toml", "hooks/hook.sh"];

/// A [`CommandSpec`] with sets for the per-argument lookups.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    flags: HashMap<String, String>,
    values: HashSet<String>,
    writes: HashSet<String>,
    pattern_first: bool,
    no_paths: bool,
    subcommands: bool,
    single_dash_long: bool,
    serves_cwd: bool,
    unpacks_into: HashSet<String>,
    unpack_flags: Vec<String>,
    forwards_after_dashes: bool,
    tags: Vec<String>,
    abbrev: Vec<String>,
}

impl From<&CommandSpec> for Spec {
    fn from(c: &CommandSpec) -> Spec {
        Spec {
            flags: c.flags.clone(),
            values: c.values.iter().cloned().collect(),
            writes: c.writes.iter().cloned().collect(),
            pattern_first: c.pattern_first,
            no_paths: c.no_paths,
            subcommands: c.subcommands,
            single_dash_long: c.single_dash_long,
            serves_cwd: c.serves_cwd,
            unpacks_into: c.unpacks_into.iter().cloned().collect(),
            unpack_flags: c.unpack_flags.clone(),
            forwards_after_dashes: c.forwards_after_dashes,
            tags: c.tags.clone(),
            abbrev: c.abbrev.clone(),
        }
    }
}

/// Path `t` as a command moved to `moved` (by `cd`, `-C`) sees it.
fn seen_from<'t>(moved: Option<&str>, t: &'t str) -> Cow<'t, str> {
    match moved {
        Some(dir) if !t.starts_with('/') && !t.starts_with('~') => {
            Cow::Owned(format!("{}/{t}", dir.trim_end_matches('/')))
        }
        _ => Cow::Borrowed(t),
    }
}

impl Spec {
    /// Whether option `name` (canonically `canon`) names the directory it unpacks into.
    fn unpacks_into(&self, name: &str, canon: &str) -> bool {
        self.unpacks_into.contains(name) || self.unpacks_into.contains(canon)
    }

    /// Whether the command unpacks an archive, given its `flags` and its `first`
    /// argument (tar's old style puts its letters there without a dash: `tar xzf a.tgz`).
    fn unpacks(&self, flags: &BTreeSet<String>, first: Option<&str>) -> bool {
        if self.unpacks_into.is_empty() {
            return false;
        }
        if self.unpack_flags.is_empty() || self.unpack_flags.iter().any(|u| flags.contains(u)) {
            return true;
        }
        first.is_some_and(|w| {
            w.chars().all(|c| c.is_ascii_alphabetic())
                && w.chars().any(|c| {
                    let mut buf = [0u8; 4];
                    let key: &str = c.encode_utf8(&mut buf);
                    self.flags
                        .get(key)
                        .is_some_and(|f| self.unpack_flags.contains(f))
                })
        })
    }

    /// The long option an abbreviation stands for, when it names exactly one of
    /// `abbrev`. An exact name or an ambiguous prefix (which git refuses) stays as is.
    fn unabbreviate(&self, name: &str) -> Option<&str> {
        if self.abbrev.is_empty() || name.is_empty() || self.abbrev.iter().any(|a| a == name) {
            return None;
        }
        let mut hits = self.abbrev.iter().filter(|a| a.starts_with(name));
        let first = hits.next()?;
        hits.next().is_none().then_some(first.as_str())
    }
}

/// Reads an effective command the way the rules see it, through the rule set's command
/// specs by name ([`super::RuleSet::facts`]).
pub(super) fn read<'e>(
    specs: &HashMap<String, Arc<Spec>>,
    e: &'e Effective,
    base: Base<'_>,
) -> Facts {
    // After `cd`, relative paths resolve in the new directory, but the project (what
    // counts as inside) stays where the agent is.
    let moved = e.cwd.as_deref().filter(|c| *c != base.cwd);
    let mut f = Facts {
        name: e.name.clone(),
        tags: e.tags.iter().cloned().collect(),
        script_from: e.script_from.clone(),
        ..Facts::default()
    };
    let mut spec = specs.get(&e.name).cloned();
    if let Some(s) = &spec {
        f.tags.extend(s.tags.iter().cloned());
    }
    let mut operands: Vec<&str> = Vec::new();
    let mut values: Vec<&str> = Vec::new();
    // Values of options that name a file the command writes.
    let mut written: Vec<&str> = Vec::new();
    // Values of options that name the directory an archive unpacks into.
    let mut unpack_dirs: Vec<&str> = Vec::new();
    // Values of options that name a key the command signs with (`ssh -i KEY`).
    let mut identity: Vec<&str> = Vec::new();
    let signs_with = IDENTITY_COMMANDS.contains(&e.name.as_str());
    let mut end_opts = false;
    // Past a `--` whose words another program gets (see `forwards_after_dashes`).
    let mut forwarded = false;
    let mut sub_depth = 1;
    let mut i = 0;
    let args = &e.args;
    while i < args.len() {
        let t = args[i].text.as_str();
        if forwarded {
            values.push(t);
            i += 1;
            continue;
        }
        let numeric = t.len() > 1
            && t.get(1..)
                .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()));
        // `chmod -x file`: a mode, not an option.
        let mode = e.name == "chmod" && t.len() > 1 && t[1..].chars().all(|c| "rwxXst".contains(c));
        if end_opts
            || t == "-"
            || !t.starts_with('-')
            || (numeric && t.starts_with('-') && e.name != "kill")
            || mode
        {
            if spec.as_ref().is_some_and(|s| s.subcommands)
                && (f.sub.is_none() || operands.is_empty())
                && !(f.sub.is_some() && sub_depth > 1)
            {
                // A second level (`uv pip install`) joins the first: `pip install`.
                let sub = match f.sub.take() {
                    Some(first) => {
                        sub_depth += 1;
                        format!("{first} {t}")
                    }
                    None => t.to_owned(),
                };
                let key = format!("{} {}", e.name, sub);
                f.sub = Some(sub);
                if let Some(s2) = specs.get(&key) {
                    f.tags.extend(s2.tags.iter().cloned());
                    spec = Some(s2.clone());
                } else if sub_depth == 1 && !spec.as_ref().is_some_and(|s| s.single_dash_long) {
                    spec = None;
                } else if let Some(s) = spec.as_mut() {
                    // A second level, or a tool whose options read alike everywhere
                    // (`terraform destroy -var-file=…`): keep reading them as before.
                    let mut flat = (**s).clone();
                    flat.subcommands = false;
                    *s = Arc::new(flat);
                }
            } else {
                operands.push(t);
            }
            i += 1;
            continue;
        }
        if t == "--" {
            if spec.as_ref().is_some_and(|s| s.forwards_after_dashes) {
                forwarded = true;
            } else {
                end_opts = true;
            }
            i += 1;
            continue;
        }
        // Without a spec, `-name=value` (a name of two or more letters) is a long
        // option with a value, not a cluster of one-letter flags: `flyway
        // -url=jdbc:…prod… clean` names its target in the value.
        let single_long = (spec.as_ref().is_some_and(|s| s.single_dash_long) && t.len() > 2)
            || (spec.is_none() && is_single_dash_assignment(t));
        if let Some(long) = t
            .strip_prefix("--")
            .or_else(|| t.strip_prefix('-').filter(|_| single_long))
        {
            let (name, val) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let full = spec
                .as_ref()
                .and_then(|s| s.unabbreviate(name).map(str::to_owned));
            let name = full.as_deref().unwrap_or(name);
            let canon = spec
                .as_ref()
                .and_then(|s| s.flags.get(name).cloned())
                .unwrap_or_else(|| name.to_owned());
            let takes = spec
                .as_ref()
                .is_some_and(|s| s.values.contains(name) || s.values.contains(&canon));
            let writes = spec
                .as_ref()
                .is_some_and(|s| s.writes.contains(name) || s.writes.contains(&canon));
            let into = spec.as_ref().is_some_and(|s| s.unpacks_into(name, &canon));
            let v = match val {
                Some(v) => Some(v),
                None if takes => args.get(i + 1).map(|v| {
                    i += 1;
                    v.text.as_str()
                }),
                None => None,
            };
            f.flags.insert(canon);
            if let Some(v) = v {
                values.push(v);
                if writes {
                    written.push(v);
                }
                if into {
                    unpack_dirs.push(v);
                }
            }
            i += 1;
            continue;
        }
        let cluster = &t[1..];
        let mut consumed = false;
        for (pos, ch) in cluster.char_indices() {
            let mut buf = [0u8; 4];
            let key: &str = ch.encode_utf8(&mut buf);
            let canon = spec
                .as_ref()
                .and_then(|s| s.flags.get(key).cloned())
                .unwrap_or_else(|| key.to_owned());
            let takes = spec
                .as_ref()
                .is_some_and(|s| s.values.contains(key) || s.values.contains(&canon));
            let writes = spec
                .as_ref()
                .is_some_and(|s| s.writes.contains(key) || s.writes.contains(&canon));
            let into = spec.as_ref().is_some_and(|s| s.unpacks_into(key, &canon));
            f.flags.insert(canon);
            if takes {
                let rest = &cluster[pos + ch.len_utf8()..];
                let v = if !rest.is_empty() {
                    Some(rest)
                } else {
                    consumed = args.get(i + 1).is_some();
                    args.get(i + 1).map(|v| v.text.as_str())
                };
                if let Some(v) = v {
                    values.push(v);
                    if writes {
                        written.push(v);
                    }
                    if into {
                        unpack_dirs.push(v);
                    }
                    if signs_with && is_identity_option(key, v) {
                        identity.push(v);
                    }
                }
                break;
            }
        }
        i += if consumed { 2 } else { 1 };
    }
    let no_paths = spec.as_ref().is_some_and(|s| s.no_paths);
    let pattern_first = spec.as_ref().is_some_and(|s| s.pattern_first)
        && !["expression", "regexp", "file", "e", "f"]
            .iter()
            .any(|p| f.flags.contains(*p));
    // The same word is often classified several times (as a path, then as the
    // destination or a source): remember each answer for this command.
    let seen: RefCell<Vec<(&'e str, Classes)>> = RefCell::new(Vec::new());
    let place = |t: &str| paths::classify(&seen_from(moved, t), base);
    let classify = |t: &'e str| {
        if let Some((_, c)) = seen.borrow().iter().find(|(k, _)| *k == t) {
            return *c;
        }
        let mut c = place(t);
        if e.name == "rm"
            && c.intersects(Classes::PROJECT_SOURCE)
            && paths::dotnet_bin(t, &operands)
        {
            c = c.without(Classes::PROJECT_SOURCE) | Classes::BUILD_OUTPUT;
        }
        seen.borrow_mut().push((t, c));
        c
    };
    if !no_paths {
        let skip = usize::from(pattern_first);
        // `git show HEAD~1:.env` reads `.env` as of a revision.
        let blobs = e.name == "git"
            && matches!(
                f.sub.as_deref(),
                Some("show" | "cat-file" | "diff" | "grep")
            );
        for t in operands.iter().skip(skip).chain(values.iter()) {
            // A key ssh signs with is read on this machine and never sent: it is
            // no secret leaving (`ssh -i ~/.ssh/id_ed25519 host`), only where it is.
            // The very option value (by address): the same text as an operand
            // (`scp -i K K host:`) is a file copied.
            if identity.iter().any(|x| std::ptr::eq(*x, *t)) {
                for cand in path_candidates(t) {
                    let c = without_secret(classify(cand));
                    f.paths |= c;
                    f.classified.push((cand.to_owned(), c));
                }
                continue;
            }
            let blob = t
                .split_once(':')
                .map(|(_, p)| p.trim_start_matches("./"))
                .filter(|p| blobs && !p.is_empty() && !p.starts_with('/'));
            for cand in path_candidates(t).chain(blob) {
                let c = classify(cand);
                f.paths |= c;
                f.classified.push((cand.to_owned(), c));
            }
        }
        let ops: Vec<&str> = operands.iter().skip(skip).copied().collect();
        let names_dir = f.flags.contains("directory")
            || ops.iter().any(|t| path_candidates(t).next().is_some());
        if spec.as_ref().is_some_and(|s| s.serves_cwd) && !names_dir {
            let c = classify(".");
            f.paths |= c;
            f.classified.push((".".to_owned(), c));
        }
        let first = args.first().map(|w| w.text.as_str());
        if spec.as_ref().is_some_and(|s| s.unpacks(&f.flags, first)) {
            // Where the archive's members land: its directory, else the working one.
            f.tags.insert("unpacks".to_owned());
            let mut dirs = std::mem::take(&mut unpack_dirs);
            if dirs.is_empty() {
                dirs.push(".");
            }
            if f.flags.contains("absolute-names") {
                dirs.push("/");
            }
            for d in dirs {
                let dir = seen_from(moved, d);
                let member =
                    |m: &str| paths::classify(&format!("{}/{m}", dir.trim_end_matches('/')), base);
                // Where its members land; inside an agent's config dir (`.codex`) that is
                // on its settings or hooks.
                let mut c = member("x");
                if GUARD_MEMBERS
                    .iter()
                    .any(|m| member(m).intersects(Classes::GUARD))
                {
                    c |= Classes::GUARD;
                }
                if paths::above_guard(&dir, base) {
                    f.tags.insert("unpacks_above_guard".to_owned());
                }
                f.dest |= c;
                f.classified.push((format!("{d} (unpacked into)"), c));
            }
        }
        if let Some((last, before)) = ops.split_last() {
            if !before.is_empty()
                || matches!(e.name.as_str(), "tee" | "sponge" | "touch" | "truncate")
            {
                for cand in path_candidates(last) {
                    let mut c = classify(cand);
                    // A top-level directory (`/tmp/`, `/etc`): the files land inside it.
                    if c.intersects(Classes::SYSTEM_TOP) {
                        c = place(&format!("{}/x", cand.trim_end_matches('/')));
                    }
                    f.dest |= c;
                }
            }
            for t in before {
                for cand in path_candidates(t) {
                    f.src |= classify(cand);
                }
            }
        }
    }
    for r in &e.redirects {
        let c = classify(&r.target.text);
        match r.kind {
            RedirectKind::Write | RedirectKind::Append => {
                f.writes |= c;
                f.classified.push((format!(">{}", r.target.text), c));
            }
            RedirectKind::Read => {
                f.paths |= c;
                f.classified.push((format!("<{}", r.target.text), c));
            }
            RedirectKind::Dup => {}
        }
    }
    for w in &written {
        let c = classify(w);
        f.writes |= c;
        f.classified.push((format!(">{w}"), c));
    }
    // A file-transfer client's own script (`lftp -e 'put .env; bye'`, `smbclient -c
    // 'put .env'`): the files it puts are local files sent off the machine.
    if TRANSFER_SCRIPTED.contains(&e.name.as_str()) {
        for &v in &values {
            for file in script_uploads(v) {
                let c = classify(file);
                f.paths |= c;
                f.classified.push((file.to_owned(), c));
                f.tags.insert("script_upload".to_owned());
            }
        }
    }
    if let Some(s) = &e.stdin {
        f.stdin_from = s.producers.clone();
        for p in &s.paths {
            if paths::looks_like_path(&p.text) {
                f.stdin_paths |= classify(&p.text);
            }
        }
    }
    // Data pulled in by substitutions (`-d "$(cat ~/.ssh/id_rsa)"`) counts as input.
    for w in &e.args {
        for p in &w.inputs {
            if paths::looks_like_path(p) {
                f.stdin_paths |= classify(p);
            }
        }
        if w.vars.iter().any(|v| SECRET_VAR.is_match(v)) {
            f.tags.insert("secret_var".to_owned());
        }
        // The whole environment in a word (`-d "$(env)"`, `$(cat /proc/self/environ)`):
        // every token and key in it rides along.
        if w.subst.iter().any(|s| ENV_DUMPERS.contains(&s.as_str()))
            || w.inputs.iter().any(|p| is_environ_file(p))
        {
            f.tags.insert("env_in_word".to_owned());
        }
        // Words made of the unfiltered process list's output (`ps aux | awk … |
        // xargs kill`, `kill $(ps -eo pid=)`): they may name every process. A grep
        // in between picks some (`ps -ef | grep vite | … | xargs kill`): which ones,
        // the grep's own rule says (`guard.searches_process_table`).
        if w.subst.iter().any(|s| s == "ps") {
            let picked = w
                .subst
                .iter()
                .any(|s| matches!(s.as_str(), "grep" | "egrep" | "fgrep" | "rg" | "ag"));
            let tag = if picked {
                "picked_from_process_list"
            } else {
                "from_process_list"
            };
            f.tags.insert(tag.to_owned());
        }
    }
    // A process pattern is a regex (`pkill -f 'lighth[o]use'`); pids looked up by
    // `pgrep`/`pidof` in a substitution are what `kill` signals.
    if matches!(e.name.as_str(), "pkill" | "pgrep" | "pidof" | "killall")
        && operands.iter().any(|o| crate::procpat::names_guard(o))
    {
        f.tags.insert("names_guard_process".to_owned());
    }
    super::guard_facts::add(e, &mut f.tags);
    if e.args
        .iter()
        .any(|w| w.subst.iter().any(|s| s == "pgrep" || s == "pidof"))
    {
        f.tags.insert("pids_from_lookup".to_owned());
    }
    // `tee`, `sponge` and `dd of=` write through their operands.
    if e.name == "tee" || e.name == "sponge" {
        f.writes |= f.paths;
    }
    if e.name == "dd" {
        for t in &operands {
            if let Some(p) = t.strip_prefix("of=") {
                f.writes |= classify(p);
            }
        }
    }
    f.args = operands
        .iter()
        .chain(values.iter())
        .map(|s| (*s).to_owned())
        .collect();
    f.operands = operands.iter().map(|s| (*s).to_owned()).collect();
    // Production awareness: operands, option values, unresolved variable names and
    // environment settings name the target.
    let named = operands
        .iter()
        .chain(values.iter())
        .copied()
        .chain(
            e.args
                .iter()
                .flat_map(|w| w.vars.iter().chain(&w.named).map(String::as_str)),
        )
        // What its producers named: it acts on their results.
        .chain(
            e.stdin
                .iter()
                .flat_map(|s| s.named.iter().map(String::as_str)),
        )
        .chain(
            e.env
                .iter()
                .filter(|(k, _)| targets::is_selector_var(k))
                .map(|(_, v)| v.as_str()),
        )
        // A directory the chain moved into below the agent's own (`cd infra/prod &&
        // terraform destroy`): tools read their target from it. Only the part below
        // the agent's directory: the user's own path names nothing.
        .chain(moved.and_then(|c| {
            c.strip_prefix(base.cwd)
                .filter(|rest| rest.starts_with('/'))
        }));
    for t in named {
        if targets::classify(t) == targets::Target::Production {
            f.production = true;
            f.production_by = Some(t.to_owned());
            break;
        }
    }
    if let Some(sub) = &f.sub {
        f.args.insert(0, sub.clone());
    }
    let mut text = String::with_capacity(64);
    text.push_str(&e.name);
    for a in &e.args {
        text.push(' ');
        text.push_str(&a.text);
    }
    for r in &e.redirects {
        text.push_str(if r.kind == RedirectKind::Read {
            " <"
        } else {
            " >"
        });
        text.push_str(&r.target.text);
    }
    if let Some(code) = &e.code {
        text.push('\n');
        text.push_str(code);
    }
    if let Some(t) = e.stdin.as_ref().and_then(|s| s.text.as_ref()) {
        text.push('\n');
        text.push_str(t);
    }
    // What it writes into files, when known (`printf '%s=%s' HOME /x >> .env` writes
    // `HOME=/x`): as a Write tool's content is, for rules on what a file gets.
    if let Some(t) = e.printed.as_ref().filter(|_| !f.writes.is_empty()) {
        text.push('\n');
        text.push_str(t);
    }
    // What substitutions read (`kill $(pgrep -f lighthouse)`), for text rules.
    for w in &e.args {
        for i in &w.inputs {
            text.push(' ');
            text.push_str(i);
        }
    }
    f.text = if crate::sql::is_client(&e.name) {
        crate::sql::blank_literals(&text)
    } else {
        text
    };
    f
}

/// Commands that authenticate with a private key named by `-i` (or `-o IdentityFile=`):
/// the key signs a challenge locally, it is not data the command sends. A key given
/// as a file to copy (`scp ~/.ssh/id_rsa host:`) is an operand and still a secret.
const IDENTITY_COMMANDS: &[&str] = &["ssh", "scp", "sftp", "autossh"];

/// Whether option `key` with value `v` names the identity file of an ssh-family command.
fn is_identity_option(key: &str, v: &str) -> bool {
    key == "i"
        || (key == "o"
            && v.get(..13)
                .is_some_and(|p| p.eq_ignore_ascii_case("identityfile=")))
}

/// `-name=value` with a name of at least two option characters (`-url=…`, `-Dk=v`).
fn is_single_dash_assignment(t: &str) -> bool {
    t.strip_prefix('-')
        .filter(|r| !r.starts_with('-'))
        .and_then(|r| r.split_once('='))
        .is_some_and(|(name, _)| {
            name.len() >= 2
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
}

/// `c` without the `secret` attribute (location classes kept).
fn without_secret(c: Classes) -> Classes {
    c.names()
        .into_iter()
        .filter(|n| *n != "secret")
        .filter_map(Classes::from_name)
        .fold(Classes::empty(), |a, b| a | b)
}

/// Environment variable names that usually hold credentials.
pub(super) static SECRET_VAR: std::sync::LazyLock<TwinRegex> = std::sync::LazyLock::new(|| {
    crate::interp::static_regex(
        r"(?i)(secret|token|passw(or)?d|api_?key|private_?key|credential|access_?key|session_?key|_pat$|^pat_|client_?secret)",
    )
});

/// File-transfer clients that run a script of their own commands (`-e`/`-c`).
const TRANSFER_SCRIPTED: &[&str] = &["lftp", "smbclient"];

/// The local files a transfer script puts (`put a; mput b c; mirror -R dir`).
fn script_uploads(script: &str) -> impl Iterator<Item = &str> {
    script
        .split([';', '\n', '&', '|'])
        .filter_map(|stmt| {
            let mut words = stmt.split_whitespace();
            let verb = words.next()?;
            let mirror = verb == "mirror";
            let puts = matches!(verb, "put" | "mput" | "reput" | "append" | "rput");
            let reverse = mirror
                && stmt
                    .split_whitespace()
                    .any(|w| w == "-R" || w == "--reverse");
            (puts || reverse).then_some(words)
        })
        .flatten()
        .filter(|w| !w.starts_with('-'))
}

/// Commands that print the whole environment (`env`, `printenv`, `export -p`, `set`).
const ENV_DUMPERS: &[&str] = &["env", "printenv", "export", "set", "declare", "compgen"];

/// `/proc/self/environ`, `/proc/1/environ`: a process's environment.
fn is_environ_file(p: &str) -> bool {
    p.strip_prefix("/proc/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(_, rest)| rest == "environ")
}

fn path_candidates(t: &str) -> impl Iterator<Item = &str> {
    let mut v: Vec<&str> = Vec::with_capacity(2);
    // Numbers (`truncate -s 0`, `-n 3`) are sizes and counts, not files.
    if t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'+' || b == b'-')
    {
        return v.into_iter();
    }
    if paths::looks_like_path(t) {
        v.push(t);
    }
    // `key=@file` reads the file whatever the key (`gh api -F 'files[a.txt][content]=@.env'`).
    if let Some((k, val)) = t.split_once('=')
        && !k.is_empty()
        && (k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || (val.starts_with('@') && !k.contains(char::is_whitespace)))
    {
        let val = val.strip_prefix('@').unwrap_or(val);
        if paths::looks_like_path(val) {
            v.push(val);
        }
    }
    if let Some(p) = t.strip_prefix('@')
        && paths::looks_like_path(p)
    {
        v.push(p);
    }
    // `~/.ssh:/root/.ssh` (a volume), `/src:/dst`: the local side is a path too.
    if let Some((left, _)) = t.split_once(':')
        && (left.starts_with('/') || left.starts_with('~'))
        && paths::looks_like_path(left)
    {
        v.push(left);
    }
    v.into_iter()
}
