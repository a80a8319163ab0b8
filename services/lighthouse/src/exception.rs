//! `lighthouse exception grant|list|revoke`: scoped exceptions, granted by a human.
//!
//! A grant turns one escalation the experts approved into a standing Allow for the same
//! normalised call ([`lighthouse_policy::fingerprint`]) within a session, an agent or a
//! project, until it expires or is revoked. It is refused for a call that was never
//! escalated, that the experts did not approve, or that the current policy denies or
//! escalates for another reason. Records live in `lh_exceptions` under
//! `<granter>.<id>`; the server lets ops, and experts listed in `exceptions.granters`
//! under their own name, write there (the agent never). Revoking writes a new revision.

use crate::settings::Settings;
use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use lighthouse_mcp::files::parse_duration;
use lighthouse_nats::topology::{ESCALATIONS_BUCKET, EXCEPTIONS_BUCKET};
use lighthouse_schemas::{
    Decision, Envelope, Escalation, Exception, ExceptionScope, Revocation, Tier, Token, Verdict,
    decode, encode, now_us,
};
use lighthouse_validator::exception::key;
use serde_json::{Value, json};
use std::time::Duration;

/// `lighthouse exception …`.
#[derive(Debug, clap::Subcommand)]
pub enum ExceptionCmd {
    /// Turns an escalation the experts approved into a standing Allow for the same
    /// normalised call in its session, agent or project, until it expires.
    Grant {
        /// The escalated command's id.
        cmd_id: String,
        #[arg(long, value_enum)]
        scope: Scope,
        /// How long it lasts (8h, 30m, 2d); default exceptions.default_expiry_s.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<Duration>,
        /// Why: every decision it changes shows it.
        #[arg(long)]
        reason: String,
        /// Grant as this expert (listed in exceptions.granters) instead of ops.
        #[arg(long = "as")]
        as_expert: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The exceptions in force.
    List {
        /// Also expired and revoked ones.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
        /// Read as this expert instead of ops.
        #[arg(long = "as")]
        as_expert: Option<String>,
    },
    /// Withdraws an exception (its record keeps the grant in its history).
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
        /// Revoke as this expert (its own grants only) instead of ops.
        #[arg(long = "as")]
        as_expert: Option<String>,
    },
}

/// Runs one `lighthouse exception` command.
pub async fn run(settings: &Settings, command: ExceptionCmd) -> anyhow::Result<()> {
    let now = now_us();
    match command {
        ExceptionCmd::Grant {
            cmd_id,
            scope,
            expires,
            reason,
            as_expert,
            json,
        } => {
            let e = grant(
                settings,
                Grant {
                    cmd_id,
                    scope,
                    expires,
                    reason,
                    as_expert,
                },
            )
            .await?;
            if json {
                println!("{}", to_json(&e, now));
            } else {
                println!(
                    "lighthouse: exception {} granted by {} for {} ({}) until {}",
                    e.env.id,
                    e.granted_by,
                    scope_text(&e),
                    e.normalized.join(" ; "),
                    when(e.expires_us)
                );
            }
        }
        ExceptionCmd::List {
            all,
            json,
            as_expert,
        } => {
            let listed = list(settings, all, as_expert.as_deref()).await?;
            if json {
                let items: Vec<Value> = listed.iter().map(|l| to_json(&l.exception, now)).collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                print!("{}", render(&listed, now));
            }
        }
        ExceptionCmd::Revoke {
            id,
            reason,
            as_expert,
        } => {
            let e = revoke(settings, &id, &reason, as_expert.as_deref()).await?;
            println!("lighthouse: exception {} revoked", e.env.id);
        }
    }
    Ok(())
}

/// Which calls a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    Session,
    Agent,
    Project,
}

/// The identity acting: ops, or the expert `--as` names.
pub fn role(as_expert: Option<&str>) -> String {
    as_expert.map_or_else(|| "ops".to_owned(), lighthouse_nats::auth::expert_role)
}

/// What the current policy says about the escalated call.
#[derive(Debug, Clone)]
pub struct Now {
    pub verdict: Verdict,
    pub rule_id: Option<String>,
    pub reason: String,
}

