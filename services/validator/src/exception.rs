//! Scoped exceptions in the validator: the live ones, held in memory from the
//! `lh_exceptions` bucket, and the pure rule for when one turns an Escalate into Allow.
//!
//! An exception only ever changes an Escalate verdict: deny stays deny. It covers a
//! call when the project, the normalised-command key, the tool and the escalating rule
//! all match, its scope (session, agent or project) contains the call, and it is
//! neither revoked nor expired at decision time. A record whose key does not name its
//! granter, or that outlives the configured maximum, is ignored: the server proves who
//! wrote a key, the record must agree.

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use lighthouse_nats::topology::EXCEPTIONS_BUCKET;
use lighthouse_schemas::{Command, Decision, Exception, ExceptionScope, Tier, Verdict, decode};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Why a record was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Its key is not `<granter>.<id>` for the granter and id it names.
    WrongKey,
    /// It lasts longer than exceptions may.
    TooLong,
    /// The table is full; it waits until others expire or are revoked.
    Full,
}

/// The key an exception is stored under: `ops.<id>` or `expert.<name>.<id>`, so that
/// the server's per-identity write permission (`granter` in `nats/permissions.toml`)
/// proves who granted it. `None` for a granter that is neither.
pub fn key(granted_by: &str, id: &str) -> Option<String> {
    let id = lighthouse_schemas::Token::encode(id).kv_key();
    if granted_by == "ops" {
        return Some(format!("ops.{id}"));
    }
    let name = granted_by.strip_prefix("expert-")?;
    Some(format!(
        "expert.{}.{id}",
        lighthouse_schemas::Token::encode(name).kv_key()
    ))
}

/// Whether `e` covers `command`, whose key is `fingerprint` and which the policy
/// escalated under `rule_id`, at `now_us`.
pub fn covers(
    e: &Exception,
    command: &Command,
    fingerprint: &str,
    rule_id: Option<&str>,
    now_us: u64,
) -> bool {
    let in_scope = match &e.scope {
        ExceptionScope::Session(s) => *s == command.session_id,
        ExceptionScope::Agent(a) => *a == command.env.agent,
        ExceptionScope::Project => true,
    };
    in_scope
        && e.live(now_us)
        && e.env.project == command.env.project
        && e.fingerprint == fingerprint
        && e.tool_name == command.tool_name
        && e.rule_id.as_deref() == rule_id
}

/// Turns the policy's Escalate `decision` into the exception's Allow, naming it.
/// Anything but Escalate is left alone.
pub fn apply(decision: &mut Decision, e: &Exception) {
    if decision.verdict != Verdict::Escalate {
        return;
    }
    decision.verdict = Verdict::Allow;
    decision.tier = Tier::Exception;
    decision.exception = Some(e.env.id.clone());
    decision.reason = format!(
        "allowed by exception {} (granted by {}: {}); the policy would ask: {}",
        e.env.id, e.granted_by, e.reason, decision.reason
    );
}

/// The live exceptions, by bucket key, with an index by normalised-command key.
#[derive(Debug)]
pub struct Live {
    by_key: HashMap<String, Exception>,
    by_print: HashMap<String, HashSet<String>>,
    max: usize,
    max_lifetime_us: u64,
}

