//! Argument parsing and dispatch. Exit codes: 0 ok, 1 failure, 64 usage or configuration
//! (`check` also answers 1 for deny and 2 for escalate). Errors print as one line, each
//! cause once, with the remedy when the cause is known (see [`crate::errors`]).

use crate::settings::Settings;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
    Annotate {
        file: PathBuf,
        #[arg(long)]
        line: usize,
        #[arg(long)]
        message: String,
        #[arg(long)]
        category: String,
        /// info, low, medium, high or critical.
        #[arg(long, default_value = "medium", value_parser = parse_severity)]
        severity: lighthouse_schemas::msg::Severity,
        /// Who annotates (default: $USER).
        #[arg(long)]
        expert: Option<String>,
        /// Project name (default: the enclosing repository's directory name).
        #[arg(long)]
        project: Option<String>,
    },
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
    Replay {
        /// Where to start: a stream sequence, or a time (RFC 3339, or an age: 2h).
        #[arg(long, default_value = "1")]
        from: String,
        /// Where to stop (inclusive): a sequence or a time. Default: the end.
        #[arg(long)]
        to: Option<String>,
        /// A new or empty directory.
        #[arg(long)]
        into: PathBuf,
        #[arg(long, value_enum, default_value = "all")]
        projection: crate::replay::Projection,
        #[arg(long)]
        json: bool,
    },
    /// A file's versions on the log, or its content at a version or a time.
    History {
        /// The file (in a project on disk), or its project-relative path with --project.
        file: PathBuf,
        #[arg(long)]
        project: Option<String>,
        /// Print the content current at this time (RFC 3339, or an age: 2h).
        #[arg(long, conflicts_with = "version")]
        at: Option<String>,
        /// Print the content of this version (LH_FS sequence or hash prefix).
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        json: bool,
    },
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
        /// Hook processes spawned for the round-trip figure.
        #[arg(long, default_value_t = 200)]
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

/// A benchmark's figures: JSON for machines, its own table for people.
fn print_report(
    report: &impl serde::Serialize,
    json: bool,
    rendered: String,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{rendered}");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_severity(s: &str) -> Result<lighthouse_schemas::msg::Severity, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| format!("unknown severity {s:?}: info, low, medium, high or critical"))
}

/// `lighthouse hook <client>`: the same process as `lighthouse-hook <client>`.
pub fn run_hook(client: crate::hook::Client) -> ExitCode {
    lighthouse_hook::entry::main(client)
}

/// The `service.name` of a command's spans.
fn service_name(command: &Cmd) -> &'static str {
    match command {
        Cmd::Up { .. } => "lighthouse-up",
        Cmd::Validator { .. } => "lighthouse-validator",
        Cmd::Aggregator { .. } => "lighthouse-aggregator",
        Cmd::Annotator { .. } => "lighthouse-annotator",
        Cmd::Projector { .. } => "lighthouse-projector",
        Cmd::Expert { .. } => "lighthouse-expert",
        Cmd::Mcp(_) => "lighthouse-mcp",
        _ => "lighthouse",
    }
}

pub fn main() -> ExitCode {
    // The hook runs once per tool call: skip building the whole command tree for it.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let hook = match args.as_slice() {
        [verb, name] if verb == "hook" => name.to_str().and_then(crate::hook::Client::from_name),
        _ => None,
    };
    if let Some(client) = hook {
        return run_hook(client);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout and succeed; usage mistakes exit 64. Except
        // for `hook`, which an agent runs: there a wrong command line exits 2, the code
        // every client treats as "block" (64 would let the call run), and help
        // succeeds only on a terminal.
        Err(e) => {
            let _ = e.print();
            let for_agent = args.first().is_some_and(|verb| verb == "hook");
            return if for_agent
                && (e.use_stderr() || !std::io::IsTerminal::is_terminal(&std::io::stdin()))
            {
                ExitCode::from(2)
            } else if e.use_stderr() {
                ExitCode::from(crate::errors::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Cmd::Hook { agent } = &cli.command
        && let Some(client) = crate::hook::Client::from_name(agent)
    {
        return run_hook(client);
    }
    // Configuration is validated before anything touches NATS.
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lighthouse: {e}");
            return ExitCode::from(lighthouse_service::EXIT_CONFIG);
        }
    };
    // Logs, and spans over OTLP when `tracing.otlp_endpoint` is set (flushed when the
    // guard drops, at the end of main).
    let _telemetry = match lighthouse_service::init_telemetry(
        lighthouse_service::DEFAULT_LOG,
        &settings,
        service_name(&cli.command),
    ) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("lighthouse: {e}");
            return ExitCode::from(lighthouse_service::EXIT_CONFIG);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Cmd::Validator {
        threads: Some(threads),
        ..
    } = cli.command
    {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lighthouse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lighthouse: {}", crate::errors::render(&e));
            crate::errors::exit_code(&e)
        }
    }
}

