//! Argument parsing and dispatch. Exit codes: 0 ok, 1 failure, 64 usage or configuration
//! (`check` also answers 1 for deny and 2 for escalate). Errors print as one line, each
//! cause once, with the remedy when the cause is known (see [`crate::errors`]).
//!
//! [`args`] declares the commands; the modules beside it run them, by theme.

mod args;
mod bench;
mod files;
mod log;
mod operate;
mod policy;

use crate::settings::Settings;
pub use args::*;
use clap::Parser;
use std::process::ExitCode;

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
        } => operate::watch(&settings, interval, frames).await,
        Cmd::Status { json, .. } => operate::status(&settings, json).await,
        Cmd::Decisions { last, json } => operate::decisions(&settings, last, json).await,
        Cmd::Install { agent, user, .. } => operate::install(agent, user),
        Cmd::Nats { command } => operate::nats(&settings, command).await,
        Cmd::Admin {
            command: AdminCmd::Keygen { out },
        } => operate::admin_keygen(out),
        Cmd::Backup { dir } => operate::backup(&settings, dir).await,
        Cmd::Restore { dir, replicas } => operate::restore(&settings, dir, replicas).await,
        Cmd::Probe { url } => operate::probe(url),
        Cmd::Audit(args) => log::audit(&settings, args).await,
        Cmd::Replay(args) => log::replay(&settings, args).await,
        Cmd::History(args) => log::history(&settings, args).await,
        Cmd::Check { jsonl } => policy::check(jsonl),
        Cmd::Explain {
            cwd,
            payload,
            command,
        } => policy::explain(cwd, payload, command),
        Cmd::Policy { command } => policy::run(&settings, command).await,
        Cmd::Annotate(args) => files::annotate(&settings, args).await,
        Cmd::Annotations {
            file,
            project,
            json,
        } => files::annotations(&settings, file, project, json).await,
        Cmd::Sync { dir, json } => files::sync(&settings, dir, json).await,
        Cmd::Anchor { command } => files::anchor(command),
        Cmd::Bench { which } => bench::run(&settings, which).await,
        Cmd::Exception { command } => {
            crate::exception::run(&settings, command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Projector { mount } => {
            crate::errors::check_mount(&mount)?;
            crate::workers::projector(settings, mount).await?;
            Ok(ExitCode::SUCCESS)
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

fn unreachable_hook() -> anyhow::Result<ExitCode> {
    anyhow::bail!("the hook runs without the multi-threaded runtime")
}
