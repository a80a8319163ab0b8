//! Which policy decides which project's calls, and hot reload from the `lh_policy` KV
//! bucket without a restart.
//!
//! Keys: `central.<name>` hold operator packs (full power); `project.<token>` hold a
//! project's own `.lighthouse/policy.toml` (restricted: it can only tighten). Every
//! project gets built-in + central packs, plus its own when present. A pack that fails
//! to parse is reported and left out; the rest keeps working.

use arc_swap::ArcSwap;
use futures::StreamExt;
use lighthouse_policy::{CachedPolicy, EvalCache, Policy, PolicyPack};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use lighthouse_nats::topology::POLICY_BUCKET;
const CENTRAL: &str = "central.";
const PROJECT: &str = "project.";
/// The evaluation cache's budget when none is configured (`validator.cache_bytes`).
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The compiled policies, swapped whole on every change.
#[derive(Debug)]
pub struct Book {
    pub default: CachedPolicy,
    /// By project subject token.
    pub projects: HashMap<String, CachedPolicy>,
    /// Packs that failed to load or were refused, with the reason.
    pub errors: Vec<String>,
    /// The one evaluation cache every policy above shares (its budget is the whole
    /// validator's; policy versions in the keys keep entries apart).
    pub cache: EvalCache,
}

/// Whether a pack may be layered: it only tightens, or an admin signed it.
fn admitted(
    key: &str,
    pack: &PolicyPack,
    text: &str,
    earlier: &[PolicyPack],
    admin_keys: &[String],
) -> Result<(), String> {
    let loosening = pack.loosening(earlier);
    if loosening.is_empty() {
        return Ok(());
    }
    match lighthouse_nats::auth::verify_pack(text, admin_keys) {
        Ok(signer) => {
            info!(key, signer, changes = %loosening.join(", "), "policy_loosened_by_admin");
            Ok(())
        }
        Err(why) => Err(format!(
            "{key}: refused: it loosens the policy ({}) and {why}; loosening needs an admin signature (lighthouse policy sign)",
            loosening.join(", ")
        )),
    }
}

impl Book {
    /// Built-in packs only.
    pub fn builtin(cache: &EvalCache) -> Book {
        Book {
            default: CachedPolicy::shared(Policy::builtin(), cache.clone()),
            projects: HashMap::new(),
            errors: Vec::new(),
            cache: cache.clone(),
        }
    }

    /// Builds from the bucket's entries (key → TOML text), trusting no admin key: every
    /// loosening pack is refused.
    pub fn build(entries: &BTreeMap<String, String>, cache: &EvalCache) -> Book {
        Book::build_with(entries, &[], cache)
    }

    /// Builds from the bucket's entries; a pack that loosens the policy is layered only
    /// when signed by one of `admin_keys`. Every policy caches in `cache`.
    pub fn build_with(
        entries: &BTreeMap<String, String>,
        admin_keys: &[String],
        cache: &EvalCache,
    ) -> Book {
        let mut errors = Vec::new();
        let mut base = match Policy::builtin_packs() {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("built-in packs: {e}"));
                Vec::new()
            }
        };
        for (key, text) in entries {
            if let Some(name) = key.strip_prefix(CENTRAL) {
                let (body, _) = lighthouse_nats::auth::split_pack_signature(text);
                match PolicyPack::parse(name, body) {
                    Ok(pack) => match admitted(key, &pack, text, &base, admin_keys) {
                        Ok(()) => base.push(pack),
                        Err(refused) => errors.push(refused),
                    },
                    Err(e) => errors.push(format!("{key}: {e}")),
                }
            }
        }
        let compile =
            |packs: &[PolicyPack], errors: &mut Vec<String>| match Policy::from_packs(packs) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            };
        let default = compile(&base, &mut errors).unwrap_or_else(Policy::builtin);
        let mut projects = HashMap::new();
        for (key, text) in entries {
            let Some(project) = key
                .strip_prefix(PROJECT)
                .and_then(lighthouse_schemas::Token::from_kv_key)
            else {
                continue;
            };
            let project = project.as_str();
            let (body, _) = lighthouse_nats::auth::split_pack_signature(text);
            let pack = match PolicyPack::parse_restricted(&format!("project {project}"), body) {
                Ok(pack) => pack,
                Err(e) => {
                    errors.push(format!("{key}: {e}"));
                    continue;
                }
            };
            if let Err(refused) = admitted(key, &pack, text, &base, admin_keys) {
                errors.push(refused);
                continue;
            }
            let mut packs = base.clone();
            packs.push(pack);
            if let Some(policy) = compile(&packs, &mut errors) {
                projects.insert(
                    project.to_owned(),
                    CachedPolicy::shared(policy, cache.clone()),
                );
            }
        }
        Book {
            default: CachedPolicy::shared(default, cache.clone()),
            projects,
            errors,
            cache: cache.clone(),
        }
    }

    /// The policy for a project (by subject token).
    pub fn for_project(&self, project_token: &str) -> &CachedPolicy {
        self.projects.get(project_token).unwrap_or(&self.default)
    }
}

