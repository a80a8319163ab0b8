//! A pack's TOML format: the structs a pack file deserialises into (commands, rules,
//! tool defaults), exactly as written. Separate because this is the schema pack
//! authors write against; parsing, compiling and matching live beside it.

use lighthouse_schemas::{Risk, Verdict};
use serde::Deserialize;
use std::collections::HashMap;

/// One policy pack as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    #[serde(default)]
    pub pack: PackMeta,
    /// Rule ids from earlier packs to drop.
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub command: Vec<CommandSpec>,
    #[serde(default)]
    pub tool: Vec<ToolDefault>,
    /// Boxed: a spec is most of a kilobyte, and a list of them grown step by step as
    /// it is read (JSON does not say how long it is) cost a cold hook 0.6 MB of copies.
    #[serde(default)]
    pub rule: Vec<Box<RuleSpec>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// How a command's arguments read.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Command names (`rm`) or `command subcommand` (`git push`).
    pub names: Vec<String>,
    /// Flag aliases to canonical names: `r = "recursive"`, `R = "recursive"`.
    #[serde(default)]
    pub flags: HashMap<String, String>,
    /// Options (short, long or canonical) that take a value.
    #[serde(default)]
    pub values: Vec<String>,
    /// The first operand is a pattern or script, not a path (grep, sed, awk).
    #[serde(default)]
    pub pattern_first: bool,
    /// No operand is a path (echo, printf).
    #[serde(default)]
    pub no_paths: bool,
    /// The first operand names a subcommand (`git push`).
    #[serde(default)]
    pub subcommands: bool,
    /// Options are words after one dash (`find -name x`), not clusters of letters.
    #[serde(default)]
    pub single_dash_long: bool,
    /// Facts about the command (`net`, `mutates`, …) that rules can test.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Options whose value is a file the command writes (`curl -o`, `sort -o`).
    #[serde(default)]
    pub writes: Vec<String>,
    /// Without a directory named, it serves the working directory (`python3 -m
    /// http.server` after `cd ~` serves the home directory).
    #[serde(default)]
    pub serves_cwd: bool,
    /// Options naming the directory it unpacks an archive into (`tar -C`, `unzip -d`);
    /// without one it unpacks into the working directory.
    #[serde(default)]
    pub unpacks_into: Vec<String>,
    /// Flags that make it unpack, for a command that also does other things (`tar
    /// -x`); empty: it always unpacks.
    #[serde(default)]
    pub unpack_flags: Vec<String>,
    /// Words after `--` are handed to another program (`gh repo clone R DIR -- --depth
    /// 1` passes them to git): read as option values, never as its operands.
    #[serde(default)]
    pub forwards_after_dashes: bool,
    /// Long options the command also accepts by any unambiguous prefix (git's
    /// parse-options: `--force-w` is `--force-with-lease`, `--har` is `--hard`).
    #[serde(default)]
    pub abbrev: Vec<String>,
}

/// What a tool gets when no rule matched it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolDefault {
    /// Tool name; a trailing `*` matches a prefix (`mcp__*`).
    pub name: String,
    pub verdict: Verdict,
    #[serde(default = "default_risk")]
    pub risk: Risk,
    #[serde(default)]
    pub reason: String,
    /// From a pack that is not built in (an operator's or a project's): it names its
    /// tools on purpose, so it also stands beside the judgement of the command an MCP
    /// tool is translated to, and the stricter of the two wins (a project's
    /// `mcp__k8s__* = deny` is not lifted because `kubectl get` would be allowed).
    #[serde(skip)]
    pub written: bool,
}

fn default_risk() -> Risk {
    Risk::Medium
}

/// One rule as written. Every condition given must hold.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub verdict: Option<Verdict>,
    /// The verdict when the command's target is production (a host, database, bucket,
    /// namespace, context, profile, workspace or environment named prod/production/live).
    pub production: Option<Verdict>,
    /// A fact for chain rules, not a decision: it never decides a call by itself.
    #[serde(default)]
    pub mark: bool,
    /// Rule ids (`*` suffix for prefixes) that must each have matched some command of
    /// the same command line: the rule judges the whole chain (`reset --hard` *and*
    /// `clean -f`; a secret read *and* a send).
    #[serde(default)]
    pub chain_all: Vec<String>,
    pub risk: Option<Risk>,
    #[serde(default)]
    pub reason: String,
    /// A safer command to suggest (it must itself pass the policy).
    pub alternative: Option<String>,
    /// Effective command or tool names; `*` suffix for prefixes; empty = any.
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub not_commands: Vec<String>,
    /// Subcommand (first operand of a `subcommands` command).
    #[serde(default)]
    pub sub: Vec<String>,
    #[serde(default)]
    pub flags_all: Vec<String>,
    #[serde(default)]
    pub flags_any: Vec<String>,
    #[serde(default)]
    pub flags_none: Vec<String>,
    /// Path classes of any operand or option value.
    #[serde(default)]
    pub paths_any: Vec<String>,
    /// Path classes no operand or option value may have.
    #[serde(default)]
    pub paths_none: Vec<String>,
    /// Path classes of the last operand (the destination of cp, mv, ln, …).
    #[serde(default)]
    pub dest_any: Vec<String>,
    /// Path classes of the operands before the last (the sources of cp, mv, …).
    #[serde(default)]
    pub src_any: Vec<String>,
    /// Path classes of files written by redirects or by interpreter code.
    #[serde(default)]
    pub writes_any: Vec<String>,
    /// Path classes no file written by a redirect or interpreter code may have.
    #[serde(default)]
    pub writes_none: Vec<String>,
    /// Path classes of the files read upstream in the pipeline.
    #[serde(default)]
    pub stdin_paths_any: Vec<String>,
    /// Regexes; one must match some operand or option value.
    #[serde(default)]
    pub args_any: Vec<String>,
    /// Regexes; none may match any operand or option value.
    #[serde(default)]
    pub args_none: Vec<String>,
    /// Regexes over the whole command line, its inline code and known stdin.
    #[serde(default)]
    pub text_any: Vec<String>,
    /// Regexes; none may match the text `text_any` sees (`UPDATE … SET` without `WHERE`).
    #[serde(default)]
    pub text_none: Vec<String>,
    /// Regexes; one must match an operand (not an option value, not the subcommand).
    #[serde(default)]
    pub operands_any: Vec<String>,
    #[serde(default)]
    pub tags_any: Vec<String>,
    #[serde(default)]
    pub tags_all: Vec<String>,
    #[serde(default)]
    pub tags_none: Vec<String>,
    /// Commands whose output is being run as code (`curl` for `curl … | sh`).
    #[serde(default)]
    pub script_from_any: Vec<String>,
    /// Commands upstream in the pipeline (`env` for `env | curl -d @- …`).
    #[serde(default)]
    pub stdin_from_any: Vec<String>,
}
