//! Files and notes: annotate a definition, list a file's notes, sync a tree into
//! the log, resolve an anchor.

use super::args::{AnchorCmd, AnnotateArgs};
use crate::settings::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) async fn annotate(settings: &Settings, args: AnnotateArgs) -> anyhow::Result<ExitCode> {
    let expert = args
        .expert
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
            file: args.file,
            line: args.line,
            message: args.message,
            category: args.category,
            severity: args.severity,
            expert,
            project: args.project,
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

pub(super) async fn annotations(
    settings: &Settings,
    file: PathBuf,
    project: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
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

pub(super) async fn sync(
    settings: &Settings,
    dir: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
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

pub(super) fn anchor(command: AnchorCmd) -> anyhow::Result<ExitCode> {
    match command {
        AnchorCmd::Resolve {
            before,
            after,
            line,
            json,
        } => {
            let resolution = lighthouse_anchor::resolve_cli(&before, &after, line)?;
            if json {
                println!("{}", serde_json::to_string(&resolution)?);
            } else {
                println!("{}", lighthouse_anchor::render_human(&resolution));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
