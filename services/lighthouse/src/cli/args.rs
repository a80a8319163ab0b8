//! The command line: every command, its options and their help.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lighthouse",
    version,
    about = "Guard and coordination layer for AI coding agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Agent hook: reads the hook JSON on stdin, answers in the agent's protocol
    /// (claude, codex or gemini).
    Hook {
        #[arg(value_parser = ["claude", "codex", "gemini"])]
        agent: String,
    },
    /// Runs the whole pipeline on this machine (nats-server, topology, validator).
    Up {
        /// Use this NATS server instead of starting one.
        #[arg(long)]
        nats_url: Option<String>,
        /// Client port for the embedded server (0 = any free port).
        #[arg(long)]
        port: Option<u16>,
        /// Where the embedded server keeps its data (default: setting up.data_dir, else
        /// $XDG_DATA_HOME/lighthouse/data or ~/.local/share/lighthouse/data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Also run the projector, mounting the read-only project view here.
        #[arg(long)]
        mount: Option<PathBuf>,
        /// Serve TLS only, with a CA and certificates generated for this run.
        #[arg(long)]
        tls: bool,
    },
    /// Runs the projector: the projects as a read-only FUSE filesystem.
    Projector {
        /// Where to mount the view.
        #[arg(long)]
        mount: PathBuf,
    },
    /// Imports or refreshes a whole tree into LH_FS (only changed files).
    Sync {
        /// Directory to sync (default: the current one).
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Health of NATS, the streams and the workers; exit 0 only when healthy.
    Status {
        #[arg(long)]
        json: bool,
        /// A live view: rates, latency, lag, fallback share, presence, refreshed.
        #[arg(long, conflicts_with = "json")]
        watch: bool,
        /// Seconds between refreshes of `--watch`.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
        /// Stop `--watch` after this many refreshes (default: until Ctrl-C).
        #[arg(long)]
        frames: Option<usize>,
    },
    /// The last decisions from the audit log.
    Decisions {
        #[arg(long, default_value_t = 20)]
        last: usize,
        #[arg(long)]
        json: bool,
    },
    /// Registers the hook with an agent (claude, codex or gemini), idempotently.
    Install {
        #[arg(value_parser = ["claude", "codex", "gemini"])]
        agent: String,
        /// This project's settings, at its root (the nearest directory above with `.git`
        /// or `.lighthouse`); the default.
        #[arg(long, conflicts_with = "user")]
        project: bool,
        /// The user's settings.
        #[arg(long)]
        user: bool,
    },
    /// Checks the decision log: signatures, one decision per command, gaps.
    Audit(AuditArgs),
    /// Scoped exceptions: a human's standing approval of one escalated call
    /// (grant, list, revoke).
    Exception {
        #[command(subcommand)]
        command: crate::exception::ExceptionCmd,
    },
    /// The admin key that signs policy packs which loosen the policy.
    Admin {
        #[command(subcommand)]
        command: AdminCmd,
    },
    /// NATS administration.
    Nats {
        #[command(subcommand)]
        command: NatsCmd,
    },
    /// Runs one validator replica against the configured server.
    Validator {
        /// Worker id (default: host-pid).
        #[arg(long)]
        id: Option<String>,
        /// Runtime worker threads (default: one per core). 1 models a one-CPU pod.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Decides one hook payload (stdin) with the local policy; prints one JSON line.
    ///
    /// Example: echo '{"hook_event_name":"PreToolUse","tool_name":"Bash",
    /// "tool_input":{"command":"rm -rf ~"},"cwd":"/tmp","session_id":"s"}' | lighthouse check
    ///
    /// Exit codes (one payload): 0 allow, 1 deny (also for malformed input: fail
    /// closed), 2 escalate (the agent would ask), 64 usage or configuration error.
    Check {
        /// Many payloads, one per line: one decision line each (exit 0 once all are read).
        #[arg(long)]
        jsonl: bool,
    },
    /// Shows how a shell command (or, with `--payload`, a hook payload on stdin) is
    /// understood and decided: the same decision `check` and the validators make.
    Explain {
        /// Working directory the command runs in.
        #[arg(long)]
        cwd: Option<PathBuf>,
        /// Read one hook payload (any tool) from stdin instead of a command.
        #[arg(long)]
        payload: bool,
        /// The command, after `--`.
        #[arg(trailing_var_arg = true, required_unless_present = "payload")]
        command: Vec<String>,
    },
    /// Policy tools: evaluate a corpus, publish a project's pack.
    Policy {
        #[command(subcommand)]
        command: PolicyCmd,
    },
    /// Annotates the definition at a line of a file; the note follows it through edits.
    Annotate(AnnotateArgs),
    /// The current annotations of a file, at their current lines.
    Annotations {
        file: PathBuf,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// AST anchors: where an annotated definition went in a new version of a file.
    Anchor {
        #[command(subcommand)]
        command: AnchorCmd,
    },
    /// Runs one annotator replica (re-anchors annotations when files change).
    Annotator {
        #[arg(long)]
        id: Option<String>,
    },
    /// Runs one escalation aggregator replica against the configured server.
    Aggregator {
        /// Worker id (default: host-pid).
        #[arg(long)]
        id: Option<String>,
    },
    /// Expert side of escalations: watch the queue, vote.
    Expert {
        #[command(subcommand)]
        command: ExpertCmd,
    },
    /// MCP server for experts (LLM agents): escalations, context, votes, annotations,
    /// files, and a permission-prompt tool for Claude Code. Stdio unless --listen.
    Mcp(crate::mcp::McpArgs),
    /// Saves every stream, KV bucket and object store (with consumers) into DIR.
    Backup {
        /// A new or empty directory.
        dir: PathBuf,
    },
    /// Restores a backup made by `lighthouse backup` into an empty store.
    Restore {
        dir: PathBuf,
        /// Replicas of the restored streams (default: as saved).
        #[arg(long)]
        replicas: Option<usize>,
    },
    /// Rebuilds a projection (the FUSE view's files, the annotation store, the
    /// escalation table) from the streams into a fresh directory.
    Replay(ReplayArgs),
    /// A file's versions on the log, or its content at a version or a time.
    History(HistoryArgs),
    /// HTTP health check for images without a shell: exit 0 only on a 2xx answer.
    Probe {
        /// e.g. http://127.0.0.1:9464/readyz
        url: String,
    },
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
}

/// `lighthouse annotate`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub line: usize,
    #[arg(long)]
    pub message: String,
    #[arg(long)]
    pub category: String,
    /// info, low, medium, high or critical.
    #[arg(long, default_value = "medium", value_parser = parse_severity)]
    pub severity: lighthouse_schemas::msg::Severity,
    /// Who annotates (default: $USER).
    #[arg(long)]
    pub expert: Option<String>,
    /// Project name (default: the enclosing repository's directory name).
    #[arg(long)]
    pub project: Option<String>,
}

/// `lighthouse replay`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Where to start: a stream sequence, or a time (RFC 3339, or an age: 2h).
    #[arg(long, default_value = "1")]
    pub from: String,
    /// Where to stop (inclusive): a sequence or a time. Default: the end.
    #[arg(long)]
    pub to: Option<String>,
    /// A new or empty directory.
    #[arg(long)]
    pub into: PathBuf,
    #[arg(long, value_enum, default_value = "all")]
    pub projection: crate::replay::Projection,
    #[arg(long)]
    pub json: bool,
}