/// Why a grant may not be made, or `Ok` (pure: the checks `grant` makes).
pub fn grantable(
    escalation: &Escalation,
    decision: Option<&Decision>,
    now: &Now,
) -> Result<(), String> {
    let id = &escalation.cmd_id;
    let Some(d) = decision else {
        return Err(format!(
            "{id} has no decision yet: an exception is granted from an escalation the experts approved"
        ));
    };
    if d.verdict != Verdict::Allow || d.tier != Tier::Expert {
        return Err(format!(
            "{id} was not approved by experts (verdict {:?}, tier {:?}): only an approved escalation can become an exception",
            d.verdict, d.tier
        ));
    }
    if !d.provenance.cmd_digest.is_empty()
        && d.provenance.cmd_digest != escalation.command.payload_digest()
    {
        return Err(format!(
            "{id}: the decision was made for another payload than the escalation holds"
        ));
    }
    match now.verdict {
        Verdict::Deny => Err(format!(
            "the policy denies {id} now ({}: {}): exceptions never cover a denied call",
            now.rule_id.as_deref().unwrap_or("-"),
            now.reason
        )),
        Verdict::Allow => Err(format!(
            "the policy allows {id} now: no exception is needed"
        )),
        Verdict::Escalate if now.rule_id != escalation.rule_id => Err(format!(
            "the policy now escalates {id} for another reason ({}, was {}): the experts approved the old one",
            now.rule_id.as_deref().unwrap_or("-"),
            escalation.rule_id.as_deref().unwrap_or("-")
        )),
        Verdict::Escalate => Ok(()),
    }
}

/// Arguments of one grant.
#[derive(Debug, Clone)]
pub struct Grant {
    pub cmd_id: String,
    pub scope: Scope,
    pub expires: Option<Duration>,
    pub reason: String,
    pub as_expert: Option<String>,
}

/// Who grants, why, for how long, and when.
#[derive(Debug, Clone, Copy)]
pub struct Granting<'a> {
    pub granted_by: &'a str,
    pub reason: &'a str,
    pub lifetime: Duration,
    pub now_us: u64,
}

/// The exception `grant` records (pure).
pub fn exception(
    escalation: &Escalation,
    scope: Scope,
    fingerprint: String,
    normalized: Vec<String>,
    by: Granting<'_>,
) -> Exception {
    let c = &escalation.command;
    let id = format!("ex-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut env = Envelope::new(
        id,
        by.now_us,
        &c.env.project,
        &c.env.agent,
        &escalation.cmd_id,
    );
    env.causation_id = Some(escalation.env.id.clone());
    Exception {
        env,
        scope: match scope {
            Scope::Session => ExceptionScope::Session(c.session_id.clone()),
            Scope::Agent => ExceptionScope::Agent(c.env.agent.clone()),
            Scope::Project => ExceptionScope::Project,
        },
        tool_name: c.tool_name.clone(),
        fingerprint,
        rule_id: escalation.rule_id.clone(),
        normalized,
        granted_by: by.granted_by.to_owned(),
        reason: by.reason.to_owned(),
        expires_us: by.now_us.saturating_add(by.lifetime.as_micros() as u64),
        revoked: None,
    }
}

async fn connect(
    settings: &Settings,
    as_expert: Option<&str>,
) -> anyhow::Result<jetstream::Context> {
    let client = settings
        .connect_as(&role(as_expert), "lighthouse-exception")
        .await?;
    Ok(jetstream::new(client))
}

async fn bucket(js: &jetstream::Context) -> anyhow::Result<kv::Store> {
    js.get_key_value(EXCEPTIONS_BUCKET).await.map_err(|e| {
        anyhow::anyhow!("opening {EXCEPTIONS_BUCKET}: {e} (`lighthouse nats apply` creates it)")
    })
}

