//! `lighthouse backup DIR` / `lighthouse restore DIR`: the whole store with progress
//! bars (the transfer itself is [`lighthouse_nats::backup`]).

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lighthouse_config::Settings;
use lighthouse_nats::backup::{self, Entry, Manifest, Progress};
use std::path::Path;

/// One bar per stream under a bar counting streams; hidden when stderr is not a
/// terminal (CI logs get the one summary line per stream instead).
struct Bars {
    multi: MultiProgress,
    current: Option<ProgressBar>,
    verb: &'static str,
    quiet: bool,
}

impl Bars {
    fn new(verb: &'static str) -> Bars {
        let multi = MultiProgress::new();
        let quiet = multi.is_hidden();
        Bars {
            multi,
            current: None,
            verb,
            quiet,
        }
    }
}

impl Progress for Bars {
    fn start(&mut self, stream: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{prefix:>20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        let bar = self.multi.add(bar.with_prefix(stream.to_owned()));
        self.current = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.current {
            bar.inc(bytes);
        }
    }

    fn finish(&mut self, entry: &Entry) {
        if let Some(bar) = self.current.take() {
            // Snapshots are compressed: the bar's total was the stream's raw size.
            bar.set_length(bar.position());
            bar.finish();
        }
        let line = format!(
            "lighthouse: {} {} ({}, {} messages, {} consumers, {} bytes)",
            self.verb, entry.name, entry.kind, entry.messages, entry.consumers, entry.bytes
        );
        if self.quiet {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }
}

/// Connects as every Lighthouse process does (the configured identity: backups need
/// the `ops` role, which may read and create every stream).
pub async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<Manifest> {
    let client = lighthouse_service::connect(settings, "lighthouse-backup").await?;
    let manifest = backup::backup(&client, dir, &mut Bars::new("saved")).await?;
    client.flush().await?;
    Ok(manifest)
}

pub async fn restore(
    settings: &Settings,
    dir: &Path,
    replicas: Option<usize>,
) -> anyhow::Result<Manifest> {
    let client = lighthouse_service::connect(settings, "lighthouse-restore").await?;
    let manifest = backup::restore(&client, dir, replicas, &mut Bars::new("restored")).await?;
    client.flush().await?;
    Ok(manifest)
}