impl Live {
    /// Holds at most `max` exceptions, each lasting at most `max_lifetime_us`.
    pub fn new(max: usize, max_lifetime_us: u64) -> Live {
        Live {
            by_key: HashMap::new(),
            by_print: HashMap::new(),
            max,
            max_lifetime_us,
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Takes the bucket's latest record for `key` (`None`: deleted or purged). A
    /// revoked or expired one is dropped.
    pub fn update(
        &mut self,
        bucket_key: &str,
        record: Option<Exception>,
        now_us: u64,
    ) -> Result<(), Refused> {
        self.remove(bucket_key);
        let Some(e) = record else {
            return Ok(());
        };
        if key(&e.granted_by, &e.env.id).as_deref() != Some(bucket_key) {
            return Err(Refused::WrongKey);
        }
        if e.expires_us.saturating_sub(e.env.ts_us) > self.max_lifetime_us {
            return Err(Refused::TooLong);
        }
        if !e.live(now_us) {
            return Ok(());
        }
        if self.by_key.len() >= self.max {
            self.prune(now_us);
            if self.by_key.len() >= self.max {
                return Err(Refused::Full);
            }
        }
        self.by_print
            .entry(e.fingerprint.clone())
            .or_default()
            .insert(bucket_key.to_owned());
        self.by_key.insert(bucket_key.to_owned(), e);
        Ok(())
    }

    /// The exception covering `command`, if any (the one expiring last, when several).
    pub fn find(
        &self,
        command: &Command,
        fingerprint: &str,
        rule_id: Option<&str>,
        now_us: u64,
    ) -> Option<&Exception> {
        self.by_print
            .get(fingerprint)?
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .filter(|e| covers(e, command, fingerprint, rule_id, now_us))
            .max_by_key(|e| e.expires_us)
    }

    fn remove(&mut self, bucket_key: &str) {
        if let Some(old) = self.by_key.remove(bucket_key)
            && let Some(keys) = self.by_print.get_mut(&old.fingerprint)
        {
            keys.remove(bucket_key);
            if keys.is_empty() {
                self.by_print.remove(&old.fingerprint);
            }
        }
    }

    /// Drops every exception no longer live.
    fn prune(&mut self, now_us: u64) {
        let dead: Vec<String> = self
            .by_key
            .iter()
            .filter(|(_, e)| !e.live(now_us))
            .map(|(k, _)| k.clone())
            .collect();
        for k in dead {
            self.remove(&k);
        }
    }
}

/// Keeps `live` current with the bucket until `shutdown`: every key's latest record
/// first, then every change. On a lost watch it starts over (the table is rebuilt from
/// the bucket, so nothing is missed).
pub async fn follow(js: jetstream::Context, live: Arc<Mutex<Live>>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let watch = match js.get_key_value(EXCEPTIONS_BUCKET).await {
            Ok(store) => store
                .watch_with_history(">")
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut watch = match watch {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "exceptions_unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        if let Ok(mut table) = live.lock() {
            *table = Live::new(table.max, table.max_lifetime_us);
        }
        loop {
            tokio::select! {
                entry = watch.next() => match entry {
                    Some(Ok(entry)) => take(&live, &entry),
                    Some(Err(e)) => {
                        warn!(error = %e, "exceptions_watch_error");
                        break;
                    }
                    None => break,
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

fn take(live: &Mutex<Live>, entry: &kv::Entry) {
    let record = match entry.operation {
        kv::Operation::Put => match decode::<Exception>(&entry.value) {
            Ok(e) => Some(e),
            Err(e) => {
                // Unreadable: it covers nothing (the call escalates as without it).
                warn!(key = %entry.key, error = %e, "exception_undecodable");
                None
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => None,
    };
    let Ok(mut table) = live.lock() else {
        return;
    };
    match table.update(&entry.key, record, lighthouse_schemas::now_us()) {
        Ok(()) => info!(key = %entry.key, live = table.len(), "exception_loaded"),
        Err(why) => warn!(key = %entry.key, reason = ?why, "exception_ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Envelope, Revocation};
    use serde_json::json;

    const HOUR: u64 = 3_600_000_000;

    fn command(session: &str, agent: &str) -> Command {
        Command {
            env: Envelope::new("c1", 10, "web", agent, "c1"),
            tool_name: "Bash".into(),
            tool_input: json!({"command": "git push origin main"}),
            cwd: "/work/web".into(),
            session_id: session.into(),
            tool_use_id: None,
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        }
    }

    fn exception(id: &str, scope: ExceptionScope) -> Exception {
        Exception {
            env: Envelope::new(id, 0, "web", "claude", "c0"),
            scope,
            tool_name: "Bash".into(),
            fingerprint: "fp1-a".into(),
            rule_id: Some("git.push_default_branch".into()),
            normalized: vec!["git push origin main".into()],
            granted_by: "expert-alice".into(),
            reason: "release".into(),
            expires_us: HOUR,
            revoked: None,
        }
    }

    fn live_with(e: Exception) -> Live {
        let mut live = Live::new(10, 24 * HOUR);
        let k = key(&e.granted_by, &e.env.id).unwrap();
        live.update(&k, Some(e), 1).unwrap();
        live
    }

    const RULE: Option<&str> = Some("git.push_default_branch");

    #[test]
    fn scope_decides_whose_calls_are_covered() {
        let session = live_with(exception("x1", ExceptionScope::Session("s1".into())));
        assert!(
            session
                .find(&command("s1", "claude"), "fp1-a", RULE, 5)
                .is_some()
        );
        assert!(
            session
                .find(&command("s2", "claude"), "fp1-a", RULE, 5)
                .is_none()
        );
        let agent = live_with(exception("x2", ExceptionScope::Agent("claude".into())));
        assert!(
            agent
                .find(&command("s2", "claude"), "fp1-a", RULE, 5)
                .is_some()
        );
        assert!(
            agent
                .find(&command("s1", "codex"), "fp1-a", RULE, 5)
                .is_none()
        );
        let project = live_with(exception("x3", ExceptionScope::Project));
        assert!(
            project
                .find(&command("s9", "codex"), "fp1-a", RULE, 5)
                .is_some()
        );
        let mut elsewhere = command("s1", "claude");
        elsewhere.env.project = "api".into();
        assert!(project.find(&elsewhere, "fp1-a", RULE, 5).is_none());
    }

    #[test]
    fn another_command_or_rule_is_not_covered() {
        let live = live_with(exception("x1", ExceptionScope::Project));
        let c = command("s1", "claude");
        assert!(live.find(&c, "fp1-b", RULE, 5).is_none());
        assert!(live.find(&c, "fp1-a", Some("pkg.publish"), 5).is_none());
        let mut write = c.clone();
        write.tool_name = "Write".into();
        assert!(live.find(&write, "fp1-a", RULE, 5).is_none());
    }

    #[test]
    fn expired_or_revoked_exceptions_cover_nothing() {
        let live = live_with(exception("x1", ExceptionScope::Project));
        let c = command("s1", "claude");
        assert!(live.find(&c, "fp1-a", RULE, HOUR - 1).is_some());
        assert!(live.find(&c, "fp1-a", RULE, HOUR).is_none(), "expired");
        let mut revoked = exception("x1", ExceptionScope::Project);
        revoked.revoked = Some(Revocation {
            by: "ops".into(),
            ts_us: 2,
            reason: "done".into(),
        });
        let mut live = live;
        live.update("expert.alice.x1", Some(revoked), 3).unwrap();
        assert!(live.is_empty(), "a revocation removes it");
        assert!(live.find(&c, "fp1-a", RULE, 5).is_none());
    }

    #[test]
    fn records_must_sit_under_their_granter_and_last_a_bounded_time() {
        let mut live = Live::new(1, 24 * HOUR);
        let e = exception("x1", ExceptionScope::Project);
        assert_eq!(
            live.update("ops.x1", Some(e.clone()), 1),
            Err(Refused::WrongKey),
            "alice's exception under ops' name"
        );
        assert_eq!(
            live.update("expert.bob.x1", Some(e.clone()), 1),
            Err(Refused::WrongKey)
        );
        let mut long = e.clone();
        long.expires_us = 25 * HOUR;
        assert_eq!(
            live.update("expert.alice.x1", Some(long), 1),
            Err(Refused::TooLong)
        );
        live.update("expert.alice.x1", Some(e), 1).unwrap();
        let mut other = exception("x2", ExceptionScope::Project);
        other.granted_by = "ops".into();
        assert_eq!(
            live.update("ops.x2", Some(other.clone()), 1),
            Err(Refused::Full)
        );
        // Once the first has expired there is room again.
        other.expires_us = 3 * HOUR;
        live.update("ops.x2", Some(other), HOUR + 1).unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(key("someone", "x"), None);
    }

    #[test]
    fn only_an_escalation_becomes_an_allow_naming_the_exception() {
        let e = exception("x1", ExceptionScope::Project);
        let mut d = Decision {
            env: Envelope::new("c1", 10, "web", "claude", "c1"),
            cmd_id: "c1".into(),
            verdict: Verdict::Escalate,
            reason: "pushes to main".into(),
            rule_id: RULE.map(str::to_owned),
            risk: None,
            tier: Tier::Policy,
            latency_us: 0,
            decided_by: "v1".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        };
        let mut deny = d.clone();
        deny.verdict = Verdict::Deny;
        apply(&mut deny, &e);
        assert_eq!(
            (deny.verdict, deny.tier, deny.exception),
            (Verdict::Deny, Tier::Policy, None)
        );
        apply(&mut d, &e);
        assert_eq!((d.verdict, d.tier), (Verdict::Allow, Tier::Exception));
        assert_eq!(d.exception.as_deref(), Some("x1"));
        assert!(
            d.reason.contains("x1") && d.reason.contains("pushes to main"),
            "{}",
            d.reason
        );
    }
}