/// Grants an exception; returns it as recorded.
pub async fn grant(settings: &Settings, args: Grant) -> anyhow::Result<Exception> {
    if args.reason.trim().is_empty() {
        anyhow::bail!("an exception needs a reason: every decision it changes shows it");
    }
    let limits = &settings.exceptions;
    let lifetime = args.expires.unwrap_or(limits.default_expiry());
    if lifetime.is_zero() || lifetime > limits.max_expiry() {
        anyhow::bail!(
            "--expires must be positive and at most {} s (exceptions.max_expiry_s)",
            limits.max_expiry_s
        );
    }
    let granted_by = role(args.as_expert.as_deref());
    let js = connect(settings, args.as_expert.as_deref()).await?;
    let escalation: Escalation = match js.get_key_value(ESCALATIONS_BUCKET).await {
        Ok(store) => match store.get(Token::encode(&args.cmd_id).kv_key()).await? {
            Some(bytes) => decode(&bytes)?,
            None => anyhow::bail!(
                "{} was not escalated (or its escalation is older than a week): an exception is granted from an escalation the experts approved",
                args.cmd_id
            ),
        },
        Err(e) => anyhow::bail!("opening {ESCALATIONS_BUCKET}: {e}"),
    };
    let c = &escalation.command;
    // A direct get of the one decision subject: what an expert identity may read.
    let subject = lighthouse_schemas::subject::decision(
        &Token::encode(&c.env.project),
        &Token::encode(&c.env.agent),
        &Token::encode(&escalation.cmd_id),
    );
    let decision = lighthouse_nats::read::recorded_decision(&js, &subject).await;
    let home = lighthouse_policy::home_from_cwd(&c.cwd)
        .map(str::to_owned)
        .or_else(|| lighthouse_config::home_dir().map(|h| h.to_string_lossy().into_owned()));
    let call = lighthouse_policy::Call {
        tool_name: &c.tool_name,
        tool_input: &c.tool_input,
        cwd: &c.cwd,
        home: home.as_deref(),
        branch: c.git_branch.as_deref(),
    };
    // Judged as the validators would judge it now: the pushed packs included.
    let book = lighthouse_validator::book::load(
        &js,
        &settings.trust.admin_keys,
        &lighthouse_policy::eval_cache(1 << 20),
    )
    .await
    .map_err(|e| anyhow::anyhow!("reading the current policy: {e}"))?;
    let evaluation = book
        .for_project(Token::encode(&c.env.project).as_str())
        .policy()
        .evaluate(&call);
    let now = Now {
        verdict: evaluation.verdict,
        rule_id: evaluation.rule_id.clone(),
        reason: evaluation.reason.clone(),
    };
    grantable(&escalation, decision.as_ref(), &now).map_err(anyhow::Error::msg)?;
    let Some(fingerprint) = lighthouse_policy::fingerprint(&call) else {
        anyhow::bail!(
            "{}: the call is too large or complex to normalise completely; it cannot be covered",
            args.cmd_id
        );
    };
    let e = exception(
        &escalation,
        args.scope,
        fingerprint,
        evaluation.normalized,
        Granting {
            granted_by: &granted_by,
            reason: &args.reason,
            lifetime,
            now_us: now_us(),
        },
    );
    let Some(k) = key(&e.granted_by, &e.env.id) else {
        anyhow::bail!("{granted_by} cannot grant exceptions");
    };
    bucket(&js)
        .await?
        .create(&k, encode(&e)?.into())
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "recording the exception as {granted_by}: {err} (only ops and experts listed in exceptions.granters may grant)"
            )
        })?;
    let _ = tokio::time::timeout(Duration::from_secs(5), js.client().drain()).await;
    Ok(e)
}

/// One stored exception and its bucket key.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub revision: u64,
    pub exception: Exception,
}

async fn read_all(store: &kv::Store) -> anyhow::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut keys = store.keys().await?;
    while let Some(k) = keys.next().await {
        let k = k?;
        if let Some(entry) = store.entry(&k).await?
            && entry.operation == kv::Operation::Put
            && let Ok(exception) = decode::<Exception>(&entry.value)
        {
            out.push(Listed {
                key: k,
                revision: entry.revision,
                exception,
            });
        }
    }
    out.sort_by_key(|l| l.exception.env.ts_us);
    Ok(out)
}

/// The exceptions in force (with `all`, also expired and revoked ones), oldest first.
pub async fn list(
    settings: &Settings,
    all: bool,
    as_expert: Option<&str>,
) -> anyhow::Result<Vec<Listed>> {
    let js = connect(settings, as_expert).await?;
    let mut listed = read_all(&bucket(&js).await?).await?;
    let now = now_us();
    listed.retain(|l| all || l.exception.live(now));
    Ok(listed)
}

/// `live`, `expired` or `revoked`.
pub fn status(e: &Exception, now_us: u64) -> &'static str {
    if e.revoked.is_some() {
        "revoked"
    } else if now_us >= e.expires_us {
        "expired"
    } else {
        "live"
    }
}

