//! `lighthouse hook claude|codex|gemini`: the agent's hook, one process per tool call.
//!
//! Before a tool runs: publish the command, wait for its decision, answer in the
//! client's protocol ([`lighthouse_hook::protocol`]). When the local policy escalates,
//! the wait is `hook.escalation_wait_ms` (experts vote) instead of
//! `hook.decision_timeout_ms`. Whatever fails (no server, no validator, a slow
//! pipeline), the answer still comes in time from the same policy code run locally,
//! and the command plus that local decision are spooled for the audit log.
//!
//! After a tool ran: files it wrote reach `LH_FS` ([`crate::post_tool`]); notes experts
//! left on a file the agent read reach the model.

use crate::ask::{Waits, ask_pipeline, late_approval_record};
use crate::binding::{believable, binds, is_late_approval, rebind};
pub use crate::local::{decide_locally, local_policy};
use crate::relay::Ask;
use crate::relay_client::Miss;
use crate::spool::Spool;
use lighthouse_config::Settings;
use lighthouse_nats::publish::Published;
use lighthouse_nats::read::recorded_decision;
use lighthouse_schemas::{
    Choice, Command, Decision, Envelope, Risk, Tier, Token, Verdict, encode, now_us, subject,
};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub use crate::protocol::{
    self, Answer, Call, Client, Event, InputError, Output, command_id, parse,
};

/// Reads at most `max` bytes of stdin; more is an error, never a truncated payload.
pub fn read_bounded(mut input: impl Read, max: usize) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    input.by_ref().take(max as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(InputError::TooLarge(max));
    }
    Ok(buf)
}

/// The project a call belongs to: configured, else the nearest enclosing directory
/// holding `.git` or `.lighthouse`, else the working directory itself (see
/// [`lighthouse_config::project`]: paths are canonicalised, as for file events).
pub fn project_for(cwd: &str, configured: Option<&str>) -> String {
    lighthouse_config::project::name_of(Path::new(cwd), configured)
}

/// The nearest enclosing directory holding `.git` or `.lighthouse`, else `dir`.
pub fn project_root(dir: &Path) -> std::path::PathBuf {
    lighthouse_config::project::root(dir)
}

pub fn build_command(
    client: Client,
    call: &Call,
    id: String,
    project: String,
    agent: String,
) -> Command {
    Command {
        env: Envelope::new(id.clone(), now_us(), project, agent, id),
        tool_name: call.tool_name.clone(),
        tool_input: call.tool_input.clone(),
        cwd: call.cwd.clone(),
        session_id: call.session_id.clone(),
        tool_use_id: call.tool_use_id.clone(),
        agent_kind: client.agent_kind(),
        permission_mode: call.permission_mode.clone(),
        git_branch: pushed_branch(call),
    }
}

/// The branch checked out where a shell call that may push runs: only this machine can
/// read it, and `git push` with no branch named pushes it. Read only for a command that
/// says `push` (the hot path skips the lookup).
fn pushed_branch(call: &Call) -> Option<String> {
    let command = call.tool_input.get("command")?.as_str()?;
    (call.tool_name == "Bash" && command.contains("push"))
        .then(|| lighthouse_config::project::git_branch(Path::new(&call.cwd)))?
}

/// Only this machine knows whose a pid is and what a path links to: a call that reaches
/// the guard that way, as the rule and reason it is refused with.
fn reaches_the_guard(call: &Call) -> Option<(&'static str, String)> {
    let (tool, input, cwd) = (&call.tool_name, &call.tool_input, &call.cwd);
    if let Some(p) = crate::guard_pids::signalled(tool, input, cwd) {
        return Some((
            "hook.guard_pid",
            format!("signals the guard's own process {p}"),
        ));
    }
    let home = lighthouse_config::home_dir();
    let file = crate::guard_links::linked_guard_file(tool, input, cwd, home.as_deref())?;
    let reason = format!("writes the guard's file {} by another name", file.display());
    Some(("hook.guard_link", reason))
}

