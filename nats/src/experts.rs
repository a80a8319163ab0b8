//! The experts' side of the topology: one durable consumer per specialty on `LH_ESC`,
//! shared by every expert of that specialty. The built-in specialties' consumers are in
//! `nats/consumers`; a configured specialty gets a copy of the `expert-security` one with
//! its own name and filter.

use crate::topology::{ESC_STREAM, EXPERT_GROUP_PREFIX, Topology, TopologyError};
use async_nats::jetstream::{self, consumer::pull};
use lighthouse_schemas::{Token, subject};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExpertConsumerError {
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    #[error("no expert-security consumer on {ESC_STREAM} in nats/consumers")]
    NoTemplate,
    #[error("expert consumer for specialty {specialty}: {source}")]
    Consumer {
        specialty: String,
        source: async_nats::Error,
    },
}

/// The durable consumer name of a specialty's experts on `LH_ESC`.
pub fn durable(specialty: &str) -> String {
    format!("{EXPERT_GROUP_PREFIX}{}", Token::encode(specialty))
}

/// The consumer of a specialty's experts: from `nats/consumers` for the built-in
/// specialties, else the `expert-security` template with its own name and filter.
pub fn consumer(topology: &Topology, specialty: &str) -> Result<pull::Config, ExpertConsumerError> {
    let failed = |e: serde_json::Error| ExpertConsumerError::Consumer {
        specialty: specialty.to_owned(),
        source: e.into(),
    };
    let name = durable(specialty);
    if let Some(group) = topology.group(ESC_STREAM, &name) {
        return group.consumer(0).map_err(failed);
    }
    let template = topology
        .group(ESC_STREAM, &durable("security"))
        .ok_or(ExpertConsumerError::NoTemplate)?
        .consumer(0)
        .map_err(failed)?;
    Ok(pull::Config {
        durable_name: Some(name),
        description: Some(format!(
            "Experts of specialty {specialty} (configured): every instance shares this consumer."
        )),
        filter_subject: subject::escalation_filter(&Token::encode(specialty)),
        ..template
    })
}

/// Creates the consumer of each specialty if missing; returns the durable names.
pub async fn ensure(
    js: &jetstream::Context,
    specialties: &[String],
) -> Result<Vec<String>, ExpertConsumerError> {
    let topology = Topology::embedded()?;
    let stream = js
        .get_stream(ESC_STREAM)
        .await
        .map_err(|e| ExpertConsumerError::Consumer {
            specialty: specialties.join(","),
            source: e.into(),
        })?;
    let mut names = Vec::new();
    for specialty in specialties {
        let config = consumer(&topology, specialty)?;
        let name = config.durable_name.clone().unwrap_or_default();
        stream
            .get_or_create_consumer::<pull::Config>(&name, config)
            .await
            .map_err(|e| ExpertConsumerError::Consumer {
                specialty: specialty.clone(),
                source: e.into(),
            })?;
        names.push(name);
    }
    Ok(names)
}

/// How often an expert's presence is refreshed (the `lh_experts` TTL is 15 s).
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps `expert` present in `lh_experts` for each of `specialties` until `stop`, then
/// removes it. Every way of watching as an expert (the CLI, MCP, benchmarks) uses this.
/// A bucket it cannot open yet is tried again every [`HEARTBEAT`]: giving up would leave
/// the expert watching while it looks absent, and escalations decided without it.
pub async fn heartbeat(
    js: jetstream::Context,
    expert: String,
    specialties: Vec<String>,
    kind: String,
    stop: tokio_util::sync::CancellationToken,
) {
    let store = loop {
        match js.get_key_value(crate::topology::EXPERTS_BUCKET).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(error = %e, "expert_presence_unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    };
    let keys: Vec<(String, String)> = specialties
        .into_iter()
        .map(|s| {
            let key = subject::expert_key(&Token::encode(&s), &Token::encode(&expert));
            (s, key)
        })
        .collect();
    loop {
        for (specialty, key) in &keys {
            let presence = lighthouse_schemas::ExpertPresence {
                expert: expert.clone(),
                specialty: specialty.clone(),
                kind: kind.clone(),
                ts_us: lighthouse_schemas::now_us(),
            };
            let Ok(body) = serde_json::to_vec(&presence) else {
                continue;
            };
            if let Err(e) = store.put(key, body.into()).await {
                tracing::warn!(error = %e, "expert_presence_put_failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT) => {}
            _ = stop.cancelled() => break,
        }
    }
    for (_, key) in &keys {
        let _ = store.delete(key).await;
    }
}
