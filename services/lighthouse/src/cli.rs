//! Argument parsing and dispatch. Exit codes: 0 ok, 1 failure, 64 bad configuration.

use crate::settings::Settings;
use clap::{Parser, Subcommand};
use std::io::Write;
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
    /// Agent hook: reads the hook JSON on stdin, answers in the agent's protocol.
    Hook {
        #[command(subcommand)]
        agent: HookAgent,
    },
    /// Runs the whole pipeline on this machine (nats-server, topology, validator).
    Up {
        /// Use this NATS server instead of starting one.
        #[arg(long)]
        nats_url: Option<String>,
        /// Client port for the embedded server (0 = any free port).
        #[arg(long)]
        port: Option<u16>,
        /// Where the embedded server keeps its data.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Health of NATS, the streams and the workers; exit 0 only when healthy.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The last decisions from the audit log.
    Decisions {
        #[arg(long, default_value_t = 20)]
        last: usize,
        #[arg(long)]
        json: bool,
    },
    /// Registers the hook with an agent.
    Install {
        #[command(subcommand)]
        agent: InstallAgent,
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
pub enum HookAgent {
    /// Claude Code (PreToolUse; other events are accepted and ignored).
    Claude,
}

#[derive(Debug, Subcommand)]
pub enum InstallAgent {
    /// Claude Code: merges the hook into .claude/settings.json.
    Claude {
        /// This project's .claude/settings.json (the default).
        #[arg(long, conflicts_with = "user")]
        project: bool,
        /// The user's ~/.claude/settings.json.
        #[arg(long)]
        user: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NatsCmd {
    /// Creates or updates every stream, consumer and bucket in nats/.
    Apply,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Raw JetStream vs the full command → decision path, 1 and 2 validators, the hook.
    Pipeline {
        #[arg(long)]
        json: bool,
        /// Commands per throughput run.
        #[arg(long, default_value_t = 40_000)]
        commands: usize,
        /// Seconds of the 1k commands/s latency run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Hook processes spawned for the round-trip figure.
        #[arg(long, default_value_t = 200)]
        hooks: usize,
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

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIGHTHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Configuration is validated before anything touches NATS.
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lighthouse: {e}");
            return ExitCode::from(64);
        }
    };
    if let Cmd::Hook {
        agent: HookAgent::Claude,
    } = cli.command
    {
        // The hook is one short process per tool call: no runtime until it needs one.
        init_tracing("error");
        let answer = crate::hook::run(&settings, std::io::stdin().lock());
        if !answer.is_null() {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{answer}");
            let _ = out.flush();
        }
        // Benchmarks read the hook's own peak memory; nothing else sets this.
        if std::env::var_os("LIGHTHOUSE_REPORT_PEAK_RSS").is_some()
            && let Some(kb) = crate::bench::peak_rss_kb(std::process::id())
        {
            eprintln!("lighthouse-peak-rss-kb={kb}");
        }
        return ExitCode::SUCCESS;
    }
    init_tracing("info");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lighthouse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lighthouse: {e:#}");
            ExitCode::FAILURE
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
        } => {
            crate::up::run(
                &settings,
                crate::up::UpArgs {
                    nats_url,
                    port,
                    data_dir,
                },
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status { json } => {
            let status = crate::status::status(&settings.nats_url()).await;
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
            let decisions = crate::status::last_decisions(&settings.nats_url(), last).await?;
            for d in &decisions {
                if json {
                    println!("{}", serde_json::to_string(d)?);
                } else {
                    println!("{}", crate::status::render_decision(d));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Install {
            agent: InstallAgent::Claude { user, .. },
        } => {
            let path = if user {
                crate::settings::home_dir()
                    .ok_or_else(|| anyhow::anyhow!("HOME is not set"))?
                    .join(".claude/settings.json")
            } else {
                std::env::current_dir()?.join(".claude/settings.json")
            };
            let exe = std::env::current_exe()?;
            let command = format!("{} hook claude", exe.display());
            crate::install::install(&path, &command)?;
            println!("lighthouse: hook registered in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Nats {
            command: NatsCmd::Apply,
        } => {
            let url = settings.nats_url();
            let client = lighthouse_nats::connect(&url, "lighthouse-apply").await?;
            let js = async_nats::jetstream::new(client);
            lighthouse_nats::topology::Topology::embedded()?
                .apply(&js)
                .await?;
            println!("lighthouse: topology applied to {url}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Validator { id } => {
            crate::workers::run_validator(&settings, id).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Aggregator { id } => {
            crate::workers::run_aggregator(&settings, id).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Expert {
            command: ExpertCmd::Watch { specialty, id },
        } => {
            let id = id.unwrap_or_else(crate::expert::default_id);
            crate::expert::watch(&settings, specialty, id).await?;
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
                BenchCmd::Escalation {
                    json,
                    rounds,
                    escalations,
                },
        } => {
            let report = crate::bench_escalation::escalation(
                &settings,
                crate::bench_escalation::EscalationArgs {
                    rounds,
                    escalations,
                },
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
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
            let report = crate::bench::pipeline(
                &settings,
                crate::bench::PipelineArgs {
                    commands,
                    seconds,
                    hooks,
                },
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn vote(
    settings: &Settings,
    args: VoteArgs,
    choice: lighthouse_schemas::Choice,
) -> anyhow::Result<ExitCode> {
    let ballot = crate::expert::Ballot {
        cmd_id: args.cmd_id,
        choice,
        reasoning: args.reason,
        specialty: args.specialty,
        expert: args.id.unwrap_or_else(crate::expert::default_id),
        suggestions: args.suggest,
    };
    let seq = crate::expert::cast(settings, ballot).await?;
    println!("lighthouse: vote recorded (LH_VOTE sequence {seq})");
    Ok(ExitCode::SUCCESS)
}

fn unreachable_hook() -> anyhow::Result<ExitCode> {
    anyhow::bail!("the hook runs without the multi-threaded runtime")
}
