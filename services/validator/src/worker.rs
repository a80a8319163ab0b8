//! The validator's NATS loop.

use crate::book::{self, Book};
use crate::decide::decide_cached;
use arc_swap::ArcSwap;
use lighthouse_nats::presence::{self, Presence};
use lighthouse_nats::publish::publish_once;
use lighthouse_nats::topology::{CMD_STREAM, Topology, TopologyError, VALIDATOR_GROUP};
use lighthouse_nats::worker::{ConsumeOptions, Delivery, Outcome, WorkerStats, consume_group};
use lighthouse_schemas::{Command, Token, decode, encode, now_us, subject};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Everything a validator needs besides its NATS client.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// Unique per replica; appears as `decided_by` in every decision it makes.
    pub worker_id: String,
    /// Home directory used to resolve `~` in commands.
    pub home: Option<String>,
    pub consume: ConsumeOptions,
}

#[derive(Debug, Error)]
pub enum ValidatorError {
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    #[error("no consumer group {VALIDATOR_GROUP} on {CMD_STREAM} in nats/consumers")]
    NoGroup,
}

/// Runs one validator replica until `shutdown`. Applies the topology first, so a
/// validator started against an empty server works.
pub async fn run(
    client: async_nats::Client,
    config: ValidatorConfig,
    shutdown: CancellationToken,
) -> Result<(), ValidatorError> {
    let js = async_nats::jetstream::new(client);
    let topology = Topology::embedded()?;
    topology.apply(&js).await?;
    let group = topology
        .group(CMD_STREAM, VALIDATOR_GROUP)
        .ok_or(ValidatorError::NoGroup)?
        .clone();
    let stats = Arc::new(WorkerStats::default());
    // Policies hot-reload from the lh_policy bucket; decisions read the current book.
    let policy = Arc::new(ArcSwap::from_pointee(Book::builtin()));
    let follower = tokio::spawn(book::follow(js.clone(), policy.clone(), shutdown.clone()));
    let started_ms = now_us() / 1000;
    info!(worker_id = %config.worker_id, partitions = group.partitions, "validator started");

    let heartbeat = {
        let (stats, id) = (stats.clone(), config.worker_id.clone());
        let book = policy.clone();
        tokio::spawn(presence::heartbeat(
            js.clone(),
            move || Presence {
                kind: "validator".to_owned(),
                id: id.clone(),
                pid: std::process::id(),
                started_ms,
                processed: stats.processed.load(Ordering::Relaxed),
                dead_lettered: stats.dead_lettered.load(Ordering::Relaxed),
                version: book.load().default.policy().version().to_owned(),
            },
            shutdown.clone(),
        ))
    };

    let handler = {
        let (js, config) = (js.clone(), Arc::new(config.clone()));
        move |delivery: Delivery| {
            let (js, policy, config) = (js.clone(), policy.clone(), config.clone());
            async move { handle(&js, &policy, &config, delivery).await }
        }
    };
    consume_group(js, group, config.consume.clone(), stats, handler, shutdown).await;
    let _ = heartbeat.await;
    let _ = follower.await;
    info!(worker_id = %config.worker_id, "validator stopped");
    Ok(())
}

async fn handle(
    js: &async_nats::jetstream::Context,
    policy: &ArcSwap<Book>,
    config: &ValidatorConfig,
    delivery: Delivery,
) -> Outcome {
    let Some(parsed) = subject::parse_command(&delivery.message.subject) else {
        return Outcome::Poison(format!(
            "not a command subject: {}",
            delivery.message.subject
        ));
    };
    let command: Command = match decode(&delivery.message.payload) {
        Ok(command) => command,
        Err(e) => return Outcome::Poison(e.to_string()),
    };
    // The subject is what the publisher was allowed to publish on; the payload must
    // agree with it, or one agent could file commands in another's name.
    if Token::encode(&command.env.project) != parsed.project
        || Token::encode(&command.env.agent) != parsed.agent
    {
        return Outcome::Poison(format!(
            "payload names project {:?} agent {:?} but was published on {}",
            command.env.project, command.env.agent, delivery.message.subject
        ));
    }
    let book = policy.load();
    let decision = decide_cached(
        book.for_project(parsed.project.as_str()),
        &command,
        config.home.as_deref(),
        &config.worker_id,
        now_us(),
    );
    let payload = match encode(&decision) {
        Ok(payload) => payload,
        Err(e) => return Outcome::Poison(format!("cannot encode its decision: {e}")),
    };
    let target = subject::decision(
        &parsed.project,
        &parsed.agent,
        &Token::encode(&command.env.id),
    );
    // Redeliveries and replicas racing on one command all land here; the server keeps
    // the first decision and refuses the rest, so the outcome is the same: done.
    match publish_once(js, target, &command.env.id, payload.into(), true).await {
        Ok(_) => Outcome::Done,
        Err(e) => {
            warn!(error = %e, "decision_publish_failed");
            Outcome::Retry(Duration::from_millis(200))
        }
    }
}