/// A decision's reason as the agent reads it.
pub fn describe(decision: &Decision) -> String {
    let rule = decision
        .rule_id
        .as_deref()
        .map(|r| format!(" [{r}]"))
        .unwrap_or_default();
    let tier = match decision.tier {
        Tier::Fallback => " (Lighthouse pipeline unreachable; decided locally)",
        _ => "",
    };
    format!("Lighthouse: {}{rule}{tier}", decision.reason)
}

/// Runs the hook for `client`: reads stdin, returns what to print and the exit code.
/// Every path ends in an answer, so the client never proceeds on a hook crash.
pub fn run(settings: &Settings, client: Client, stdin: impl Read) -> Output {
    set_agent_key(settings);
    let started = std::time::Instant::now();
    // Built only for a call that talks to NATS itself: a call the relay answers needs
    // no async runtime.
    let runtime = std::cell::OnceCell::new();
    let runtime = || {
        runtime.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
    };
    // With a relay running, a call before a tool asks it and connects only if it
    // cannot help; anything else connects.
    let relay = crate::relay::socket_path(&settings.state_dir());
    let relay = relay.exists().then_some(relay);
    let connect = |rt: &tokio::runtime::Runtime| {
        let task = rt.spawn(connect_as(
            settings.nats_url(),
            settings.client_auth("agent"),
            connect_limit(settings),
        ));
        rt.block_on(tokio::task::yield_now());
        task
    };
    let refuse = |e: InputError| protocol::render_refusal(client, &format!("Lighthouse: {e}"));
    let raw = match read_bounded(stdin, settings.hook.max_input_bytes) {
        Ok(raw) => raw,
        Err(e) => return refuse(e),
    };
    let call = match parse(client, &raw) {
        Ok(call) => call,
        Err(e) => return refuse(e),
    };
    // Calls before and after a tool talk to NATS unless the relay answers: connect now,
    // so the handshake overlaps the work below.
    let mut early = match (&relay, &call.event) {
        (None, Event::PreTool | Event::PostTool) => runtime().as_ref().ok().map(connect),
        _ => None,
    };
    let id = command_id(client, &call, &raw);
    if call.event != Event::Other {
        crate::patches::record_noted(settings, &call.session_id, &id);
    }
    match call.event {
        Event::Other => Output::SILENT,
        Event::PostTool => {
            crate::patches::forget(settings, &call.session_id, &id);
            // Files written go to LH_FS; notes on a file read go to the model: through
            // the relay when it can, else on a connection of the hook's own.
            let finished = crate::post_tool::Finished::of(settings, &call, &id);
            if finished.is_empty() {
                return protocol::render_post(client, None);
            }
            finished.spool(settings);
            let relayed = relay
                .as_deref()
                .map(|socket| crate::post_tool::relayed(settings, &call, &finished, socket));
            let context = match relayed {
                Some(Ok(notes)) => notes,
                missed => {
                    if let Some(Err(miss)) = missed {
                        tracing::debug!(?miss, "hook_relay_unavailable");
                    }
                    match runtime() {
                        Ok(rt) => {
                            let task = early.take().unwrap_or_else(|| connect(rt));
                            crate::post_tool::run(settings, &call, &finished, rt, task)
                        }
                        Err(_) => None,
                    }
                }
            };
            protocol::render_post(client, context.as_deref())
        }
        Event::PreTool => {
            let command = build_command(
                client,
                &call,
                id,
                project_for(&call.cwd, settings.hook.project.as_deref()),
                settings.hook.agent.clone(),
            );
            if let Some((rule, reason)) = reaches_the_guard(&call) {
                let answer = deny_locally(&spool_for(settings), &command, rule, reason);
                return protocol::render_pre(client, &answer, settings.hook.strict);
            }
            // Before the answer, so the comparison after the call misses nothing.
            let mark_shell_start = || {
                if call.tool_name == "Bash" {
                    crate::post_tool::mark_shell_start(settings, &command.env.id);
                }
            };
            let relayed = match &relay {
                Some(socket) => relayed(
                    settings,
                    client,
                    &call,
                    &command,
                    socket,
                    started,
                    mark_shell_start,
                ),
                None => {
                    mark_shell_start();
                    Err(Miss::Unavailable("no hook relay".to_owned()))
                }
            };
            // The runtime is built only here, for a call the relay did not answer.
            let answer = match relayed {
                Ok(answer) => answer,
                Err(miss) => match runtime() {
                    Err(e) => fallback_answer(settings, &command, &e.to_string()),
                    Ok(rt) => {
                        let task = early.unwrap_or_else(|| connect(rt));
                        match miss {
                            Miss::NoDecision(why) => {
                                rt.block_on(record_late(settings, &command, task, &why))
                            }
                            Miss::Unavailable(why) => {
                                tracing::debug!(reason = %why, "hook_relay_unavailable");
                                rt.block_on(pre_tool_use(
                                    settings, client, &call, command, task, started,
                                ))
                            }
                        }
                    }
                },
            };
            if answer.verdict == Verdict::Allow {
                crate::patches::note(settings, &call, &answer.cmd_id);
            }
            protocol::render_pre(client, &answer, settings.hook.strict)
        }
    }
}