/// The bucket key of a project's pack.
pub fn project_key(project: &str) -> String {
    format!(
        "{PROJECT}{}",
        lighthouse_schemas::Token::encode(project).kv_key()
    )
}

/// The bucket key of a central pack.
pub fn central_key(name: &str) -> String {
    format!(
        "{CENTRAL}{}",
        lighthouse_schemas::Token::encode(name).kv_key()
    )
}

async fn read_all(
    store: &async_nats::jetstream::kv::Store,
) -> Result<BTreeMap<String, String>, async_nats::Error> {
    let mut entries = BTreeMap::new();
    let mut keys = store.keys().await?;
    while let Some(key) = keys.next().await {
        let key = key?;
        if let Some(value) = store.get(&key).await? {
            entries.insert(key, String::from_utf8_lossy(&value).into_owned());
        }
    }
    Ok(entries)
}

/// The policy that named `packs` (labels, in layering order) and `version`, rebuilt
/// from the built-in packs and `revisions` (bucket key, text: any of the bucket's past
/// values) for project `project_token`; `None` when a pack is no longer known.
pub fn rebuild(
    revisions: &[(String, String)],
    project_token: &str,
    packs: &[String],
    version: &str,
) -> Option<Policy> {
    let mut known = Policy::builtin_packs().ok()?;
    for (key, text) in revisions {
        let (body, _) = lighthouse_nats::auth::split_pack_signature(text);
        if let Some(name) = key.strip_prefix(CENTRAL) {
            known.extend(PolicyPack::parse(name, body).ok());
        } else if let Some(project) = key
            .strip_prefix(PROJECT)
            .and_then(lighthouse_schemas::Token::from_kv_key)
            .filter(|p| p.as_str() == project_token)
        {
            let name = format!("project {}", project.as_str());
            known.extend(PolicyPack::parse_restricted(&name, body).ok());
        }
    }
    let chosen: Vec<PolicyPack> = packs
        .iter()
        .map(|label| known.iter().find(|p| p.label() == *label).cloned())
        .collect::<Option<_>>()?;
    Policy::from_packs(&chosen)
        .ok()
        .filter(|p| p.version() == version)
}

/// Every value each key of the bucket has held that is still in its history.
pub async fn revisions(
    js: &async_nats::jetstream::Context,
) -> Result<Vec<(String, String)>, async_nats::Error> {
    let store = js.get_key_value(POLICY_BUCKET).await?;
    let mut out = Vec::new();
    let mut keys = store.keys().await?;
    while let Some(key) = keys.next().await {
        let key = key?;
        let mut history = store.history(&key).await?;
        while let Some(entry) = history.next().await {
            let entry = entry?;
            if entry.operation == async_nats::jetstream::kv::Operation::Put {
                out.push((
                    key.clone(),
                    String::from_utf8_lossy(&entry.value).into_owned(),
                ));
            }
        }
    }
    Ok(out)
}

/// The book the validators hold now: built from the bucket as it stands (for a CLI that
/// must judge a call as the pipeline would).
pub async fn load(
    js: &async_nats::jetstream::Context,
    admin_keys: &[String],
    cache: &EvalCache,
) -> Result<Book, async_nats::Error> {
    let store = js.get_key_value(POLICY_BUCKET).await?;
    Ok(Book::build_with(
        &read_all(&store).await?,
        admin_keys,
        cache,
    ))
}