fn scope_text(e: &Exception) -> String {
    match &e.scope {
        ExceptionScope::Session(s) => format!("session {s}"),
        ExceptionScope::Agent(a) => format!("agent {a}"),
        ExceptionScope::Project => "project".to_owned(),
    }
}

fn when(us: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| us.to_string())
}

/// One exception as JSON (for `--json` and `audit show`).
pub fn to_json(e: &Exception, now_us: u64) -> Value {
    json!({
        "id": e.env.id, "status": status(e, now_us), "project": e.env.project,
        "scope": e.scope, "tool_name": e.tool_name, "normalized": e.normalized,
        "fingerprint": e.fingerprint, "rule_id": e.rule_id, "cmd_id": e.cmd_id(),
        "granted_by": e.granted_by, "reason": e.reason, "created": when(e.env.ts_us),
        "expires": when(e.expires_us), "revoked": e.revoked.as_ref().map(|r| json!({
            "by": r.by, "when": when(r.ts_us), "reason": r.reason,
        })),
    })
}

/// The list for people: one line per exception.
pub fn render(listed: &[Listed], now_us: u64) -> String {
    if listed.is_empty() {
        return "no exceptions\n".to_owned();
    }
    let mut out = String::new();
    for l in listed {
        let e = &l.exception;
        out.push_str(&format!(
            "{}  {:<7}  {}/{}  {}  until {}  by {}  from {}  [{}]  {}: {}\n",
            e.env.id,
            status(e, now_us),
            e.env.project,
            scope_text(e),
            e.tool_name,
            when(e.expires_us),
            e.granted_by,
            e.cmd_id(),
            e.rule_id.as_deref().unwrap_or("-"),
            e.normalized.join(" ; "),
            e.reason,
        ));
        if let Some(r) = &e.revoked {
            out.push_str(&format!(
                "    revoked by {} at {}: {}\n",
                r.by,
                when(r.ts_us),
                r.reason
            ));
        }
    }
    out
}

/// Revokes exception `id`: a new revision of its record, so the grant stays in the
/// history. Ops may revoke any; an expert its own.
pub async fn revoke(
    settings: &Settings,
    id: &str,
    reason: &str,
    as_expert: Option<&str>,
) -> anyhow::Result<Exception> {
    if reason.trim().is_empty() {
        anyhow::bail!("a revocation needs a reason");
    }
    let by = role(as_expert);
    let js = connect(settings, as_expert).await?;
    let store = bucket(&js).await?;
    let suffix = format!(".{}", Token::encode(id).kv_key());
    let Some(found) = read_all(&store)
        .await?
        .into_iter()
        .find(|l| l.key.ends_with(&suffix) && l.exception.env.id == id)
    else {
        anyhow::bail!("no exception {id} (`lighthouse exception list --all` shows them)");
    };
    let mut e = found.exception;
    if let Some(r) = &e.revoked {
        anyhow::bail!("{id} was already revoked by {} ({})", r.by, r.reason);
    }
    if by != "ops" && by != e.granted_by {
        anyhow::bail!(
            "{id} was granted by {}: only they or ops may revoke it",
            e.granted_by
        );
    }
    e.revoked = Some(Revocation {
        by,
        ts_us: now_us(),
        reason: reason.to_owned(),
    });
    store
        .update(&found.key, encode(&e)?.into(), found.revision)
        .await
        .map_err(|err| anyhow::anyhow!("recording the revocation: {err}"))?;
    let _ = tokio::time::timeout(Duration::from_secs(5), js.client().drain()).await;
    Ok(e)
}

