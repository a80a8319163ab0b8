//! A cache of evaluations bounded in bytes.
//!
//! The key holds the policy version and the whole call (tool, input, cwd, home): the
//! same command means something else in another directory, and a new policy is a new
//! version, so stale entries are never hit and simply age out. Because the version is
//! in the key, one [`EvalCache`] can be shared by every policy of a process (the
//! validator's per-project policies): its byte budget is then the process's whole
//! cache, however many projects there are.
//!
//! Entries are weighed by the bytes they hold (key, reason, rule, normalised commands,
//! plus a fixed overhead), not counted: a few thousand large commands weigh what
//! hundreds of thousands of small ones do.

use crate::{Call, Evaluation, Policy};
use moka::sync::Cache;

/// An evaluation and whether it came from the cache (the worker reports tier=cache).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEvaluation {
    pub evaluation: Evaluation,
    pub from_cache: bool,
}

/// Evaluations by call, weighed in bytes. Clones share the same entries and budget.
pub type EvalCache = Cache<String, Evaluation>;

/// Bookkeeping per entry besides the bytes it points at (moka's node, the `String`
/// and `Vec` headers).
const ENTRY_OVERHEAD: usize = 160;

/// An empty cache holding at most `max_bytes` (by [`weight`]).
pub fn eval_cache(max_bytes: u64) -> EvalCache {
    Cache::builder()
        .max_capacity(max_bytes)
        .weigher(|key: &String, evaluation: &Evaluation| weight(key, evaluation))
        .build()
}

/// The bytes one entry holds.
pub fn weight(key: &str, evaluation: &Evaluation) -> u32 {
    let strings: usize = evaluation.reason.len()
        + evaluation.rule_id.as_ref().map_or(0, String::len)
        + evaluation.alternative.as_ref().map_or(0, String::len)
        + evaluation
            .normalized
            .iter()
            .map(|n| n.len() + 24)
            .sum::<usize>();
    u32::try_from(key.len() + strings + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// A [`Policy`] with a bounded cache in front.
#[derive(Debug, Clone)]
pub struct CachedPolicy {
    policy: Policy,
    cache: EvalCache,
}

/// Inputs larger than this are evaluated but not cached (they would crowd out the rest).
const MAX_KEY: usize = 16 * 1024;

impl CachedPolicy {
    /// Caches evaluations up to `max_bytes`.
    pub fn new(policy: Policy, max_bytes: u64) -> CachedPolicy {
        CachedPolicy::shared(policy, eval_cache(max_bytes))
    }

    /// Caches evaluations in `cache`, shared with other policies.
    pub fn shared(policy: Policy, cache: EvalCache) -> CachedPolicy {
        CachedPolicy { policy, cache }
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

    /// Bytes held now (by [`weight`]).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
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
        call.branch.unwrap_or("\u{0}none"),
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
        let cp = CachedPolicy::new(Policy::builtin(), 1 << 20);
        let input = json!({"command": "rm -rf ./target"});
        let call = Call {
            tool_name: "Bash",
            tool_input: &input,
            cwd: "/home/u/p",
            home: Some("/home/u"),
            branch: None,
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

    #[test]
    fn the_budget_is_in_bytes_whatever_the_entry_count() {
        let budget = 256 * 1024;
        let cp = CachedPolicy::new(Policy::builtin(), budget);
        for i in 0..400 {
            // ~8 KiB per distinct command: 400 of them weigh ~3 MiB.
            let input = json!({"command": format!("echo {i} {}", "x".repeat(8 * 1024))});
            let call = Call {
                tool_name: "Bash",
                tool_input: &input,
                cwd: "/home/u/p",
                home: Some("/home/u"),
                branch: None,
            };
            cp.evaluate(&call);
        }
        let held = cp.weighted_bytes();
        assert!(
            held <= budget,
            "{held} bytes held over a {budget} byte budget"
        );
        assert!(
            held > budget / 4,
            "the cache holds something ({held} bytes)"
        );
        assert!(cp.entry_count() < 400);
    }
}
