//! Running and operating the pipeline: health, the last decisions, installing the
//! hook, NATS administration, admin keys, backups and probes.

use super::args::NatsCmd;
use crate::settings::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

/// `status --watch`: the live view.
pub(super) async fn watch(
    settings: &Settings,
    interval: f64,
    frames: Option<usize>,
) -> anyhow::Result<ExitCode> {
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

/// `status`: exit 0 only when healthy.
pub(super) async fn status(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
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

pub(super) async fn decisions(
    settings: &Settings,
    last: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let url = settings.nats_url();
    let decisions = crate::status::last_decided(&url, &settings.client_auth("ops"), last).await?;
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

/// Registers the hook with an agent's settings, idempotently.
pub(super) fn install(agent: String, user: bool) -> anyhow::Result<ExitCode> {
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

pub(super) async fn nats(settings: &Settings, command: NatsCmd) -> anyhow::Result<ExitCode> {
    match command {
        NatsCmd::Apply { replicas } => {
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
        NatsCmd::Auth { identities } => {
            let grants = crate::trust::ensure_identities(
                &identities,
                &settings.hook.agent,
                &crate::trust::roster(settings),
                &settings.exceptions.granters,
            )?;
            print!("{}", crate::trust::authorization(settings, &grants)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(super) fn admin_keygen(out: PathBuf) -> anyhow::Result<ExitCode> {
    let public = crate::trust::admin_keygen(&out)?;
    println!("{public}");
    eprintln!(
        "lighthouse: admin seed written to {} (mode 0600); trust it with\n  [trust]\n  admin_keys = [\"{public}\"]",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn backup(settings: &Settings, dir: PathBuf) -> anyhow::Result<ExitCode> {
    let manifest = crate::backup::backup(settings, &dir).await?;
    println!(
        "lighthouse: backup of {} streams in {}",
        manifest.streams.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn restore(
    settings: &Settings,
    dir: PathBuf,
    replicas: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let manifest = crate::backup::restore(settings, &dir, replicas).await?;
    println!(
        "lighthouse: restored {} streams from {}",
        manifest.streams.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A health check for images without a shell: exit 0 only on a 2xx answer.
pub(super) fn probe(url: String) -> anyhow::Result<ExitCode> {
    let code = crate::probe::get(&url, std::time::Duration::from_secs(2))?;
    if (200..300).contains(&code) {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("lighthouse: {url} answered {code}");
        Ok(ExitCode::FAILURE)
    }
}
