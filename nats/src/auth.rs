//! Who may connect and what each identity may do.
//!
//! - [`Identity`]: one NKey per role (`agent`, `validator`, `aggregator`, `annotator`,
//!   `projector`, `ops`, `expert-<name>`), its seed in `<dir>/<role>.nk` (mode 0600);
//! - [`Permissions`]: `nats/permissions.toml`, the least-privilege table as data, and
//!   [`Permissions::authorization`], which renders it into the server's
//!   `authorization { users = [...] }` block for a set of identities;
//! - [`ClientAuth`]: how a client proves who it is (NKey seed file, creds file,
//!   user/password, TLS) and its private inbox prefix, turned into `ConnectOptions`.
//!
//! Why NKeys rather than operator/JWT creds: one `lighthouse up` is its own trust root,
//! so there is no operator or account hierarchy to delegate; NKeys need no resolver,
//! and the permission table stays in one server config that `up` rewrites when the
//! roster changes. Deployments that do run an operator can still pass `nats.creds`.

use crate::topology::Topology;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The permission table compiled into every binary.
pub const PERMISSIONS_TOML: &str = include_str!("../permissions.toml");

/// Built-in roles; experts are `expert-<name>`.
pub const ROLES: &[&str] = &[
    "agent",
    "validator",
    "aggregator",
    "annotator",
    "projector",
    "ops",
];

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an NKey seed ({reason})")]
    BadSeed { path: PathBuf, reason: String },
    #[error("nats/permissions.toml: {0}")]
    Table(String),
    #[error("{what}: {source}")]
    Options {
        what: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthError + '_ {
    move |source| AuthError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The identity file name of a role (`expert-alice.nk`).
pub fn identity_file(dir: &Path, role: &str) -> PathBuf {
    dir.join(format!("{role}.nk"))
}

/// The role name of an expert.
pub fn expert_role(name: &str) -> String {
    format!(
        "expert-{}",
        lighthouse_schemas::Token::encode(name).kv_key()
    )
}

/// The private inbox prefix of a role: replies to its requests go there, and only it
/// may subscribe to them.
pub fn inbox_prefix(role: &str) -> String {
    format!("_INBOX_{role}")
}

/// One role's NKey.
#[derive(Debug, Clone)]
pub struct Identity {
    pub role: String,
    pub seed_file: PathBuf,
    pub public_key: String,
}

impl Identity {
    /// Loads `<dir>/<role>.nk`, creating it (mode 0600, dir 0700) when missing.
    pub fn ensure(dir: &Path, role: &str) -> Result<Identity, AuthError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        let path = identity_file(dir, role);
        if !path.exists() {
            let pair = nkeys::KeyPair::new_user();
            let seed = pair.seed().map_err(|e| AuthError::BadSeed {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let tmp = dir.join(format!(".{role}.nk.tmp"));
            let _ = std::fs::remove_file(&tmp);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(&tmp))?;
            std::io::Write::write_all(&mut file, format!("{seed}\n").as_bytes())
                .map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
        }
        Identity::load(role, &path)
    }

    /// Reads an existing seed file.
    pub fn load(role: &str, path: &Path) -> Result<Identity, AuthError> {
        let pair = load_seed(path)?;
        Ok(Identity {
            role: role.to_owned(),
            seed_file: path.to_owned(),
            public_key: pair.public_key(),
        })
    }
}

/// The key pair of a seed file (first non-empty line, `SU…`).
pub fn load_seed(path: &Path) -> Result<nkeys::KeyPair, AuthError> {
    let seed = read_seed(path)?;
    nkeys::KeyPair::from_seed(&seed).map_err(|e| AuthError::BadSeed {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The seed in an NKey file, checked (encoding, checksum, key type) but not turned
/// into a key pair: deriving the public key is the costly part, and a client that only
/// hands the seed to its connection has it derived there once.
pub fn read_seed(path: &Path) -> Result<String, AuthError> {
    let text = crate::regular::read_to_string(path).map_err(io(path))?;
    let seed = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default()
        .to_owned();
    nkeys::decode_seed(&seed).map_err(|e| AuthError::BadSeed {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(seed)
}

/// One role's entry in `nats/permissions.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePermissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    pub consume: Vec<String>,
    pub read: Vec<String>,
}

/// The whole table.
#[derive(Debug, Clone)]
pub struct Permissions {
    pub roles: BTreeMap<String, RolePermissions>,
}

/// Who a user in the rendered config is.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Table entry: `agent`, `validator`, …, `expert`.
    pub kind: String,
    /// Role name (`expert-alice`), which names the inbox.
    pub role: String,
    pub public_key: String,
    /// The agent name (agent role).
    pub agent: Option<String>,
    /// The expert name and the specialties the roster grants it (expert role).
    pub expert: Option<(String, Vec<String>)>,
    /// Further table entries layered on this user's own (`granter` for an expert
    /// allowed to grant exceptions).
    pub also: Vec<String>,
}

/// What the rendered permissions of one user are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
}

impl Permissions {
    pub fn embedded() -> Result<Permissions, AuthError> {
        let roles: BTreeMap<String, RolePermissions> =
            toml::from_str(PERMISSIONS_TOML).map_err(|e| AuthError::Table(e.to_string()))?;
        for role in ROLES.iter().chain(&["expert", "granter"]) {
            if !roles.contains_key(*role) {
                return Err(AuthError::Table(format!("no entry for role {role}")));
            }
        }
        Ok(Permissions { roles })
    }

    /// The subjects one user may use. `durables` lists every durable consumer per
    /// stream (from `nats/consumers/` plus the configured expert specialties): a
    /// reader may never create, pull from or ack one that is not its own.
    pub fn render(
        &self,
        grant: &Grant,
        topology: &Topology,
        durables: &BTreeMap<String, Vec<String>>,
    ) -> Result<Rendered, AuthError> {
        let mut tables = Vec::new();
        for kind in std::iter::once(&grant.kind).chain(&grant.also) {
            tables.push(
                self.roles
                    .get(kind)
                    .ok_or_else(|| AuthError::Table(format!("no entry for role {kind}")))?,
            );
        }
        let entries = |pick: fn(&RolePermissions) -> &Vec<String>| -> Vec<String> {
            tables
                .iter()
                .flat_map(|t| pick(t).iter().cloned())
                .collect()
        };
        let (publish, subscribe, consume, read) = (
            entries(|t| &t.publish),
            entries(|t| &t.subscribe),
            entries(|t| &t.consume),
            entries(|t| &t.read),
        );
        let token = |s: &str| lighthouse_schemas::Token::encode(s);
        let specialties: Vec<String> = grant
            .expert
            .as_ref()
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let expand = |entry: &str| -> Vec<String> {
            let mut base = entry.replace("{inbox}", &inbox_prefix(&grant.role));
            if let Some(agent) = &grant.agent {
                base = base.replace("{agent}", token(agent).as_str());
            }
            if let Some((expert, _)) = &grant.expert {
                base = base
                    .replace("{expert_kv}", &token(expert).kv_key())
                    .replace("{expert}", token(expert).as_str());
            }
            if base.contains("{specialty") {
                specialties
                    .iter()
                    .map(|s| {
                        base.replace("{specialty_kv}", &token(s).kv_key())
                            .replace("{specialty}", token(s).as_str())
                    })
                    .collect()
            } else {
                vec![base]
            }
        };
        let mut out = Rendered::default();
        for entry in &publish {
            out.publish_allow.extend(expand(entry));
        }
        for entry in &subscribe {
            out.subscribe_allow.extend(expand(entry));
        }
        let mut own: Vec<(String, String)> = Vec::new();
        for entry in consume.iter().flat_map(|e| expand(e)) {
            let (stream, group) = entry.split_once('.').ok_or_else(|| {
                AuthError::Table(format!("consume entry {entry:?} is not STREAM.group"))
            })?;
            let names = match topology.group(stream, group) {
                Some(g) => g
                    .durable_names()
                    .map_err(|e| AuthError::Table(e.to_string()))?,
                // Configured specialties beyond nats/consumers: one durable, named
                // like the group.
                None => vec![group.to_owned()],
            };
            out.publish_allow
                .push(format!("$JS.API.STREAM.INFO.{stream}"));
            for name in names {
                out.publish_allow
                    .push(format!("$JS.API.CONSUMER.INFO.{stream}.{name}"));
                out.publish_allow
                    .push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"));
                out.publish_allow.push(format!("$JS.ACK.{stream}.{name}.>"));
                own.push((stream.to_owned(), name));
            }
        }
        for stream in &read {
            out.publish_allow.extend([
                format!("$JS.API.STREAM.INFO.{stream}"),
                format!("$JS.API.DIRECT.GET.{stream}"),
                format!("$JS.API.DIRECT.GET.{stream}.>"),
                // Ephemeral ordered consumers (KV watches, replays), named by the client.
                format!("$JS.API.CONSUMER.CREATE.{stream}.*"),
                format!("$JS.API.CONSUMER.CREATE.{stream}.*.>"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.*"),
                format!("$JS.API.CONSUMER.INFO.{stream}.*"),
                format!("$JS.FC.{stream}.>"),
            ]);
            if stream.starts_with("KV_") || stream.starts_with("OBJ_") {
                // KV watches create unnamed ephemeral consumers; buckets have no durables.
                out.publish_allow
                    .push(format!("$JS.API.CONSUMER.CREATE.{stream}"));
            }
            // Never someone else's durable: no re-creating it with another filter, no
            // pulling (and so stealing) its messages.
            for name in durables.get(stream).into_iter().flatten() {
                out.publish_deny.extend([
                    format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
                    format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.>"),
                ]);
                if !own.iter().any(|(s, n)| s == stream && n == name) {
                    out.publish_deny
                        .push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"));
                }
            }
        }
        dedup(&mut out.publish_allow);
        dedup(&mut out.publish_deny);
        dedup(&mut out.subscribe_allow);
        Ok(out)
    }

    /// The server's `authorization` block for these identities. Anonymous clients are
    /// refused: there is no `no_auth_user`.
    pub fn authorization(
        &self,
        grants: &[Grant],
        topology: &Topology,
        durables: &BTreeMap<String, Vec<String>>,
    ) -> Result<String, AuthError> {
        let mut out = String::from(
            "# Written by lighthouse from nats/permissions.toml; do not edit by hand.\n\
             authorization {\n  users = [\n",
        );
        for grant in grants {
            let r = self.render(grant, topology, durables)?;
            let _ = writeln!(out, "    # {}", grant.role);
            let _ = writeln!(out, "    {{ nkey: {}, permissions: {{", grant.public_key);
            let _ = writeln!(
                out,
                "        publish: {{ allow: {}, deny: {} }}",
                list(&r.publish_allow),
                list(&r.publish_deny)
            );
            let _ = writeln!(
                out,
                "        subscribe: {{ allow: {} }} }} }}",
                list(&r.subscribe_allow)
            );
        }
        out.push_str("  ]\n}\n");
        Ok(out)
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::Value::String(s.clone()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// Every durable consumer per stream: the groups in `nats/consumers/` plus one per
/// configured expert specialty.
pub fn durables(
    topology: &Topology,
    specialties: &[String],
) -> Result<BTreeMap<String, Vec<String>>, AuthError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for group in &topology.groups {
        let names = group
            .durable_names()
            .map_err(|e| AuthError::Table(e.to_string()))?;
        out.entry(group.stream.clone()).or_default().extend(names);
    }
    for s in specialties {
        let name = format!(
            "{}{}",
            crate::topology::EXPERT_GROUP_PREFIX,
            lighthouse_schemas::Token::encode(s)
        );
        let esc = out
            .entry(crate::topology::ESC_STREAM.to_owned())
            .or_default();
        if !esc.contains(&name) {
            esc.push(name);
        }
    }
    Ok(out)
}

/// TLS files of a client (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// CA bundle the server's certificate must chain to.
    pub ca: Option<PathBuf>,
    /// Client certificate and key, for servers that verify clients.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// TLS before the NATS INFO line (servers with `handshake_first`).
    pub first: bool,
}

impl ClientTls {
    pub fn enabled(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.first
    }
}

/// How a client proves who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAuth {
    /// NKey seed file.
    pub nkey: Option<PathBuf>,
    /// Operator-mode creds file (JWT + seed).
    pub creds: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Private inbox prefix; unset: `_INBOX_<stem of the nkey file>` when there is one.
    pub inbox_prefix: Option<String>,
    pub tls: ClientTls,
}

impl ClientAuth {
    /// Whether any identity is configured (else the connection is anonymous).
    pub fn has_identity(&self) -> bool {
        self.nkey.is_some() || self.creds.is_some() || self.user.is_some()
    }

    /// The inbox prefix this client uses.
    pub fn inbox(&self) -> Option<String> {
        self.inbox_prefix.clone().or_else(|| {
            self.nkey
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| inbox_prefix(&s.to_string_lossy()))
        })
    }

    /// Applies identity, inbox and TLS to `options`. Reads the seed/creds files now, so
    /// a missing or malformed one is an error here, not a hang at connect time.
    pub fn apply(
        &self,
        mut options: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, AuthError> {
        if let Some(path) = &self.nkey {
            options = options.nkey(read_seed(path)?);
        } else if let Some(path) = &self.creds {
            let text = crate::regular::read_to_string(path).map_err(io(path))?;
            options = options
                .credentials(&text)
                .map_err(|source| AuthError::Options {
                    what: format!("creds file {}", path.display()),
                    source,
                })?;
        } else if let Some(user) = &self.user {
            options =
                options.user_and_password(user.clone(), self.password.clone().unwrap_or_default());
        }
        if let Some(prefix) = self.inbox() {
            options = options.custom_inbox_prefix(prefix);
        }
        if self.tls.enabled() {
            options = options.require_tls(true);
            if let Some(ca) = &self.tls.ca {
                options = options.add_root_certificates(ca.clone());
            }
            if let (Some(cert), Some(key)) = (&self.tls.cert, &self.tls.key) {
                options = options.add_client_certificate(cert.clone(), key.clone());
            }
            if self.tls.first {
                options = options.tls_first();
            }
        }
        Ok(options)
    }
}

/// The key a worker signs its decisions with (its identity's NKey).
#[derive(Clone)]
pub struct Signer(std::sync::Arc<nkeys::KeyPair>);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.0.public_key())
    }
}

impl Signer {
    pub fn from_seed_file(path: &Path) -> Result<Signer, AuthError> {
        Ok(Signer(std::sync::Arc::new(load_seed(path)?)))
    }

    /// The signer of a client identity, when it has an NKey.
    pub fn for_client(auth: &ClientAuth) -> Result<Option<Signer>, AuthError> {
        auth.nkey.as_deref().map(Signer::from_seed_file).transpose()
    }

    pub fn public_key(&self) -> String {
        self.0.public_key()
    }

    pub fn sign(&self, decision: &mut lighthouse_schemas::Decision) -> Result<(), String> {
        sign_decision(decision, &self.0)
    }
}

/// Signs `decision` as `key`: the signature covers its MessagePack encoding with the
/// signature itself empty (everything else, the signer's public key included).
pub fn sign_decision(
    decision: &mut lighthouse_schemas::Decision,
    key: &nkeys::KeyPair,
) -> Result<(), String> {
    use base64::Engine as _;
    decision.provenance.signer = key.public_key();
    decision.provenance.signature.clear();
    let bytes = lighthouse_schemas::encode(decision).map_err(|e| e.to_string())?;
    let sig = key.sign(&bytes).map_err(|e| e.to_string())?;
    decision.provenance.signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
    Ok(())
}

/// Checks a decision's signature against the public key it names; returns that key.
/// Whether the key belongs to the right role is the caller's question.
pub fn verify_decision(decision: &lighthouse_schemas::Decision) -> Result<String, String> {
    use base64::Engine as _;
    let p = &decision.provenance;
    if p.signer.is_empty() || p.signature.is_empty() {
        return Err("unsigned".to_owned());
    }
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&p.signature)
        .map_err(|e| format!("signature is not base64url: {e}"))?;
    let key = nkeys::KeyPair::from_public_key(&p.signer)
        .map_err(|e| format!("signer {:?} is not a public NKey: {e}", p.signer))?;
    let mut unsigned = decision.clone();
    unsigned.provenance.signature.clear();
    let bytes = lighthouse_schemas::encode(&unsigned).map_err(|e| e.to_string())?;
    key.verify(&bytes, &sig)
        .map_err(|_| "signature does not match the decision".to_owned())?;
    Ok(p.signer.clone())
}

