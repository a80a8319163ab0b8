//! `lighthouse bench …`: benchmarks that print their figures.

use super::args::BenchCmd;
use crate::settings::Settings;
use std::process::ExitCode;

pub(super) async fn run(settings: &Settings, which: BenchCmd) -> anyhow::Result<ExitCode> {
    match which {
        BenchCmd::Fuse {
            json,
            files,
            events,
        } => {
            let report =
                crate::bench::fuse::fuse(settings, crate::bench::fuse::FuseArgs { files, events })
                    .await?;
            print_report(&report, json, report.render())
        }
        BenchCmd::Replay {
            json,
            events,
            files,
        } => {
            let report = crate::replay::bench(settings, events, files).await?;
            print_report(&report, json, report.render())
        }
        BenchCmd::Escalation {
            json,
            rounds,
            escalations,
        } => {
            let report = crate::bench::escalation::escalation(
                settings,
                crate::bench::escalation::EscalationArgs {
                    rounds,
                    escalations,
                },
            )
            .await?;
            print_report(&report, json, report.render())
        }
        BenchCmd::Soak {
            json,
            minutes,
            rate,
            no_faults,
        } => {
            if !(minutes.is_finite() && minutes > 0.0) {
                anyhow::bail!("--minutes must be a positive number, not {minutes}");
            }
            let report = crate::bench::soak::soak(
                settings,
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
        BenchCmd::Pipeline {
            json,
            commands,
            seconds,
            hooks,
        } => {
            let report = crate::bench::pipeline::pipeline(
                settings,
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
