//! A bounded cache of evaluations.
//!
//! The key holds the policy version and the whole call (tool, input, cwd, home): the
//! same command means something else in another directory, and a new policy is a new
//! version, so stale entries are never hit and simply age out.

use crate::{Call, Evaluation, Policy};
use moka::sync::Cache;

/// An evaluation and whether it came from the cache (the worker reports tier=cache).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEvaluation {
    pub evaluation: Evaluation,
    pub from_cache: bool,
}

/// A [`Policy`] with a bounded cache in front.
#[derive(Debug, Clone)]
pub struct CachedPolicy {
    policy: Policy,
    cache: Cache<String, Evaluation>,
}

/// Inputs larger than this are evaluated but not cached (they would crowd out the rest).
const MAX_KEY: usize = 16 * 1024;

impl CachedPolicy {
    /// Caches up to `capacity` evaluations.
    pub fn new(policy: Policy, capacity: u64) -> CachedPolicy {
        CachedPolicy {
            policy,
            cache: Cache::new(capacity),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Swaps in a new policy; entries of the old one can no longer be hit.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    pub fn evaluate(&self, call: &Call<'_>) -> CachedEvaluation {
        let key = key(&self.policy, call);
        if key.len() > MAX_KEY {
            return CachedEvaluation {
                evaluation: self.policy.evaluate(call),
                from_cache: false,
            };
        }
        if let Some(evaluation) = self.cache.get(&key) {
            return CachedEvaluation {
                evaluation,
                from_cache: true,
            };
        }
        let evaluation = self.policy.evaluate(call);
        self.cache.insert(key, evaluation.clone());
        CachedEvaluation {
            evaluation,
            from_cache: false,
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

fn key(policy: &Policy, call: &Call<'_>) -> String {
    // serde_json's map is ordered, so equal inputs serialise equally.
    let input = serde_json::to_string(call.tool_input).unwrap_or_default();
    let mut k = String::with_capacity(input.len() + call.cwd.len() + 64);
    for part in [
        policy.version(),
        call.tool_name,
        call.cwd,
        call.home.unwrap_or("\u{0}none"),
        &input,
    ] {
        k.push_str(part);
        k.push('\u{0}');
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hits_and_separates_by_cwd_and_version() {
        let cp = CachedPolicy::new(Policy::builtin(), 100);
        let input = json!({"command": "rm -rf ./target"});
        let call = Call {
            tool_name: "Bash",
            tool_input: &input,
            cwd: "/home/u/p",
            home: Some("/home/u"),
        };
        assert!(!cp.evaluate(&call).from_cache);
        assert!(cp.evaluate(&call).from_cache);
        let other = Call {
            cwd: "/home/u/q",
            ..call
        };
        assert!(!cp.evaluate(&other).from_cache);
        let mut cp2 = cp.clone();
        let extra = crate::PolicyPack::parse("extra", "[pack]\nname = \"extra\"\n").unwrap();
        let mut packs = Policy::builtin_packs().unwrap();
        packs.push(extra);
        cp2.set_policy(Policy::from_packs(&packs).unwrap());
        assert!(!cp2.evaluate(&call).from_cache);
    }
}