/// How long the connect (handshake included) may take.
fn connect_limit(settings: &Settings) -> Duration {
    Duration::from_millis(settings.hook.connect_timeout_ms)
        .min(Duration::from_millis(settings.hook.decision_timeout_ms))
}

/// Connects as the configured user. The handshake, not just TCP, is bounded: a server
/// that accepts and stays silent must not hold the agent.
pub async fn connect(url: String, limit: Duration) -> Result<async_nats::Client, String> {
    connect_as(url, Default::default(), limit).await
}

/// Connects as `auth` says (the agent's identity, its private inbox, TLS); the
/// handshake, not just TCP, is bounded.
pub async fn connect_as(
    url: String,
    auth: lighthouse_nats::auth::ClientAuth,
    limit: Duration,
) -> Result<async_nats::Client, String> {
    let options = lighthouse_nats::options_for(&url, &auth).map_err(|e| e.to_string())?;
    let connect = options
        .name("lighthouse-hook")
        .connection_timeout(limit)
        .reconnect_to_server_callback(first_attempt_now)
        .connect(lighthouse_nats::seed_urls(&url));
    match tokio::time::timeout(limit, connect).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Err(_) => Err("connect timed out".to_owned()),
    }
}

/// The server to try first, at once. async-nats otherwise sleeps a zero delay before
/// its first attempt, which the timer rounds up to its next 1 ms tick: a millisecond
/// on every call, and on every fallback when no server listens. A seed is picked at
/// random among those not tried yet (so hooks spread over a cluster); once every seed
/// failed, the library's own order and backoff apply.
async fn first_attempt_now(
    servers: Vec<async_nats::Server>,
    _: async_nats::ServerInfo,
) -> Option<async_nats::ReconnectToServer> {
    let mut untried: Vec<_> = servers
        .into_iter()
        .filter(|s| s.failed_attempts == 0)
        .collect();
    if untried.is_empty() {
        return None;
    }
    let pick = lighthouse_schemas::now_us() as usize % untried.len();
    Some(async_nats::ReconnectToServer {
        addr: untried.swap_remove(pick).addr,
        delay: Some(Duration::ZERO),
    })
}

/// The relay brought no decision in time: record the local one as the direct path
/// does (so a validator's decision that landed first is the answer), or spool it.
async fn record_late(
    settings: &Settings,
    command: &Command,
    connecting: tokio::task::JoinHandle<Result<async_nats::Client, String>>,
    why: &str,
) -> Answer {
    let spool = spool_for(settings);
    match tokio::time::timeout(connect_limit(settings), connecting).await {
        Ok(Ok(Ok(nats))) => {
            let keys = pipeline_keys(settings);
            record_fallback(
                &nats,
                &spool,
                command,
                why,
                &keys,
                settings.hook.trust_unsigned,
            )
            .await
        }
        _ => answer_locally(&spool, command, why),
    }
}