/// `lighthouse history`'s arguments.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The file (in a project on disk), or its project-relative path with --project.
    pub file: PathBuf,
    #[arg(long)]
    pub project: Option<String>,
    /// Print the content current at this time (RFC 3339, or an age: 2h).
    #[arg(long, conflicts_with = "version")]
    pub at: Option<String>,
    /// Print the content of this version (LH_FS sequence or hash prefix).
    #[arg(long)]
    pub version: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExpertCmd {
    /// Prints escalations of a specialty as they arrive; present while it runs.
    Watch {
        #[arg(long)]
        specialty: String,
        /// Expert id (default: $USER).
        #[arg(long)]
        id: Option<String>,
    },
    /// Votes to approve an escalated command.
    Approve(VoteArgs),
    /// Votes to reject an escalated command.
    Reject(VoteArgs),
}

#[derive(Debug, clap::Args)]
pub struct VoteArgs {
    /// The escalated command's id (as `expert watch` prints it).
    pub cmd_id: String,
    /// Why: the agent reads this.
    #[arg(long)]
    pub reason: String,
    /// The specialty voted as.
    #[arg(long, default_value = "human")]
    pub specialty: String,
    /// Expert id (default: $USER).
    #[arg(long)]
    pub id: Option<String>,
    /// A suggestion for the agent (repeatable).
    #[arg(long)]
    pub suggest: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum NatsCmd {
    /// Creates or updates every stream, consumer and bucket in nats/.
    Apply {
        /// Replicas of every stream and bucket (3 on a 3-node cluster). Default:
        /// `nats.replicas`, else what the server has (1 for new streams).
        #[arg(long)]
        replicas: Option<usize>,
    },
    /// Creates the role identities in DIR (if missing) and prints the server's
    /// users and permissions for them (for compose/k8s: include it in the server config).
    Auth {
        /// Where the `<role>.nk` seeds live.
        #[arg(long)]
        identities: PathBuf,
    },
}

/// `lighthouse audit [filters]` queries; `audit show|verify|export` the rest.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCmd>,
    /// Only this agent's decisions.
    #[arg(long)]
    pub agent: Option<String>,
    /// Only this project's.
    #[arg(long)]
    pub project: Option<String>,
    /// allow, deny or escalate.
    #[arg(long)]
    pub verdict: Option<String>,
    /// A rule id, or a prefix ending in * (secret.*).
    #[arg(long)]
    pub rule: Option<String>,
    /// policy, cache, expert, fallback, deadline or exception.
    #[arg(long)]
    pub tier: Option<String>,
    /// RFC 3339 time or a duration back from now (15m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// RFC 3339 time or a duration back from now.
    #[arg(long)]
    pub until: Option<String>,
    /// One JSON object per decision.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// One command's story: the command, how the policy reads it, votes and experts,
    /// the decision, timings, and whether its signature verifies.
    Show {
        cmd_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Verifies every decision (exit 1 on any problem).
    Verify {
        /// RFC 3339 time or a duration back from now (15m, 2h, 7d).
        #[arg(long, value_parser = crate::audit::parse_since)]
        since: Option<time::OffsetDateTime>,
        /// Check an export instead of the live stream.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Public keys by role (JSON); default: the identities `up` recorded.
        #[arg(long)]
        keys: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Writes the decision log to a file, one stored message per line.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = crate::audit::parse_since)]
        since: Option<time::OffsetDateTime>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Creates an admin key (keep it outside any project the agent works in) and
    /// prints the public key for `trust.admin_keys`.
    Keygen {
        /// Where to write the seed (mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Evaluates one hook payload per line; prints decisions and a latency summary.
    ///
    /// A line may carry `"expect": "allow" | "deny" | "escalate" | "not_allow"` and a
    /// free-form `"class"`: labelled lines are scored (per class too), and the command
    /// exits 1 when any labelled line is decided otherwise.
    Eval {
        /// JSONL file: one hook payload per line (optionally with `expect`, `class`).
        file: PathBuf,
        /// One JSON object per line and a JSON summary instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Signs a pack with the admin key (needed for packs that loosen the policy).
    Sign {
        file: PathBuf,
        /// The admin key's seed file (`lighthouse admin keygen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Publishes a pack to the lh_policy bucket; running validators reload it.
    Push {
        /// The pack (default: .lighthouse/policy.toml of the current project).
        file: Option<PathBuf>,
        /// Publish as a central pack with this name (operators) instead of the project's.
        #[arg(long)]
        central: Option<String>,
        /// Project name (default: the current project).
        #[arg(long)]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AnchorCmd {
    /// Anchors line N of BEFORE and finds that definition in AFTER.
    Resolve {
        #[arg(long)]
        before: PathBuf,
        #[arg(long)]
        after: PathBuf,
        /// 1-based line in BEFORE.
        #[arg(long)]
        line: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Replaying LH_FS into the view's model vs a raw ordered consumer, same run.
    Replay {
        #[arg(long)]
        json: bool,
        /// File versions published and replayed.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Distinct files they are spread over.
        #[arg(long, default_value_t = 10_000)]
        files: u64,
    },
    /// Raw JetStream vs the full command → decision path, 1 and 2 validators, the hook.
    Pipeline {
        #[arg(long)]
        json: bool,
        /// Commands per throughput run.
        #[arg(long, default_value_t = 100_000)]
        commands: usize,
        /// Seconds of the 1k commands/s latency run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Hook processes spawned per round-trip figure. A p99 of 200 calls is the
        /// second slowest, one scheduling stall away from the tail; of 1,000, the tenth.
        #[arg(long, default_value_t = 1_000)]
        hooks: usize,
    },
    /// The FUSE view vs the same tree on local disk: grep, find, cat; cold and warm.
    Fuse {
        #[arg(long)]
        json: bool,
        /// Files in the generated tree.
        #[arg(long, default_value_t = 5_000)]
        files: usize,
        /// Events for the event-to-visible latency figure.
        #[arg(long, default_value_t = 200)]
        events: usize,
    },
    /// Steady load through the whole pipeline for minutes, faults on a schedule
    /// (validator kill, decision stream refusing writes, server kill): commands sent,
    /// decided, dead-lettered, lost, duplicated; decision p50/p99 per phase; RSS over
    /// time.
    Soak {
        #[arg(long)]
        json: bool,
        /// How long the load runs (fractions allowed: 0.5 = 30 s).
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// Commands per second.
        #[arg(long, default_value_t = 200)]
        rate: u64,
        /// Steady load only, no injected faults.
        #[arg(long)]
        no_faults: bool,
    },
    /// Escalation round trip with an instant in-process expert, and escalations/s.
    Escalation {
        #[arg(long)]
        json: bool,
        /// Sequential escalations for the latency figure.
        #[arg(long, default_value_t = 2_000)]
        rounds: usize,
        /// Escalations in the throughput run.
        #[arg(long, default_value_t = 10_000)]
        escalations: usize,
    },
}

fn parse_severity(s: &str) -> Result<lighthouse_schemas::msg::Severity, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| format!("unknown severity {s:?}: info, low, medium, high or critical"))
}
