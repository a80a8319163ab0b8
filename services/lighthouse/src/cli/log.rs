//! Reading the log: audit queries, checks and exports, replays into a fresh
//! directory, and a file's history.

use super::args::{AuditArgs, AuditCmd, HistoryArgs, ReplayArgs};
use crate::settings::Settings;
use std::process::ExitCode;

pub(super) async fn audit(settings: &Settings, args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args {
        AuditArgs {
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
        } => {
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
        AuditArgs {
            command: Some(AuditCmd::Show { cmd_id, json }),
            ..
        } => {
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
        AuditArgs {
            command:
                Some(AuditCmd::Verify {
                    since,
                    from,
                    keys,
                    json,
                }),
            ..
        } => {
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
        AuditArgs {
            command: Some(AuditCmd::Export { out, since }),
            ..
        } => {
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
    }
}

pub(super) async fn replay(settings: &Settings, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let ReplayArgs {
        from,
        to,
        into,
        projection,
        json,
    } = args;
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

pub(super) async fn history(settings: &Settings, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let HistoryArgs {
        file,
        project,
        at,
        version,
        json,
    } = args;
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
    crate::replay::history(&js, &project, &path, which, json, std::io::stdout().lock()).await?;
    Ok(ExitCode::SUCCESS)
}