/// No async runtime: decide locally, and spool like any other fallback so the audit
/// log still gets the call.
fn fallback_answer(settings: &Settings, command: &Command, why: &str) -> Answer {
    let spool = spool_for(settings);
    answer_locally(&spool, command, why)
}

/// The answer for a decision: its verdict, its reason as the agent reads it, and what
/// experts who approved it said (their reasons and suggestions reach the model).
pub fn answer_for(decision: &Decision) -> Answer {
    let approvals: Vec<String> = decision
        .voters
        .iter()
        .filter(|v| v.choice == Choice::Approve)
        .map(|v| {
            let mut line = format!("- {} ({}): {}", v.expert, v.specialty, v.reasoning);
            for s in &v.suggestions {
                line.push_str(&format!("\n  - suggestion: {s}"));
            }
            line
        })
        .collect();
    let context = (decision.verdict == Verdict::Allow && !approvals.is_empty()).then(|| {
        format!(
            "Lighthouse: experts approved this call. What they said:\n{}",
            approvals.join("\n")
        )
    });
    Answer {
        verdict: decision.verdict,
        reason: describe(decision),
        cmd_id: decision.cmd_id.clone(),
        context,
    }
}

thread_local! {
    /// The agent's NKey file, set once per hook process (the hook handles one call).
    static AGENT_KEY: std::cell::RefCell<Option<std::path::PathBuf>> =
        const { std::cell::RefCell::new(None) };
    /// The agent's key, derived from [`AGENT_KEY`] on first use: only a call decided
    /// or rebound locally signs, so the fast path never pays for the derivation.
    static AGENT_SIGNER: std::cell::OnceCell<Option<lighthouse_nats::auth::Signer>> =
        const { std::cell::OnceCell::new() };
}

/// Remembers where the agent's key is, for [`signed`] and the spool.
fn set_agent_key(settings: &Settings) {
    let key = settings.client_auth("agent").nkey;
    AGENT_KEY.with(|k| *k.borrow_mut() = key);
}

/// The agent's key, when it has one.
fn agent_signer() -> Option<lighthouse_nats::auth::Signer> {
    AGENT_SIGNER.with(|signer| {
        signer
            .get_or_init(|| {
                let path = AGENT_KEY.with(|k| k.borrow().clone())?;
                lighthouse_nats::auth::Signer::from_seed_file(&path).ok()
            })
            .clone()
    })
}

/// The state dir's spool (its entries are already signed; rebinding re-signs them,
/// see [`agent_signer`]).
fn spool_for(settings: &Settings) -> Spool {
    Spool::new(&settings.state_dir())
}

/// A local decision signed with the agent's key: the fallback record says it is the
/// hook's own (tier `fallback`, signed by the agent), never a validator's.
fn signed(mut decision: Decision) -> Decision {
    if let Some(signer) = agent_signer()
        && let Err(e) = signer.sign(&mut decision)
    {
        tracing::warn!(error = %e, "fallback_unsigned");
    }
    decision
}

/// How much of an oversize tool input the record keeps (see [`Command::reduced`]).
const REDUCED_KEEP: usize = 16 * 1024;

/// The hook's own decision and the command to record it with. Decided on the whole
/// input; a command too large for a message is recorded in its reduced form (the
/// digest of the whole input kept), its decision bound to that form, so the entry can
/// always be published.
fn local_record(command: &Command) -> (Command, Decision) {
    local_record_with(command, |_| {})
}

/// [`local_record`], the decision changed by `adjust` before it is signed.
fn local_record_with(command: &Command, adjust: impl FnOnce(&mut Decision)) -> (Command, Decision) {
    let mut decision = decide_locally(command);
    adjust(&mut decision);
    if encode(command).is_ok() {
        return (command.clone(), signed(decision));
    }
    let reduced = command.reduced(REDUCED_KEEP);
    decision.provenance.cmd_digest = reduced.payload_digest();
    decision.reason = format!(
        "{} (decided by the hook on the whole input; recorded reduced: too large for a message)",
        decision.reason
    );
    (reduced, signed(decision))
}