/// The identity that may sign a decision of `tier`: a validator decides by policy (and
/// applies exceptions), the aggregator records what experts or deadlines decided, and a
/// hook signs only its own local (fallback) decisions.
pub fn signing_role(tier: lighthouse_schemas::Tier) -> &'static str {
    use lighthouse_schemas::Tier;
    match tier {
        Tier::Policy | Tier::Cache | Tier::Exception => "validator",
        Tier::Expert | Tier::Deadline => "aggregator",
        Tier::Fallback => "agent",
    }
}

/// Public keys by role, as `lighthouse up` recorded them (`<identities>/public.json`);
/// empty when there are none.
pub fn public_keys(identities: &Path) -> BTreeMap<String, String> {
    crate::regular::read(&identities.join("public.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records public keys by role where [`public_keys`] reads them.
pub fn write_public_keys(identities: &Path, keys: &BTreeMap<&str, &str>) -> std::io::Result<()> {
    std::fs::write(
        identities.join("public.json"),
        serde_json::to_vec_pretty(keys).map_err(std::io::Error::other)?,
    )
}

/// Whether `decision` carries a valid signature by the key `keys` name for the role
/// that may make a decision of its tier.
pub fn signed_by_its_role(
    decision: &lighthouse_schemas::Decision,
    keys: &BTreeMap<String, String>,
) -> bool {
    let Some(key) = keys.get(signing_role(decision.tier)) else {
        return false;
    };
    decision.provenance.signer == *key && verify_decision(decision).is_ok()
}

/// The last line of a signed policy pack: `# lighthouse-signature: <key> <sig>`, where
/// `<key>` is the admin's public NKey and `<sig>` an Ed25519 signature (base64url) over
/// every byte before that line. A comment, so a signed pack is still plain TOML.
pub const PACK_SIGNATURE: &str = "# lighthouse-signature: ";

/// A pack's body and its signature line's key and signature, if it has one.
pub fn split_pack_signature(text: &str) -> (&str, Option<(&str, &str)>) {
    let trimmed = text.trim_end_matches('\n');
    let (body, last) = match trimmed.rfind('\n') {
        Some(i) => (&text[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    match last.strip_prefix(PACK_SIGNATURE) {
        Some(rest) => match rest.trim().split_once(' ') {
            Some((key, sig)) => (body, Some((key, sig.trim()))),
            None => (body, Some((rest.trim(), ""))),
        },
        None => (text, None),
    }
}

/// Signs a pack's body as the admin key; returns the pack with its signature line.
pub fn sign_pack(text: &str, admin: &nkeys::KeyPair) -> Result<String, String> {
    use base64::Engine as _;
    let (body, _) = split_pack_signature(text);
    let mut body = body.to_owned();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    let sig = admin.sign(body.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!(
        "{body}{PACK_SIGNATURE}{} {}\n",
        admin.public_key(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
    ))
}

/// Checks a pack's signature against the trusted admin keys; returns the signer.
pub fn verify_pack(text: &str, admin_keys: &[String]) -> Result<String, String> {
    use base64::Engine as _;
    let (body, signature) = split_pack_signature(text);
    let Some((key, sig)) = signature else {
        return Err("it is not signed".to_owned());
    };
    if !admin_keys.iter().any(|k| k == key) {
        return Err(if admin_keys.is_empty() {
            "no admin key is configured (trust.admin_keys)".to_owned()
        } else {
            format!("its signer {key} is not an admin key")
        });
    }
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "its signature is not base64url".to_owned())?;
    let pair =
        nkeys::KeyPair::from_public_key(key).map_err(|e| format!("bad admin key {key}: {e}"))?;
    pair.verify(body.as_bytes(), &sig)
        .map_err(|_| "its signature does not match its contents".to_owned())?;
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_sign_and_verify_and_tampering_shows() {
        let admin = nkeys::KeyPair::new_operator();
        let keys = vec![admin.public_key()];
        let signed = sign_pack("disable = [\"fs.rm_root\"]\n", &admin).unwrap();
        assert_eq!(verify_pack(&signed, &keys).unwrap(), admin.public_key());
        assert!(toml::from_str::<toml::Value>(&signed).is_ok(), "still TOML");
        let resigned = sign_pack(&signed, &admin).unwrap();
        assert_eq!(resigned, signed, "signing replaces the old line");
        let tampered = signed.replace("fs.rm_root", "fs.rm_home");
        assert!(verify_pack(&tampered, &keys).is_err());
        assert!(verify_pack("disable = []\n", &keys).is_err());
        assert!(verify_pack(&signed, &[]).is_err());
        let other = nkeys::KeyPair::new_operator();
        assert!(verify_pack(&sign_pack("x = 1\n", &other).unwrap(), &keys).is_err());
    }

    #[test]
    fn decisions_sign_and_verify() {
        let key = nkeys::KeyPair::new_user();
        let mut d = lighthouse_schemas::Decision {
            env: lighthouse_schemas::Envelope::new("c", 1, "p", "a", "c"),
            cmd_id: "c".into(),
            verdict: lighthouse_schemas::Verdict::Deny,
            reason: "r".into(),
            rule_id: None,
            risk: None,
            tier: lighthouse_schemas::Tier::Policy,
            latency_us: 1,
            decided_by: "v".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        };
        sign_decision(&mut d, &key).unwrap();
        assert_eq!(verify_decision(&d).unwrap(), key.public_key());
        d.verdict = lighthouse_schemas::Verdict::Allow;
        assert!(verify_decision(&d).is_err());
    }

    fn grant(kind: &str, role: &str) -> Grant {
        Grant {
            kind: kind.into(),
            role: role.into(),
            public_key: "UKEY".into(),
            agent: (kind == "agent").then(|| "claude-code".into()),
            expert: (kind == "expert").then(|| ("alice".into(), vec!["security".into()])),
            also: Vec::new(),
        }
    }

    #[test]
    fn identities_are_private_files_that_load_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ids = dir.path().join("identities");
        let a = Identity::ensure(&ids, "validator").unwrap();
        let b = Identity::ensure(&ids, "validator").unwrap();
        assert_eq!(a.public_key, b.public_key, "kept, not regenerated");
        assert!(a.public_key.starts_with('U'));
        let mode = std::fs::metadata(&a.seed_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&ids).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(ids.join("bad.nk"), "not a seed").unwrap();
        assert!(Identity::load("bad", &ids.join("bad.nk")).is_err());
    }

    #[test]
    fn the_table_grants_least_privilege() {
        let perms = Permissions::embedded().unwrap();
        let topology = Topology::embedded().unwrap();
        let durables = durables(&topology, &["security".into(), "human".into()]).unwrap();
        let agent = perms
            .render(&grant("agent", "agent"), &topology, &durables)
            .unwrap();
        assert!(
            agent
                .publish_allow
                .contains(&"lh.cmd.*.claude-code".to_owned())
        );
        assert!(
            !agent
                .publish_allow
                .iter()
                .any(|s| s.starts_with("lh.decision") || s.contains("$KV.lh_policy"))
        );
        assert!(agent.subscribe_allow.contains(&"_INBOX_agent.>".to_owned()));
        assert!(
            !agent
                .subscribe_allow
                .iter()
                .any(|s| s.starts_with("_INBOX."))
        );
        let expert = perms
            .render(&grant("expert", "expert-alice"), &topology, &durables)
            .unwrap();
        assert!(
            expert
                .publish_allow
                .contains(&"$JS.API.CONSUMER.MSG.NEXT.LH_ESC.expert-security".to_owned())
        );
        assert!(
            !expert
                .publish_allow
                .iter()
                .any(|s| s.contains("expert-human") || s.contains("aggregator"))
        );
        assert!(
            expert
                .publish_allow
                .contains(&"$KV.lh_experts.security.alice".to_owned())
        );
        // Exceptions: only a granting expert writes them, under its own name.
        let writes_exceptions = |r: &Rendered| {
            r.publish_allow
                .iter()
                .filter(|s| s.starts_with("$KV.lh_exceptions"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(writes_exceptions(&expert).is_empty());
        let mut granter = grant("expert", "expert-alice");
        granter.also.push("granter".into());
        let granter = perms.render(&granter, &topology, &durables).unwrap();
        assert_eq!(
            writes_exceptions(&granter),
            ["$KV.lh_exceptions.expert.alice.>"]
        );
        for kind in ["agent", "validator", "aggregator", "annotator", "projector"] {
            let r = perms
                .render(&grant(kind, kind), &topology, &durables)
                .unwrap();
            assert!(writes_exceptions(&r).is_empty(), "{kind} writes exceptions");
        }
        for kind in [
            "validator",
            "aggregator",
            "annotator",
            "projector",
            "expert",
        ] {
            let r = perms
                .render(&grant(kind, kind), &topology, &durables)
                .unwrap();
            for s in &r.publish_allow {
                assert!(
                    !s.contains("$JS.API.STREAM.CREATE")
                        && !s.contains("$JS.API.STREAM.UPDATE")
                        && !s.contains("$JS.API.STREAM.DELETE")
                        && !s.contains("$JS.API.STREAM.PURGE")
                        && !s.contains("$JS.API.CONSUMER.DELETE")
                        && !s.contains("$JS.API.CONSUMER.DURABLE")
                        && !s.contains("$KV.lh_policy")
                        && s != ">"
                        && !s.starts_with("$JS.API.>"),
                    "{kind} may {s}"
                );
            }
        }
        let conf = perms
            .authorization(&[grant("ops", "ops")], &topology, &durables)
            .unwrap();
        assert!(conf.contains("nkey: UKEY"));
    }
}