/// The exception a decision names, as JSON (for `audit show`); `None` when unreadable.
pub async fn named(js: &jetstream::Context, id: &str) -> Option<Value> {
    let store = js.get_key_value(EXCEPTIONS_BUCKET).await.ok()?;
    let suffix = format!(".{}", Token::encode(id).kv_key());
    read_all(&store)
        .await
        .ok()?
        .into_iter()
        .find(|l| l.key.ends_with(&suffix) && l.exception.env.id == id)
        .map(|l| to_json(&l.exception, now_us()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::{AgentKind, Command, ConsensusRule, Risk};
    use serde_json::json;

    fn escalation() -> Escalation {
        let command = Command {
            env: Envelope::new("c1", 1, "web", "claude", "c1"),
            tool_name: "Bash".into(),
            tool_input: json!({"command": "git push origin main"}),
            cwd: "/work/web".into(),
            session_id: "s1".into(),
            tool_use_id: None,
            agent_kind: AgentKind::ClaudeCode,
            permission_mode: None,
            git_branch: None,
        };
        Escalation {
            env: Envelope::new("c1.security", 2, "web", "claude", "c1"),
            cmd_id: "c1".into(),
            command,
            rule_id: Some("git.push_default_branch".into()),
            reason: "pushes to main".into(),
            risk: Risk::Medium,
            specialty: "security".into(),
            required: vec!["security".into()],
            consensus: ConsensusRule::single(),
            deadline_us: 3,
            context: Default::default(),
            traceparent: None,
        }
    }

    fn decided(verdict: Verdict, tier: Tier) -> Decision {
        Decision {
            env: Envelope::new("c1", 4, "web", "claude", "c1"),
            cmd_id: "c1".into(),
            verdict,
            reason: "r".into(),
            rule_id: None,
            risk: None,
            tier,
            latency_us: 0,
            decided_by: "alice".into(),
            voters: Vec::new(),
            provenance: Default::default(),
            exception: None,
        }
    }

    fn now(verdict: Verdict, rule: &str) -> Now {
        Now {
            verdict,
            rule_id: Some(rule.into()),
            reason: "why".into(),
        }
    }

    const RULE: &str = "git.push_default_branch";

    #[test]
    fn only_an_expert_approval_still_escalated_by_the_same_rule_is_grantable() {
        let e = escalation();
        let approved = decided(Verdict::Allow, Tier::Expert);
        assert_eq!(
            grantable(&e, Some(&approved), &now(Verdict::Escalate, RULE)),
            Ok(())
        );
        let err = |d: Option<&Decision>, n: Now| grantable(&e, d, &n).unwrap_err();
        assert!(err(None, now(Verdict::Escalate, RULE)).contains("no decision"));
        for (v, t) in [
            (Verdict::Deny, Tier::Expert),
            (Verdict::Escalate, Tier::Deadline),
            (Verdict::Allow, Tier::Fallback),
            (Verdict::Allow, Tier::Policy),
        ] {
            assert!(
                err(Some(&decided(v, t)), now(Verdict::Escalate, RULE)).contains("not approved"),
                "{v:?} {t:?}"
            );
        }
        assert!(err(Some(&approved), now(Verdict::Deny, "project.no_push")).contains("denies"));
        assert!(err(Some(&approved), now(Verdict::Allow, "bash.allow")).contains("allows"));
        assert!(
            err(Some(&approved), now(Verdict::Escalate, "pkg.publish")).contains("another reason")
        );
        let mut other_payload = approved.clone();
        other_payload.provenance.cmd_digest = "sha256:other".into();
        assert!(
            err(Some(&other_payload), now(Verdict::Escalate, RULE)).contains("another payload")
        );
    }

    #[test]
    fn a_grant_takes_its_scope_from_the_escalated_call() {
        let e = escalation();
        let hour = Duration::from_secs(3600);
        let by = Granting {
            granted_by: "ops",
            reason: "ok",
            lifetime: hour,
            now_us: 10,
        };
        let x = |scope| exception(&e, scope, "fp1-a".into(), vec![], by);
        assert_eq!(
            x(Scope::Session).scope,
            ExceptionScope::Session("s1".into())
        );
        assert_eq!(
            x(Scope::Agent).scope,
            ExceptionScope::Agent("claude".into())
        );
        let p = x(Scope::Project);
        assert_eq!(p.scope, ExceptionScope::Project);
        assert_eq!((p.env.project.as_str(), p.cmd_id()), ("web", "c1"));
        assert_eq!(p.expires_us, 10 + 3_600_000_000);
        assert!(
            p.env.id.starts_with("ex-") && p.env.id.len() == 15,
            "{}",
            p.env.id
        );
        assert_eq!(status(&p, 11), "live");
        assert_eq!(status(&p, p.expires_us), "expired");
    }

    #[test]
    fn durations_and_roles() {
        assert_eq!(parse_duration("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("8").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(role(None), "ops");
        assert_eq!(role(Some("alice")), "expert-alice");
    }
}