/// Asks the relay (see [`crate::relay`]) for the decision, and builds the answer as
/// [`pre_tool_use`] does from what it trusts of the reply. `meanwhile` runs while the
/// pipeline decides (or at once if the relay cannot be asked).
fn relayed(
    settings: &Settings,
    client: Client,
    call: &Call,
    command: &Command,
    socket: &Path,
    started: std::time::Instant,
    meanwhile: impl FnOnce(),
) -> Result<Answer, Miss> {
    let ask = Ask {
        command: command.clone(),
        fast_ms: settings.hook.decision_timeout_ms,
        experts_ms: settings.hook.escalation_wait_ms,
        sample_ratio: settings.tracing.sample_ratio,
        late_approval: !client.can_ask(),
        notes_on: file_being_changed(call),
    };
    let waits = Waits::after(started, ask.fast_ms, ask.experts_ms);
    let sent = crate::relay_client::send(socket, &ask, waits);
    meanwhile();
    let keys = pipeline_keys(settings);
    if keys.is_empty() {
        return Err(Miss::Unavailable(
            "no pipeline keys to check its answer".into(),
        ));
    }
    let relayed = sent?.answer(&keys)?;
    let mut answer = answer_for(&relayed.decision);
    if relayed.decision.verdict == Verdict::Escalate
        && !client.can_ask()
        && let Some(approval) = &relayed.approval
    {
        answer = answer_for(approval);
    }
    if answer.verdict != Verdict::Deny
        && let Some(notes) = relayed.notes
    {
        answer.context = Some(match answer.context.take() {
            Some(c) => format!("{c}\n\n{notes}"),
            None => notes,
        });
    }
    Ok(answer)
}

async fn pre_tool_use(
    settings: &Settings,
    client: Client,
    call: &Call,
    command: Command,
    connecting: tokio::task::JoinHandle<Result<async_nats::Client, String>>,
    started: std::time::Instant,
) -> Answer {
    let spool = spool_for(settings);
    let deadline = Duration::from_millis(settings.hook.decision_timeout_ms);
    // The task bounds itself; this bound only guards against a task that never ends.
    let nats = match tokio::time::timeout(connect_limit(settings), connecting).await {
        Ok(Ok(Ok(nats))) => nats,
        Ok(Ok(Err(why))) => return answer_locally(&spool, &command, &why),
        Ok(Err(e)) => return answer_locally(&spool, &command, &e.to_string()),
        Err(_) => return answer_locally(&spool, &command, "connect timed out"),
    };
    let waits = Waits::after(
        started,
        settings.hook.decision_timeout_ms,
        settings.hook.escalation_wait_ms,
    );
    let ratio = settings.tracing.sample_ratio;
    let ask = |command: Command| async {
        let asked = ask_pipeline(&nats, &command, waits, ratio, |_| ());
        (
            tokio::time::timeout_at(waits.last().into(), asked).await,
            command,
        )
    };
    let (mut asked, mut command) = ask(command).await;
    if let Ok(Ok(decision)) = &asked
        && !binds(decision, &command)
    {
        // The agent reused this id for another payload: that decision is not this
        // call's. Ask again under an id bound to this payload.
        (asked, command) = ask(rebind(command)).await;
    }
    if let Ok(Ok(decision)) = &asked
        && !binds(decision, &command)
    {
        asked = Ok(Err(
            "the recorded decision is for another payload".to_owned()
        ));
    }
    // Whatever listens on the NATS port answered: act on it only if the pipeline signed
    // it (an agent could stop the server and answer "allow" in its place).
    let keys = pipeline_keys(settings);
    let trust_unsigned = settings.hook.trust_unsigned;
    if let Ok(Ok(decision)) = &asked
        && !believable(decision, &command, &keys)
    {
        tracing::warn!(cmd_id = %command.env.id, "decision_not_signed_by_the_pipeline");
        asked = Ok(Err(
            "the decision is not signed by a pipeline identity".to_owned()
        ));
    }
    match asked {
        Ok(Ok(decision)) => {
            let local = || decide_locally(&command);
            if let Some(local) = overruled(&decision, &command, &keys, trust_unsigned, local) {
                return answer_for(&local);
            }
            let mut answer = answer_for(&decision);
            if decision.verdict == Verdict::Escalate
                && !client.can_ask()
                && let Some(approved) = late_approval(&nats, &command, &keys).await
            {
                answer = approved;
            }
            if answer.verdict != Verdict::Deny
                && let Some(notes) = open_annotations(&nats, call, &command).await
            {
                answer.context = Some(match answer.context.take() {
                    Some(c) => format!("{c}\n\n{notes}"),
                    None => notes,
                });
            }
            // Earlier fallbacks go to the audit log now that the pipeline answers.
            // Bounded in time and count; `up` flushes the rest in the background.
            if !spool.is_empty() {
                let spool = spool.signed_by(agent_signer());
                let js = async_nats::jetstream::new(nats);
                let budget = Duration::from_millis(settings.hook.spool_flush_ms);
                let flush = spool.flush_some(&js, FLUSH_PER_CALL);
                let _ = tokio::time::timeout(budget, flush).await;
            }
            answer
        }
        Ok(Err(why)) => record_fallback(&nats, &spool, &command, &why, &keys, trust_unsigned).await,
        Err(_) => {
            let why = format!("no decision within {deadline:?}");
            record_fallback(&nats, &spool, &command, &why, &keys, trust_unsigned).await
        }
    }
}

