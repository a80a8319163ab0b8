//! The policy from the command line: check and explain a call, evaluate a corpus,
//! sign and publish packs.

use super::args::PolicyCmd;
use crate::settings::Settings;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The home directory paths resolve against, as the hook sees it.
fn home() -> Option<String> {
    crate::settings::home_dir().and_then(|h| h.to_str().map(str::to_owned))
}

/// `check`: one decision for the payload on stdin (or one per line).
pub(super) fn check(jsonl: bool) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let home = home();
    let home = home.as_deref();
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

pub(super) fn explain(
    cwd: Option<PathBuf>,
    payload: bool,
    command: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let cwd = match cwd {
        Some(c) => c,
        None => std::env::current_dir()?,
    };
    let home = home();
    let home = home.as_deref();
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

pub(super) async fn run(settings: &Settings, command: PolicyCmd) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCmd::Sign { file, key } => {
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
        PolicyCmd::Eval { file, json } => {
            let cwd = std::env::current_dir()?;
            // `eval_file_with` compiles every pattern before timing anything, as a
            // validator does for its default policy.
            let policy = crate::hook::local_policy(&cwd);
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
                home().as_deref(),
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
        PolicyCmd::Push {
            file,
            central,
            project,
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
    }
}

/// `check`'s exit code: 0 allow, 1 deny, 2 escalate.
fn check_exit_code(verdict: lighthouse_schemas::Verdict) -> ExitCode {
    match verdict {
        lighthouse_schemas::Verdict::Allow => ExitCode::SUCCESS,
        lighthouse_schemas::Verdict::Deny => ExitCode::from(1),
        lighthouse_schemas::Verdict::Escalate => ExitCode::from(2),
    }
}
