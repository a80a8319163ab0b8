//! Streams and consumers as data, applied idempotently.
//!
//! The JSON files under `nats/` are the JetStream API's own configuration objects, so
//! operators can read them, diff them against `$JS.API.STREAM.INFO`, or feed them to
//! any tool. Consumer groups add one level: a template instantiated once per partition
//! (`{partition}` in its strings is replaced by the partition number).

use async_nats::jetstream::{self, consumer::pull, stream};
use serde::Deserialize;
use thiserror::Error;

/// Stream definitions compiled into every binary.
const STREAM_FILES: &[(&str, &str)] = &[
    ("LH_CMD.json", include_str!("../streams/LH_CMD.json")),
    (
        "LH_DECISION.json",
        include_str!("../streams/LH_DECISION.json"),
    ),
    ("LH_DLQ.json", include_str!("../streams/LH_DLQ.json")),
    ("LH_ANNOT.json", include_str!("../streams/LH_ANNOT.json")),
    ("LH_FS.json", include_str!("../streams/LH_FS.json")),
    ("LH_ESC.json", include_str!("../streams/LH_ESC.json")),
    ("LH_VOTE.json", include_str!("../streams/LH_VOTE.json")),
    (
        "LH_FALLBACK.json",
        include_str!("../streams/LH_FALLBACK.json"),
    ),
];

/// Consumer group templates compiled into every binary.
const CONSUMER_FILES: &[(&str, &str)] = &[
    (
        "LH_CMD.validator.json",
        include_str!("../consumers/LH_CMD.validator.json"),
    ),
    (
        "LH_FS.annotator.json",
        include_str!("../consumers/LH_FS.annotator.json"),
    ),
    (
        "LH_FALLBACK.recorder.json",
        include_str!("../consumers/LH_FALLBACK.recorder.json"),
    ),
    (
        "LH_VOTE.aggregator.json",
        include_str!("../consumers/LH_VOTE.aggregator.json"),
    ),
    (
        "LH_ESC.aggregator.json",
        include_str!("../consumers/LH_ESC.aggregator.json"),
    ),
    (
        "LH_ESC.expert-security.json",
        include_str!("../consumers/LH_ESC.expert-security.json"),
    ),
    (
        "LH_ESC.expert-performance.json",
        include_str!("../consumers/LH_ESC.expert-performance.json"),
    ),
    (
        "LH_ESC.expert-architecture.json",
        include_str!("../consumers/LH_ESC.expert-architecture.json"),
    ),
    (
        "LH_ESC.expert-human.json",
        include_str!("../consumers/LH_ESC.expert-human.json"),
    ),
];

/// KV buckets (name, history, TTL in seconds; 0 = none).
pub const KV_BUCKETS: &[(&str, i64, u64)] = &[
    (crate::presence::BUCKET, 1, 15),
    (POLICY_BUCKET, 5, 0),
    (EXPERTS_BUCKET, 1, 15),
    // Open escalations by command id; kept a week like LH_ESC itself.
    (ESCALATIONS_BUCKET, 1, 604_800),
    // Granted exceptions, each revision kept (grant, revocation): the history is the
    // record of who allowed what. Kept 90 days after their last change, far past any
    // exception's expiry.
    (EXCEPTIONS_BUCKET, 16, 7_776_000),
];

/// Object store buckets (name, description): file contents too large for a message.
pub const OBJECT_BUCKETS: &[(&str, &str)] = &[(
    FS_BLOBS_BUCKET,
    "Contents of files over 512 KiB, named by their SHA-256; LH_FS messages refer to them.",
)];

pub const CMD_STREAM: &str = "LH_CMD";
pub const FS_STREAM: &str = "LH_FS";
pub const FS_BLOBS_BUCKET: &str = "lh_fs_blobs";
pub const DECISION_STREAM: &str = "LH_DECISION";
pub const DLQ_STREAM: &str = "LH_DLQ";
pub const ANNOT_STREAM: &str = "LH_ANNOT";
pub const VALIDATOR_GROUP: &str = "validator";
pub const ANNOTATOR_GROUP: &str = "annotator";
/// Policy packs, `central.<name>` and `project.<project>` → TOML (validators reload).
pub const POLICY_BUCKET: &str = "lh_policy";
pub const ESC_STREAM: &str = "LH_ESC";
/// Hook fallback records, `lh.fallback.<project>.<agent>.<cmd_id>`.
pub const FALLBACK_STREAM: &str = "LH_FALLBACK";
/// The validators' consumer group on [`FALLBACK_STREAM`].
pub const RECORDER_GROUP: &str = "recorder";
pub const VOTE_STREAM: &str = "LH_VOTE";
pub const AGGREGATOR_GROUP: &str = "aggregator";
/// Prefix of the per-specialty expert groups on `LH_ESC` (`expert-security`, …).
pub const EXPERT_GROUP_PREFIX: &str = "expert-";
/// Expert heartbeats, `<specialty>.<expert>` → JSON `ExpertPresence`.
pub const EXPERTS_BUCKET: &str = "lh_experts";
/// Open escalations, `<cmd_id token>` → the MessagePack `Escalation`: how the
/// aggregator finds a vote's consensus rule and deadline.
pub const ESCALATIONS_BUCKET: &str = "lh_escalations";
/// Scoped exceptions, `<granter kv token>.<exception id>` → the MessagePack
/// `Exception`; validators watch it.
pub const EXCEPTIONS_BUCKET: &str = "lh_exceptions";