/// Most spool entries one hook call publishes (after its own answer is known).
const FLUSH_PER_CALL: usize = 8;

/// A client that cannot ask (Codex, Gemini) was told to get an escalated call approved
/// and retry it; the retry maps to the same command id (see
/// [`protocol::command_id`]), whose decision is on record as unresolved. Experts who
/// reached consensus after that (the aggregator applies the escalation's own rule)
/// have an approval recorded beside the decision ([`subject::late_approval`], which
/// only the aggregator may publish): the retry is allowed and says who approved it.
async fn late_approval(
    nats: &async_nats::Client,
    command: &Command,
    keys: &Keys,
) -> Option<Answer> {
    let approval = late_approval_record(nats, command).await?;
    (is_late_approval(&approval, command) && believable(&approval, command, keys))
        .then(|| answer_for(&approval))
}

/// Public keys by role, to check decisions against.
type Keys = std::collections::BTreeMap<String, String>;

/// The pipeline's public keys by role, as `identities/public.json` records them. A file
/// that is there but yields no key (unreadable, not a regular file, corrupt) is not "no
/// keys on record": nothing could be checked against it, so nothing is believed.
fn pipeline_keys(settings: &Settings) -> Keys {
    keys_in(&settings.identities_dir())
}

/// [`pipeline_keys`] from an identities directory.
fn keys_in(identities: &Path) -> Keys {
    let keys = lighthouse_nats::auth::public_keys(identities);
    if keys.is_empty() && std::fs::symlink_metadata(identities.join("public.json")).is_ok() {
        // A role no decision is signed by: every signature check fails.
        return Keys::from([(String::new(), String::new())]);
    }
    keys
}

