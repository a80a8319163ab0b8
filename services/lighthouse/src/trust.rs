//! The trust boundary as `lighthouse up` sets it up: one NKey identity per role, the
//! server's users and permissions rendered from `nats/permissions.toml`, and the
//! roster of experts those identities are for.

use crate::settings::Settings;
use lighthouse_nats::auth::{self, Grant, Identity, Permissions};
use lighthouse_nats::topology::Topology;
use std::collections::BTreeMap;
use std::path::Path;

/// The experts `up` makes identities for: the configured roster, or, when none is
/// configured, the local user granted every specialty (so a human at this terminal can
/// vote, as themselves only).
pub fn roster(settings: &Settings) -> BTreeMap<String, Vec<String>> {
    let configured = &settings.escalation.experts;
    if !configured.is_empty() {
        return configured
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    let mut all = settings.escalation.specialties.clone();
    for s in ["security", "performance", "architecture", "human"] {
        if !all.iter().any(|x| x == s) {
            all.push(s.to_owned());
        }
    }
    // The local user is the one expert of a default `up` ("expert" when $USER is unset).
    let me = crate::expert::expert_id(None).unwrap_or_else(|_| "expert".to_owned());
    BTreeMap::from([(me, all)])
}

/// Creates (or loads) every identity in `dir`; returns who each is. Experts named in
/// `granters` may also grant exceptions.
pub fn ensure_identities(
    dir: &Path,
    agent: &str,
    experts: &BTreeMap<String, Vec<String>>,
    granters: &[String],
) -> anyhow::Result<Vec<Grant>> {
    let mut grants = Vec::new();
    for role in auth::ROLES {
        let id = Identity::ensure(dir, role)?;
        grants.push(Grant {
            kind: (*role).to_owned(),
            role: (*role).to_owned(),
            public_key: id.public_key,
            agent: (*role == "agent").then(|| agent.to_owned()),
            expert: None,
            also: Vec::new(),
        });
    }
    for (name, specialties) in experts {
        let role = auth::expert_role(name);
        let id = Identity::ensure(dir, &role)?;
        grants.push(Grant {
            kind: "expert".to_owned(),
            role,
            public_key: id.public_key,
            agent: None,
            expert: Some((name.clone(), specialties.clone())),
            also: if granters.contains(name) {
                vec!["granter".to_owned()]
            } else {
                Vec::new()
            },
        });
    }
    // Public keys by role, for `lighthouse audit verify` (signatures name their key).
    let keys: BTreeMap<&str, &str> = grants
        .iter()
        .map(|g| (g.role.as_str(), g.public_key.as_str()))
        .collect();
    lighthouse_nats::auth::write_public_keys(dir, &keys)?;
    Ok(grants)
}

/// The server's `authorization` block for `grants`.
pub fn authorization(settings: &Settings, grants: &[Grant]) -> anyhow::Result<String> {
    let topology = Topology::embedded()?;
    let mut specialties = settings.escalation.specialties.clone();
    for g in grants {
        if let Some((_, s)) = &g.expert {
            specialties.extend(s.iter().cloned());
        }
    }
    specialties.sort();
    specialties.dedup();
    let durables = auth::durables(&topology, &specialties)?;
    Ok(Permissions::embedded()?.authorization(grants, &topology, &durables)?)
}

/// Writes a new admin seed to `out` (mode 0600, never overwriting); returns its public
/// key.
pub fn admin_keygen(out: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let pair = nkeys::KeyPair::new_operator();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    std::io::Write::write_all(
        &mut file,
        format!("{}\n", pair.seed().map_err(anyhow::Error::msg)?).as_bytes(),
    )?;
    Ok(pair.public_key())
}