async fn dispatch(command: Cmd, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Hook { .. } => unreachable_hook(),
        Cmd::Up {
            nats_url,
            port,
            data_dir,
            mount,
            tls,
        } => {
            if let Some(mount) = &mount {
                crate::errors::check_mount(mount)?;
            }
            crate::up::run(
                &settings,
                crate::up::UpArgs {
                    nats_url,
                    port,
                    data_dir,
                    mount,
                    tls,
                },
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status {
            watch: true,
            interval,
            frames,
            ..
        } => {
            use std::io::IsTerminal as _;
            crate::watch::watch(
                &settings.nats_url(),
                &settings.client_auth("ops"),
                crate::watch::WatchArgs {
                    interval: std::time::Duration::from_secs_f64(interval.clamp(0.1, 3600.0)),
                    frames,
                    clear: std::io::stdout().is_terminal(),
                },
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status { json, .. } => {
            let mut status =
                crate::status::status(&settings.nats_url(), &settings.client_auth("ops")).await;
            let services = crate::up::read_services(&settings.state_dir());
            crate::status::add_services(&mut status, services);
            crate::status::add_spool(&mut status, &settings.state_dir());
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", crate::status::render_status(&status));
            }
            Ok(if status.healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Decisions { last, json } => {
            let url = settings.nats_url();
            let decisions =
                crate::status::last_decided(&url, &settings.client_auth("ops"), last).await?;
            if decisions.is_empty() {
                eprintln!(
                    "lighthouse: no decisions yet in the audit log at {url}; \
                     each tool call a hook sends while `lighthouse up` runs adds one"
                );
            }
            for d in &decisions {
                if json {
                    println!("{}", serde_json::to_string(d)?);
                } else {
                    println!("{}", crate::status::render_decided(d));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Install { agent, user, .. } => {
            let client = crate::hook::Client::from_name(&agent)
                .ok_or_else(|| anyhow::anyhow!("unknown agent {agent}"))?;
            let home = crate::settings::home_dir();
            if user && home.is_none() {
                return Err(crate::errors::usage(
                    "install --user: HOME is not set, so there is no user settings file; set HOME, or use --project",
                ));
            }
            // The project's settings live at its root (the nearest `.git` or
            // `.lighthouse` above), wherever in it the command is run.
            let project = lighthouse_config::project::root(&std::env::current_dir()?);
            let path = crate::install::settings_path(
                client,
                &project,
                home.as_deref().unwrap_or(std::path::Path::new("/")),
                user,
            );
            let hook = crate::install::hook_command(client, &std::env::current_exe()?);
            if !hook.portable && !user {
                // A project's settings file is usually committed: a path into this
                // machine's build folder would break the hook for everyone else.
                anyhow::bail!(
                    "install {agent} --project: neither lighthouse-hook nor lighthouse is on PATH, so {} \
                     could only name this machine's `{}`: put them on PATH first \
                     (cargo install --locked --path services/hook), or use --user",
                    path.display(),
                    hook.command
                );
            }
            let command = hook.command;
            match crate::install::install(client, &path, &command)? {
                crate::install::Installed::Registered => {
                    println!("lighthouse: `{command}` registered in {}", path.display());
                }
                crate::install::Installed::AlreadyRegistered => {
                    println!(
                        "lighthouse: `{command}` already registered in {} (unchanged)",
                        path.display()
                    );
                }
            }
            if !hook.portable {
                eprintln!(
                    "lighthouse: {} names this machine's build; after `cargo install --locked --path services/hook` run install again for a portable `lighthouse-hook {agent}`",
                    path.display()
                );
            }
            if client == crate::hook::Client::Codex {
                println!(
                    "lighthouse: Codex runs a new hook only once trusted: review it with /hooks in codex"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Nats {
            command: NatsCmd::Apply { replicas },
        } => {
            let url = settings.nats_url();
            let client = settings.connect_as("ops", "lighthouse-apply").await?;
            let js = async_nats::jetstream::new(client);
            let mut topology = lighthouse_nats::topology::Topology::embedded()?;
            let replicas = replicas.or(settings.nats.replicas);
            if let Some(n) = replicas {
                topology = topology.with_replicas(n);
            }
            topology.apply(&js).await?;
            match replicas {
                Some(n) => println!("lighthouse: topology applied to {url} (replicas {n})"),
                None => println!("lighthouse: topology applied to {url}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Nats {
            command: NatsCmd::Auth { identities },
        } => {
            let grants = crate::trust::ensure_identities(
                &identities,
                &settings.hook.agent,
                &crate::trust::roster(&settings),
                &settings.exceptions.granters,
            )?;
            print!("{}", crate::trust::authorization(&settings, &grants)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit(AuditArgs {
            command: None,
            agent,
            project,
            verdict,
            rule,
            tier,
            since,
            until,
            json,
            csv,
        }) => {
            let time = |t: Option<String>| {
                t.as_deref()
                    .map(lighthouse_mcp::files::parse_time)
                    .transpose()
            };
            let filter = crate::audit_query::Filter {
                agent,
                project,
                verdict: verdict
                    .as_deref()
                    .map(crate::audit_query::parse_verdict)
                    .transpose()?,
                rule,
                tier: tier
                    .as_deref()
                    .map(crate::audit_query::parse_tier)
                    .transpose()?,
                since: time(since)?,
                until: time(until)?,
            };
            let format = if json {
                crate::audit_query::Format::Json
            } else if csv {
                crate::audit_query::Format::Csv
            } else {
                crate::audit_query::Format::Table
            };
            let client = settings.connect_as("ops", "lighthouse-audit").await?;
            let js = async_nats::jetstream::new(client);
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let (matched, read) =
                crate::audit_query::query(&js, &filter, format, progress, std::io::stdout().lock())
                    .await?;
            if format == crate::audit_query::Format::Table {
                eprintln!("lighthouse: {matched} of {read} decisions read matched");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Exception { command } => {
            crate::exception::run(&settings, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit(AuditArgs {
            command: Some(AuditCmd::Show { cmd_id, json }),
            ..
        }) => {
            let client = settings.connect_as("ops", "lighthouse-audit").await?;
            let js = async_nats::jetstream::new(client);
            let keys = lighthouse_nats::auth::public_keys(&settings.identities_dir());
            let policy = crate::hook::local_policy(&std::env::current_dir()?);
            let shown = crate::audit_query::show(&js, &policy, &cmd_id, Some(&keys)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print!("{}", crate::audit_query::render_show(&shown));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit(AuditArgs {
            command:
                Some(AuditCmd::Verify {
                    since,
                    from,
                    keys,
                    json,
                }),
            ..
        }) => {
            let keys = match keys {
                Some(path) => serde_json::from_slice(&std::fs::read(&path)?)?,
                None => lighthouse_nats::auth::public_keys(&settings.identities_dir()),
            };
            let report = match from {
                Some(file) => crate::audit::verify(&crate::audit::read_export(&file)?, None, &keys),
                None => {
                    let client = settings.connect_as("ops", "lighthouse-audit").await?;
                    let js = async_nats::jetstream::new(client);
                    crate::audit::verify_live(&js, since, &keys).await?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Audit(AuditArgs {
            command: Some(AuditCmd::Export { out, since }),
            ..
        }) => {
            let client = settings.connect_as("ops", "lighthouse-audit").await?;
            let js = async_nats::jetstream::new(client);
            let stored =
                crate::audit::read_stream(&js, lighthouse_nats::topology::DECISION_STREAM, since)
                    .await?;
            crate::audit::write_export(&out, &stored)?;
            println!(
                "lighthouse: {} decisions written to {}",
                stored.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Admin {
            command: AdminCmd::Keygen { out },
        } => {
            let public = crate::trust::admin_keygen(&out)?;
            println!("{public}");
            eprintln!(
                "lighthouse: admin seed written to {} (mode 0600); trust it with\n  [trust]\n  admin_keys = [\"{public}\"]",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Policy {
            command: PolicyCmd::Sign { file, key },
        } => {
            let admin = lighthouse_nats::auth::load_seed(&key)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let (body, _) = lighthouse_nats::auth::split_pack_signature(&text);
            lighthouse_policy::PolicyPack::parse(&file.to_string_lossy(), body)?;
            let signed =
                lighthouse_nats::auth::sign_pack(&text, &admin).map_err(anyhow::Error::msg)?;
            std::fs::write(&file, signed)?;
            println!(
                "lighthouse: {} signed by {}",
                file.display(),
                admin.public_key()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Backup { dir } => {
            let manifest = crate::backup::backup(&settings, &dir).await?;
            println!(
                "lighthouse: backup of {} streams in {}",
                manifest.streams.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Restore { dir, replicas } => {
            let manifest = crate::backup::restore(&settings, &dir, replicas).await?;
            println!(
                "lighthouse: restored {} streams from {}",
                manifest.streams.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Probe { url } => {
            let code = crate::probe::get(&url, std::time::Duration::from_secs(2))?;
            if (200..300).contains(&code) {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("lighthouse: {url} answered {code}");
                Ok(ExitCode::FAILURE)
            }
        }
        Cmd::Check { jsonl } => {
            let cwd = std::env::current_dir()?;
            let home = crate::settings::home_dir();
            let home = home.as_deref().and_then(|h| h.to_str());
            let policy = crate::hook::local_policy(&cwd);
            if jsonl {
                lighthouse_policy::cli::check_lines_with(
                    &policy,
                    std::io::stdin().lock(),
                    std::io::stdout().lock(),
                    home,
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let outcome = lighthouse_policy::cli::check_with(
                &policy,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
                home,
            )?;
            Ok(check_exit_code(outcome.evaluation.verdict))
        }
        Cmd::Explain {
            cwd,
            payload,
            command,
        } => {
            let cwd = match cwd {
                Some(c) => c,
                None => std::env::current_dir()?,
            };
            let home = crate::settings::home_dir();
            let home = home.as_deref().and_then(|h| h.to_str());
            let policy = crate::hook::local_policy(&cwd);
            if payload {
                lighthouse_policy::cli::explain_input_with(
                    &policy,
                    std::io::stdin().lock(),
                    home,
                    std::io::stdout().lock(),
                )?;
            } else {
                lighthouse_policy::cli::explain_with(
                    &policy,
                    &command.join(" "),
                    &cwd.to_string_lossy(),
                    home,
                    std::io::stdout().lock(),
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Policy {
            command: PolicyCmd::Eval { file, json },
        } => {
            let cwd = std::env::current_dir()?;
            let home = crate::settings::home_dir();
            // As a validator does for its default policy: compile every pattern before
            // timing anything.
            let policy = crate::hook::local_policy(&cwd);
            policy.precompile();
            // Name the file (the policy crate's I/O error does not).
            std::fs::File::open(&file).map_err(|e| {
                anyhow::anyhow!(
                    "policy eval: cannot read {}: {e}; give a JSONL file with one hook payload per line",
                    file.display()
                )
            })?;
            let summary = lighthouse_policy::cli::eval_file_with(
                &policy,
                &file,
                json,
                home.as_deref().and_then(|h| h.to_str()),
                std::io::stdout().lock(),
            )
            .with_context(|| format!("policy eval {}", file.display()))?;
            if summary.passed < summary.labelled {
                eprintln!(
                    "lighthouse: {} of {} labelled lines in {} were decided otherwise than their `expect`",
                    summary.labelled - summary.passed,
                    summary.labelled,
                    file.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Policy {
            command:
                PolicyCmd::Push {
                    file,
                    central,
                    project,
                },
        } => {
            let cwd = std::env::current_dir()?;
            let root = lighthouse_config::project::root(&cwd);
            let file = file.unwrap_or_else(|| root.join(".lighthouse/policy.toml"));
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            // Refuse a pack validators would reject, before it reaches them.
            let (body, _) = lighthouse_nats::auth::split_pack_signature(&text);
            lighthouse_policy::PolicyPack::parse(&file.to_string_lossy(), body)?;
            let key = match central {
                Some(name) => lighthouse_validator::book::central_key(&name),
                None => {
                    let project = lighthouse_config::project::name(&root, project.as_deref());
                    lighthouse_validator::book::project_key(&project)
                }
            };
            let client = settings.connect_as("ops", "lighthouse-policy").await?;
            let js = async_nats::jetstream::new(client);
            let store = js
                .get_key_value(lighthouse_validator::book::POLICY_BUCKET)
                .await?;
            store.put(&key, text.into_bytes().into()).await?;
            println!("lighthouse: {} published as {key}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Annotate {
            file,
            line,
            message,
            category,
            severity,
            expert,
            project,
        } => {
            let expert = expert
                .filter(|e| !e.is_empty())
                .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                .ok_or_else(|| {
                    crate::errors::usage(
                        "annotate: no author: $USER is not set; give one with --expert NAME",
                    )
                })?;
            let annotation = crate::annotate::annotate(
                &settings.nats_url(),
                &settings.client_auth(&lighthouse_nats::auth::expert_role(&expert)),
                crate::annotate::AnnotateArgs {
                    file,
                    line,
                    message,
                    category,
                    severity,
                    expert,
                    project,
                },
            )
            .await?;
            println!(
                "lighthouse: annotation {} on {} `{}` (line {})",
                annotation.env.id,
                annotation.path,
                annotation.anchor.name,
                annotation.line.map_or("?".to_owned(), |l| l.to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Annotations {
            file,
            project,
            json,
        } => {
            let located = crate::annotate::locate(&file, project.as_deref())?;
            let client = settings.connect_as("ops", "lighthouse-annotations").await?;
            let js = async_nats::jetstream::new(client);
            let current = crate::annotate::load(&js, &located).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&current)?);
            } else {
                print!(
                    "{}",
                    lighthouse_anchor::annotations::render_markdown(&located.path, &current)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Projector { mount } => {
            crate::errors::check_mount(&mount)?;
            crate::workers::projector(settings, mount).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sync { dir, json } => {
            let dir = match dir {
                Some(dir) => dir,
                None => std::env::current_dir()?,
            };
            let client = settings.connect_as("ops", "lighthouse-sync").await?;
            let js = async_nats::jetstream::new(client.clone());
            let report = crate::sync::sync(
                &js,
                &dir,
                settings.hook.project.as_deref(),
                &settings.hook.agent,
                settings.files.max_file_bytes,
                &SyncBar::new(!json && std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .await?;
            client.flush().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "lighthouse: synced {}: {} files, {} published, {} unchanged, {} deleted, {} masked (secrets: content withheld), {} refused",
                    report.project,
                    report.scanned,
                    report.published,
                    report.unchanged,
                    report.deleted,
                    report.masked,
                    report.refused
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Anchor {
            command:
                AnchorCmd::Resolve {
                    before,
                    after,
                    line,
                    json,
                },
        } => {
            let resolution = lighthouse_anchor::resolve_cli(&before, &after, line)?;
            if json {
                println!("{}", serde_json::to_string(&resolution)?);
            } else {
                println!("{}", lighthouse_anchor::render_human(&resolution));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench {
            which:
                BenchCmd::Fuse {
                    json,
                    files,
                    events,
                },
        } => {
            let report =
                crate::bench::fuse::fuse(&settings, crate::bench::fuse::FuseArgs { files, events })
                    .await?;
            print_report(&report, json, report.render())
        }
        Cmd::Annotator { id } => {
            crate::workers::serve(
                settings,
                id,
                "lighthouse-annotator",
                lighthouse_annotator::service::run,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Validator { id, .. } => {
            crate::workers::serve(
                settings,
                id,
                "lighthouse-validator",
                lighthouse_validator::service::run,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Aggregator { id } => {
            crate::workers::serve(
                settings,
                id,
                "lighthouse-aggregator",
                lighthouse_aggregator::service::run,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Expert {
            command: ExpertCmd::Watch { specialty, id },
        } => {
            crate::expert::known_specialty(&settings, &specialty)?;
            let id = crate::expert::expert_id(id)?;
            crate::expert::watch(&settings, specialty, id).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Mcp(args) => {
            crate::mcp::serve(&settings, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Expert {
            command: ExpertCmd::Approve(args),
        } => vote(&settings, args, lighthouse_schemas::Choice::Approve).await,
        Cmd::Expert {
            command: ExpertCmd::Reject(args),
        } => vote(&settings, args, lighthouse_schemas::Choice::Reject).await,
        Cmd::Bench {
            which:
                BenchCmd::Replay {
                    json,
                    events,
                    files,
                },
        } => {
            let report = crate::replay::bench(&settings, events, files).await?;
            print_report(&report, json, report.render())
        }
        Cmd::Replay {
            from,
            to,
            into,
            projection,
            json,
        } => {
            let from = crate::replay::Position::parse(&from)?;
            let to = to
                .as_deref()
                .map(crate::replay::Position::parse)
                .transpose()?;
            let client = settings.connect_as("ops", "lighthouse-replay").await?;
            let js = async_nats::jetstream::new(client);
            let progress = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = crate::replay::replay(&js, projection, from, to, &into, progress).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for (stream, r) in &report.streams {
                    println!(
                        "lighthouse: {stream}: {} applied, {} refused (seq {}..{})",
                        r.applied,
                        r.rejected,
                        r.first_seq.map_or("-".into(), |s| s.to_string()),
                        r.last_seq.map_or("-".into(), |s| s.to_string()),
                    );
                }
                println!(
                    "lighthouse: {} projects, {} files written into {} in {:.2} s",
                    report.projects,
                    report.files_written,
                    report.into.display(),
                    report.seconds
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::History {
            file,
            project,
            at,
            version,
            json,
        } => {
            let (project, path) = match project {
                Some(p) => (
                    p,
                    file.to_string_lossy().trim_start_matches("./").to_owned(),
                ),
                None => {
                    let located = crate::annotate::locate(&file, None)?;
                    (located.project, located.path)
                }
            };
            let which = if at.is_some() || version.is_some() {
                Some(lighthouse_mcp::files::Which::parse(
                    version.as_deref(),
                    at.as_deref(),
                )?)
            } else {
                None
            };
            let client = settings.connect_as("ops", "lighthouse-history").await?;
            let js = async_nats::jetstream::new(client);
            crate::replay::history(&js, &project, &path, which, json, std::io::stdout().lock())
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench {
            which:
                BenchCmd::Escalation {
                    json,
                    rounds,
                    escalations,
                },
        } => {
            let report = crate::bench::escalation::escalation(
                &settings,
                crate::bench::escalation::EscalationArgs {
                    rounds,
                    escalations,
                },
            )
            .await?;
            print_report(&report, json, report.render())
        }
        Cmd::Bench {
            which:
                BenchCmd::Soak {
                    json,
                    minutes,
                    rate,
                    no_faults,
                },
        } => {
            if !(minutes.is_finite() && minutes > 0.0) {
                anyhow::bail!("--minutes must be a positive number, not {minutes}");
            }
            let report = crate::bench::soak::soak(
                &settings,
                crate::bench::soak::SoakArgs {
                    duration: std::time::Duration::from_secs_f64(minutes * 60.0),
                    rate,
                    faults: !no_faults,
                },
            )
            .await?;
            let clean = report.lost == 0 && report.duplicated == 0;
            print_report(&report, json, report.render())?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Bench {
            which:
                BenchCmd::Pipeline {
                    json,
                    commands,
                    seconds,
                    hooks,
                },
        } => {
            let report = crate::bench::pipeline::pipeline(
                &settings,
                crate::bench::pipeline::PipelineArgs {
                    commands,
                    seconds,
                    hooks,
                },
            )
            .await?;
            print_report(&report, json, report.render())
        }
    }
}

async fn vote(
    settings: &Settings,
    args: VoteArgs,
    choice: lighthouse_schemas::Choice,
) -> anyhow::Result<ExitCode> {
    crate::expert::known_specialty(settings, &args.specialty)?;
    let ballot = crate::expert::Ballot {
        cmd_id: args.cmd_id,
        choice,
        reasoning: args.reason,
        specialty: args.specialty,
        expert: crate::expert::expert_id(args.id)?,
        suggestions: args.suggest,
    };
    let seq = crate::expert::cast(settings, ballot).await?;
    println!("lighthouse: vote recorded (LH_VOTE sequence {seq})");
    Ok(ExitCode::SUCCESS)
}

/// `check`'s exit code: 0 allow, 1 deny, 2 escalate.
fn check_exit_code(verdict: lighthouse_schemas::Verdict) -> ExitCode {
    match verdict {
        lighthouse_schemas::Verdict::Allow => ExitCode::SUCCESS,
        lighthouse_schemas::Verdict::Deny => ExitCode::from(1),
        lighthouse_schemas::Verdict::Escalate => ExitCode::from(2),
    }
}

fn unreachable_hook() -> anyhow::Result<ExitCode> {
    anyhow::bail!("the hook runs without the multi-threaded runtime")
}

/// `lighthouse sync`'s progress bar (hidden when not on a terminal).
struct SyncBar(indicatif::ProgressBar);

impl SyncBar {
    fn new(show: bool) -> SyncBar {
        let bar = if show {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        SyncBar(bar)
    }
}

impl crate::sync::Progress for SyncBar {
    fn start(&self, files: usize) {
        self.0.set_length(files as u64);
    }
    fn step(&self) {
        self.0.inc(1);
    }
    fn publishing(&self) {
        self.0.set_message("publishing");
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