/// Tools that read or change a file, and the input field naming it.
const FILE_TOOLS: &[(&str, &str)] = &[
    ("Write", "file_path"),
    ("Edit", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
    ("Read", "file_path"),
];

/// Experts' open notes on the file the agent is about to edit, as markdown for the
/// model.
async fn open_annotations(
    nats: &async_nats::Client,
    call: &Call,
    command: &Command,
) -> Option<String> {
    let path = file_being_changed(call)?;
    crate::notes::notes_on(nats, &path, &command.env.project).await
}

/// The file a call is about to change (its notes reach the model before the change).
fn file_being_changed(call: &Call) -> Option<std::path::PathBuf> {
    let field = FILE_TOOLS
        .iter()
        .find(|(tool, _)| *tool == call.tool_name && *tool != "Read")?
        .1;
    let path = call.tool_input.get(field)?.as_str()?;
    Some(Path::new(&call.cwd).join(path))
}

/// How long a hook that is already late may spend recording its local decision.
const RECORD_BUDGET: Duration = Duration::from_millis(300);

/// With no pipeline keys on record nothing proves the pipeline made `decision` (a
/// server the agent started could have): it may tighten the local policy, never loosen
/// it (with `hook.trust_unsigned`, for an unauthenticated development pipeline, only
/// never lift its deny). The `local` decision, when it overrules (made only when it
/// could); `None` when `decision` stands.
fn overruled(
    decision: &Decision,
    command: &Command,
    keys: &Keys,
    trust_unsigned: bool,
    local: impl FnOnce() -> Decision,
) -> Option<Decision> {
    if !keys.is_empty() || decision.verdict == Verdict::Deny {
        return None;
    }
    let local = local();
    let looser = if trust_unsigned {
        local.verdict == Verdict::Deny
    } else {
        decision.verdict.strictness() < local.verdict.strictness()
    };
    looser.then(|| {
        tracing::warn!(cmd_id = %command.env.id, "unverifiable_decision_overruled");
        Decision {
            reason: format!(
                "{} (the pipeline's {:?} cannot be verified: no pipeline keys on record)",
                local.reason, decision.verdict
            ),
            ..local
        }
    })
}

/// The server is reachable but gave no decision in time (no validator, overload):
/// decide locally and record that decision right away, so the audit log holds what
/// the agent was told. If a validator's decision landed first, that one is the
/// decision and the agent gets it.
async fn record_fallback(
    nats: &async_nats::Client,
    spool: &Spool,
    command: &Command,
    why: &str,
    keys: &Keys,
    trust_unsigned: bool,
) -> Answer {
    tracing::warn!(reason = why, "hook_fallback");
    let original = command;
    let (command, local) = &local_record(command);
    let js = async_nats::jetstream::new(nats.clone());
    let subject = subject::decision(
        &Token::encode(&command.env.project),
        &Token::encode(&command.env.agent),
        &Token::encode(&command.env.id),
    );
    // The command may not have reached LH_CMD (that may be what failed): record both.
    let record = async {
        match crate::spool::record(&js, command, local).await? {
            Published::AlreadyExists => Ok(recorded_decision(&js, &subject).await),
            _ => Ok(None),
        }
    };
    match tokio::time::timeout(RECORD_BUDGET, record).await {
        // A validator's decision that landed first, if the pipeline signed it; else ours.
        Ok(Ok(Some(recorded))) if believable(&recorded, command, keys) => {
            let overruling = overruled(&recorded, command, keys, trust_unsigned, || local.clone());
            answer_for(overruling.as_ref().unwrap_or(&recorded))
        }
        Ok(Ok::<_, crate::spool::RecordError>(_)) => answer_for(local),
        _ => answer_locally(spool, original, why),
    }
}

/// A call that reaches the guard in a way only this machine can see ([`crate::guard_pids`],
/// [`crate::guard_links`]): denied whatever the policy says, and recorded as the hook's
/// own decision like any other.
fn deny_locally(spool: &Spool, command: &Command, rule: &str, reason: String) -> Answer {
    let (command, decision) = local_record_with(command, |d| {
        d.verdict = Verdict::Deny;
        d.rule_id = Some(rule.to_owned());
        d.risk = Some(Risk::Critical);
        d.reason = reason;
    });
    spool_locally(spool, &command, decision, "the call reaches the guard")
}

fn answer_locally(spool: &Spool, command: &Command, why: &str) -> Answer {
    // Another payload already spooled under this id: keep both, apart.
    let command = if spool.holds_other_payload(command) {
        rebind(command.clone())
    } else {
        command.clone()
    };
    // Decided now (not when the wait began): the audit log shows when it really was.
    let (command, decision) = local_record(&command);
    spool_locally(spool, &command, decision, why)
}

/// Spools a local decision (already bound to `command`) and answers with it; a call
/// that cannot be recorded is refused.
fn spool_locally(spool: &Spool, command: &Command, decision: Decision, why: &str) -> Answer {
    if let Err(e) = spool.push(command, &decision) {
        tracing::warn!(error = %e, "spool_write_failed");
        // Unrecorded, the call would leave no trace in the audit log: refuse it.
        if decision.verdict != Verdict::Deny {
            let refusal = Decision {
                verdict: Verdict::Deny,
                reason: format!(
                    "Lighthouse: the pipeline is unreachable ({why}) and the call cannot be recorded (spool {}: {e}); failing closed",
                    spool.dir().display()
                ),
                ..decision
            };
            return answer_for(&refusal);
        }
    }
    tracing::warn!(reason = why, "hook_fallback");
    answer_for(&decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(raw: &[u8]) -> Call {
        parse(Client::Claude, raw).unwrap()
    }

    /// No `public.json`: no keys (an unauthenticated server). One that yields no key (a
    /// FIFO, garbage): a key set nothing is signed by, so nothing is believed.
    #[test]
    fn keys_on_record_that_cannot_be_read_believe_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(keys_in(dir.path()).is_empty());
        std::fs::write(dir.path().join("public.json"), "not json").unwrap();
        let keys = keys_in(dir.path());
        assert!(!keys.is_empty());
        let command = build_command(
            Client::Claude,
            &call(br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#),
            "c1".into(),
            "p".into(),
            "a".into(),
        );
        let unsigned = decide_locally(&command);
        assert!(crate::binding::believable(
            &unsigned,
            &command,
            &Keys::new()
        ));
        assert!(!crate::binding::believable(&unsigned, &command, &keys));
    }

    #[test]
    fn input_is_bounded() {
        let big = [b' '; 100];
        assert!(matches!(
            read_bounded(&big[..], 99),
            Err(InputError::TooLarge(99))
        ));
        assert_eq!(read_bounded(&big[..], 100).unwrap().len(), 100);
    }

    #[test]
    fn unresolved_escalations_ask_or_deny_by_client() {
        let c = call(br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git reset --hard HEAD~3"}}"#);
        let d = decide_locally(&build_command(
            Client::Claude,
            &c,
            "c".into(),
            "p".into(),
            "a".into(),
        ));
        assert_eq!(d.verdict, Verdict::Escalate);
        let answer = answer_for(&d);
        let claude = protocol::render_pre(Client::Claude, &answer, false);
        assert!(claude.stdout.unwrap().contains("\"ask\""));
        let strict = protocol::render_pre(Client::Claude, &answer, true);
        assert!(strict.stdout.unwrap().contains("\"deny\""));
        for client in [Client::Codex, Client::Gemini] {
            let out = protocol::render_pre(client, &answer, false);
            assert_eq!(out.code, 2, "{client:?}");
            assert!(out.stderr.unwrap().contains("lighthouse expert approve c"));
        }
    }

    #[test]
    fn approvals_reach_the_model() {
        let c = call(
            br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#,
        );
        let mut d = decide_locally(&build_command(
            Client::Claude,
            &c,
            "c".into(),
            "p".into(),
            "a".into(),
        ));
        assert_eq!(answer_for(&d).context, None);
        d.voters.push(lighthouse_schemas::Voter {
            expert: "ana".into(),
            specialty: "security".into(),
            choice: Choice::Approve,
            reasoning: "fine on a branch".into(),
            suggestions: vec!["push to a backup first".into()],
        });
        let context = answer_for(&d).context.unwrap();
        assert!(context.contains("fine on a branch") && context.contains("push to a backup first"));
    }

    #[test]
    fn project_is_the_enclosing_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("my-repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        let cwd = repo.join("src/deep");
        assert_eq!(project_for(cwd.to_str().unwrap(), None), "my-repo");
        assert_eq!(project_for(cwd.to_str().unwrap(), Some("named")), "named");
    }
}