#[derive(Debug, Error)]
pub enum TopologyError {
    #[error("{file}: {source}")]
    Parse {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("{file}: {reason}")]
    Invalid { file: &'static str, reason: String },
    #[error("applying stream {name}: {source}")]
    Stream {
        name: String,
        source: async_nats::Error,
    },
    #[error("applying consumer {stream}/{name}: {source}")]
    Consumer {
        stream: String,
        name: String,
        source: async_nats::Error,
    },
    #[error("applying KV bucket {name}: {source}")]
    Bucket {
        name: String,
        source: async_nats::Error,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerGroupFile {
    stream: String,
    partitions: u32,
    consumer: serde_json::Value,
}

/// One durable consumer per partition, made from one template.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    /// Group name (the file's second part: `LH_CMD.<group>.json`).
    pub group: String,
    pub stream: String,
    pub partitions: u32,
    template: serde_json::Value,
}

impl ConsumerGroup {
    /// A group from a template (as a `nats/consumers` file's `consumer` object).
    pub fn from_template(
        group: &str,
        stream: &str,
        partitions: u32,
        template: serde_json::Value,
    ) -> ConsumerGroup {
        ConsumerGroup {
            group: group.to_owned(),
            stream: stream.to_owned(),
            partitions,
            template,
        }
    }

    /// The consumer configuration for one partition.
    pub fn consumer(&self, partition: u32) -> Result<pull::Config, serde_json::Error> {
        let text = self
            .template
            .to_string()
            .replace("{partition}", &partition.to_string());
        serde_json::from_str(&text)
    }

    /// Durable names of all partitions, in order.
    pub fn durable_names(&self) -> Result<Vec<String>, serde_json::Error> {
        (0..self.partitions)
            .map(|p| Ok(self.consumer(p)?.durable_name.unwrap_or_default()))
            .collect()
    }
}

/// Everything under `nats/`, parsed and cross-checked.
#[derive(Debug, Clone)]
pub struct Topology {
    pub streams: Vec<stream::Config>,
    pub groups: Vec<ConsumerGroup>,
    /// Replicas of every stream and bucket. `None` keeps what the server has (and the
    /// files' count, 1, for what is new), so a worker or `lighthouse up` applying the
    /// topology never shrinks an R3 cluster's streams.
    pub replicas: Option<usize>,
}

impl Topology {
    /// Parses the embedded definitions and checks they agree with each other.
    pub fn embedded() -> Result<Topology, TopologyError> {
        let mut streams = Vec::new();
        for (file, text) in STREAM_FILES {
            let config: stream::Config = serde_json::from_str(text)
                .map_err(|source| TopologyError::Parse { file, source })?;
            streams.push(config);
        }
        let mut groups = Vec::new();
        for (file, text) in CONSUMER_FILES {
            let parsed: ConsumerGroupFile = serde_json::from_str(text)
                .map_err(|source| TopologyError::Parse { file, source })?;
            let group = file
                .split('.')
                .nth(1)
                .ok_or_else(|| invalid(file, "file name must be <STREAM>.<group>.json"))?;
            let stream = streams
                .iter()
                .find(|s| s.name == parsed.stream)
                .ok_or_else(|| invalid(file, format!("unknown stream {}", parsed.stream)))?;
            if let Some(declared) = stream_partitions(stream)
                && declared != parsed.partitions
            {
                return Err(invalid(
                    file,
                    format!(
                        "{} partitions, but stream {} partitions into {declared}",
                        parsed.partitions, stream.name
                    ),
                ));
            }
            let group = ConsumerGroup {
                group: group.to_owned(),
                stream: parsed.stream,
                partitions: parsed.partitions,
                template: parsed.consumer,
            };
            for p in 0..group.partitions {
                group
                    .consumer(p)
                    .map_err(|source| TopologyError::Parse { file, source })?;
            }
            groups.push(group);
        }
        Ok(Topology {
            streams,
            groups,
            replicas: None,
        })
    }

    /// Every stream and bucket with `replicas` copies (3 on a 3-node cluster: any one
    /// node can be lost). Consumers follow their stream.
    pub fn with_replicas(mut self, replicas: usize) -> Topology {
        self.replicas = Some(replicas.max(1));
        self
    }

    /// Replicas for the stream `name` (a KV bucket's is `KV_<bucket>`): the configured
    /// count, else what the server has, else `default`.
    async fn replicas_for(&self, js: &jetstream::Context, name: &str, default: usize) -> usize {
        if let Some(n) = self.replicas {
            return n;
        }
        match js.get_stream(name).await {
            Ok(mut s) => s
                .info()
                .await
                .map(|i| i.config.num_replicas)
                .unwrap_or(default),
            Err(_) => default,
        }
    }

    pub fn group(&self, stream: &str, group: &str) -> Option<&ConsumerGroup> {
        self.groups
            .iter()
            .find(|g| g.stream == stream && g.group == group)
    }

    pub fn stream(&self, name: &str) -> Option<&stream::Config> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// Creates or updates every stream, consumer and bucket. Safe to run any number of
    /// times, from any number of processes at once.
    pub async fn apply(&self, js: &jetstream::Context) -> Result<(), TopologyError> {
        for config in &self.streams {
            let mut config = config.clone();
            config.num_replicas = self
                .replicas_for(js, &config.name, config.num_replicas)
                .await;
            js.create_or_update_stream(config.clone())
                .await
                .map_err(|e| TopologyError::Stream {
                    name: config.name.clone(),
                    source: e.into(),
                })?;
        }
        for group in &self.groups {
            let stream = js
                .get_stream(&group.stream)
                .await
                .map_err(|e| TopologyError::Stream {
                    name: group.stream.clone(),
                    source: e.into(),
                })?;
            for p in 0..group.partitions {
                let config = group.consumer(p).map_err(|e| TopologyError::Consumer {
                    stream: group.stream.clone(),
                    name: format!("{}-{p}", group.group),
                    source: e.into(),
                })?;
                let name = config.durable_name.clone().unwrap_or_default();
                let err = |e: async_nats::Error| TopologyError::Consumer {
                    stream: group.stream.clone(),
                    name: name.clone(),
                    source: e,
                };
                // Create when missing, update when present: both converge on the file.
                match stream.consumer_info(&name).await {
                    Ok(_) => {
                        stream
                            .update_consumer(config)
                            .await
                            .map_err(|e| err(e.into()))?;
                    }
                    Err(_) => {
                        stream
                            .get_or_create_consumer(&name, config)
                            .await
                            .map_err(|e| err(e.into()))?;
                    }
                }
            }
        }
        for (name, history, ttl) in KV_BUCKETS {
            let num_replicas = self.replicas_for(js, &format!("KV_{name}"), 1).await;
            js.create_or_update_key_value(jetstream::kv::Config {
                bucket: (*name).to_owned(),
                history: *history,
                max_age: std::time::Duration::from_secs(*ttl),
                storage: stream::StorageType::File,
                num_replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| TopologyError::Bucket {
                name: (*name).to_owned(),
                source: e.into(),
            })?;
        }
        for (name, description) in OBJECT_BUCKETS {
            let backing = format!("OBJ_{name}");
            let num_replicas = self.replicas_for(js, &backing, 1).await;
            let err = |e: async_nats::Error| TopologyError::Bucket {
                name: (*name).to_owned(),
                source: e,
            };
            // Object stores have no update call; creating an existing one returns it.
            js.create_object_store(jetstream::object_store::Config {
                bucket: (*name).to_owned(),
                description: Some((*description).to_owned()),
                storage: stream::StorageType::File,
                num_replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| err(e.into()))?;
            // …so a new replica count goes to its backing stream directly.
            let mut info = js
                .get_stream(&backing)
                .await
                .map_err(|e| err(e.into()))?
                .info()
                .await
                .map_err(|e| err(e.into()))?
                .config
                .clone();
            if info.num_replicas != num_replicas {
                info.num_replicas = num_replicas;
                js.update_stream(info).await.map_err(|e| err(e.into()))?;
            }
        }
        Ok(())
    }
}

impl Topology {
    /// Applies the topology only when one of `streams` is missing. Workers call this:
    /// under least privilege they may look at their own streams but never change
    /// anything (ops applies the topology first), while against a bare development
    /// server with no authorization they still set it up themselves.
    pub async fn ensure_present(
        &self,
        js: &jetstream::Context,
        streams: &[&str],
    ) -> Result<(), TopologyError> {
        for name in streams {
            if js.get_stream(*name).await.is_err() {
                return self.apply(js).await;
            }
        }
        Ok(())
    }

    /// Differences between the live server and the files: empty when they match.
    /// Compares what the files set (subjects, transform, limits, dedup window, republish,
    /// and each partition consumer's filter, ack policy and delivery limits).
    pub async fn drift(&self, js: &jetstream::Context) -> Vec<String> {
        let mut drift = Vec::new();
        for want in &self.streams {
            let have = match js.get_stream(&want.name).await {
                Ok(mut s) => match s.info().await {
                    Ok(info) => info.config.clone(),
                    Err(e) => {
                        drift.push(format!("stream {}: {e}", want.name));
                        continue;
                    }
                },
                Err(_) => {
                    drift.push(format!("stream {} missing", want.name));
                    continue;
                }
            };
            let mut diff = |what: &str, same: bool| {
                if !same {
                    drift.push(format!("stream {}: {what} differs from nats/", want.name));
                }
            };
            diff("subjects", have.subjects == want.subjects);
            diff(
                "subject_transform",
                have.subject_transform == want.subject_transform,
            );
            diff(
                "duplicate_window",
                have.duplicate_window == want.duplicate_window,
            );
            diff("max_age", have.max_age == want.max_age);
            diff("max_bytes", have.max_bytes == want.max_bytes);
            diff("storage", have.storage == want.storage);
            diff("allow_direct", have.allow_direct == want.allow_direct);
            diff("republish", have.republish == want.republish);
        }
        for group in &self.groups {
            let Ok(stream) = js.get_stream(&group.stream).await else {
                continue;
            };
            for p in 0..group.partitions {
                let Ok(want) = group.consumer(p) else {
                    continue;
                };
                let name = want.durable_name.clone().unwrap_or_default();
                let have = match stream.consumer_info(&name).await {
                    Ok(info) => info.config.clone(),
                    Err(_) => {
                        drift.push(format!("consumer {}/{name} missing", group.stream));
                        continue;
                    }
                };
                let same = have.filter_subject == want.filter_subject
                    && have.ack_policy == want.ack_policy
                    && have.ack_wait == want.ack_wait
                    && have.max_deliver == want.max_deliver
                    && have.max_ack_pending == want.max_ack_pending;
                if !same {
                    drift.push(format!(
                        "consumer {}/{name} differs from nats/",
                        group.stream
                    ));
                }
            }
        }
        drift
    }
}

fn invalid(file: &'static str, reason: impl Into<String>) -> TopologyError {
    TopologyError::Invalid {
        file,
        reason: reason.into(),
    }
}

/// The `N` of `{{partition(N,…)}}` in a stream's subject transform.
fn stream_partitions(config: &stream::Config) -> Option<u32> {
    let dest = &config.subject_transform.as_ref()?.destination;
    let start = dest.find("partition(")? + "partition(".len();
    let rest = &dest[start..];
    rest[..rest.find(',')?].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_topology_is_consistent() {
        let topology = Topology::embedded().unwrap();
        let cmd = topology.stream(CMD_STREAM).unwrap();
        assert_eq!(stream_partitions(cmd), Some(4));
        let group = topology.group(CMD_STREAM, VALIDATOR_GROUP).unwrap();
        assert_eq!(group.partitions, 4);
        let c = group.consumer(3).unwrap();
        assert_eq!(c.durable_name.as_deref(), Some("validator-3"));
        assert_eq!(
            c.filter_subject,
            lighthouse_schemas::subject::command_partition_filter(3)
        );
        assert!(topology.stream(DECISION_STREAM).unwrap().allow_direct);
    }

    #[test]
    fn escalation_topology_fans_out_per_specialty() {
        let topology = Topology::embedded().unwrap();
        let votes = topology.group(VOTE_STREAM, AGGREGATOR_GROUP).unwrap();
        assert_eq!(
            Some(votes.partitions),
            stream_partitions(topology.stream(VOTE_STREAM).unwrap())
        );
        assert_eq!(
            votes.consumer(1).unwrap().filter_subject,
            lighthouse_schemas::subject::vote_partition_filter(1)
        );
        for specialty in ["security", "performance", "architecture", "human"] {
            let group = topology
                .group(ESC_STREAM, &format!("{EXPERT_GROUP_PREFIX}{specialty}"))
                .unwrap();
            let c = group.consumer(0).unwrap();
            assert_eq!(
                c.durable_name.as_deref(),
                Some(&*format!("expert-{specialty}"))
            );
            assert_eq!(
                c.filter_subject,
                lighthouse_schemas::subject::escalation_filter(&lighthouse_schemas::Token::encode(
                    specialty
                ))
            );
        }
    }
}