/// Keeps `book` current with the bucket until `shutdown`: loads it now, then rebuilds
/// on every change.
pub async fn follow(
    js: async_nats::jetstream::Context,
    book: Arc<ArcSwap<Book>>,
    admin_keys: Arc<Vec<String>>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let store = match js.get_key_value(POLICY_BUCKET).await {
            Ok(store) => store,
            Err(e) => {
                warn!(error = %e, "policy_bucket_unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        let mut watch = match store.watch_all().await {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "policy_watch_failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        reload(&store, &book, &admin_keys).await;
        loop {
            tokio::select! {
                change = watch.next() => match change {
                    Some(Ok(_)) => reload(&store, &book, &admin_keys).await,
                    Some(Err(e)) => {
                        warn!(error = %e, "policy_watch_error");
                        break;
                    }
                    None => break,
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

async fn reload(
    store: &async_nats::jetstream::kv::Store,
    book: &ArcSwap<Book>,
    admin_keys: &[String],
) {
    match read_all(store).await {
        Ok(entries) => {
            let new = Book::build_with(&entries, admin_keys, &book.load().cache);
            for e in &new.errors {
                warn!(error = %e, "policy_pack_rejected");
            }
            info!(
                version = new.default.policy().version(),
                projects = new.projects.len(),
                "policy_loaded"
            );
            let default = new.default.policy().clone();
            book.store(Arc::new(new));
            tokio::task::spawn_blocking(move || precompile(&default));
        }
        Err(e) => warn!(error = %e, "policy_read_failed"),
    }
}

/// Compiles the default policy's patterns (full DFAs included) off the decision path:
/// calls decided meanwhile compile what they need on first use, as before. Project
/// policies stay lazy: each would hold its own copy of the patterns (tens of MB).
fn precompile(policy: &Policy) {
    let started = std::time::Instant::now();
    let failed = policy.precompile();
    info!(
        version = policy.version(),
        ms = started.elapsed().as_millis() as u64,
        failed = failed.len(),
        "policy_precompiled"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_policy::Call;
    use lighthouse_schemas::Verdict;
    use serde_json::json;

    const DENY_TERRAFORM: &str = r#"
[[rule]]
id = "project.no_terraform_apply"
verdict = "deny"
risk = "high"
reason = "terraform apply goes through CI here"
commands = ["terraform"]
args_any = ["^apply$"]
"#;

    fn verdict(policy: &CachedPolicy, command: &str) -> Verdict {
        policy
            .evaluate(&Call {
                tool_name: "Bash",
                tool_input: &json!({ "command": command }),
                cwd: "/work/p",
                home: Some("/home/u"),
                branch: None,
            })
            .evaluation
            .verdict
    }

    #[test]
    fn a_past_policy_is_rebuilt_from_its_pack_labels() {
        let cache = lighthouse_policy::eval_cache(1 << 20);
        let project = lighthouse_schemas::Token::encode("infra");
        let key = project_key("infra");
        let mut entries = BTreeMap::new();
        entries.insert(key.clone(), DENY_TERRAFORM.to_owned());
        let then = Book::build(&entries, &cache);
        let then = then.for_project(project.as_str()).policy().clone();
        let revisions = vec![
            (key.clone(), DENY_TERRAFORM.to_owned()),
            (key, "[[rule]]\nid = \"x\"\nverdict = \"deny\"\nrisk = \"low\"\nreason = \"x\"\ncommands = [\"x\"]\n".to_owned()),
        ];
        let rebuilt = rebuild(&revisions, project.as_str(), then.packs(), then.version())
            .expect("its packs are in the history");
        assert_eq!(rebuilt.version(), then.version());
        assert!(
            rebuild(
                &revisions[1..],
                project.as_str(),
                then.packs(),
                then.version()
            )
            .is_none()
        );
        let builtin = Policy::builtin();
        assert_eq!(
            rebuild(&[], "web", builtin.packs(), builtin.version()).map(|p| p.version().to_owned()),
            Some(builtin.version().to_owned())
        );
    }

    #[test]
    fn project_packs_apply_to_their_project_only_and_bad_packs_are_reported() {
        let mut entries = BTreeMap::new();
        entries.insert(project_key("infra.ops"), DENY_TERRAFORM.to_owned());
        entries.insert(central_key("broken"), "[[rule]\nnot toml".to_owned());
        let book = Book::build(&entries, &lighthouse_policy::eval_cache(1 << 20));
        assert_eq!(book.errors.len(), 1, "{:?}", book.errors);
        let infra = book.for_project(lighthouse_schemas::Token::encode("infra.ops").as_str());
        assert_eq!(
            verdict(infra, "terraform apply -auto-approve"),
            Verdict::Deny
        );
        assert_ne!(
            verdict(book.for_project("web"), "terraform apply -auto-approve"),
            Verdict::Deny
        );
        assert_ne!(
            infra.policy().version(),
            book.default.policy().version(),
            "a project pack changes the version, so caches never mix"
        );
        // Built-in rules still hold everywhere.
        assert_eq!(verdict(infra, "rm -rf /"), Verdict::Deny);
    }
}
