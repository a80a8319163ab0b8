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
    /// Packs that failed to load, with the reason.
    pub errors: Vec<String>,
    /// The one evaluation cache every policy above shares (its budget is the whole
    /// validator's; policy versions in the keys keep entries apart).
    pub cache: EvalCache,
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

    /// Builds from the bucket's entries (key → TOML text), caching in `cache`.
    pub fn build(entries: &BTreeMap<String, String>, cache: &EvalCache) -> Book {
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
                match PolicyPack::parse(name, text) {
                    Ok(pack) => base.push(pack),
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
            let pack = match PolicyPack::parse_restricted(&format!("project {project}"), text) {
                Ok(pack) => pack,
                Err(e) => {
                    errors.push(format!("{key}: {e}"));
                    continue;
                }
            };
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

/// Keeps `book` current with the bucket until `shutdown`: loads it now, then rebuilds
/// on every change.
pub async fn follow(
    js: async_nats::jetstream::Context,
    book: Arc<ArcSwap<Book>>,
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
        reload(&store, &book).await;
        loop {
            tokio::select! {
                change = watch.next() => match change {
                    Some(Ok(_)) => reload(&store, &book).await,
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

async fn reload(store: &async_nats::jetstream::kv::Store, book: &ArcSwap<Book>) {
    match read_all(store).await {
        Ok(entries) => {
            let new = Book::build(&entries, &book.load().cache);
            for e in &new.errors {
                warn!(error = %e, "policy_pack_rejected");
            }
            info!(
                version = new.default.policy().version(),
                projects = new.projects.len(),
                "policy_loaded"
            );
            book.store(Arc::new(new));
        }
        Err(e) => warn!(error = %e, "policy_read_failed"),
    }
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
            })
            .evaluation
            .verdict
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
