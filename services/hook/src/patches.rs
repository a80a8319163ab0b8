//! Files changed by a Codex `apply_patch`. Codex applies patches itself and fires no
//! PostToolUse for them, so nothing else would record what a patch changed. When such a
//! call is allowed, the hook notes it (`<state>/patches/<session>/<cmd_id>.json`, the
//! call as a PostToolUse); the next hook call of the same session records the files the
//! patch names, as they are then, through the file spool (published by the next call
//! that reaches the server, or by `lighthouse up` in the background). If a PostToolUse
//! does arrive for the call, it records the files itself and drops the note.

use crate::protocol::{Call, Event};
use lighthouse_config::Settings;
use lighthouse_schemas::Token;
use std::path::PathBuf;

/// Most noted patches one hook call records (the rest wait for the next call).
const MAX_PER_CALL: usize = 16;

fn dir(settings: &Settings, session: &str) -> PathBuf {
    settings
        .state_dir()
        .join("patches")
        .join(Token::encode(session).as_str())
}

fn note_path(settings: &Settings, session: &str, id: &str) -> PathBuf {
    dir(settings, session).join(format!("{}.json", Token::encode(id).as_str()))
}

/// Notes an allowed call that applies a patch, for the session's next hook call.
pub fn note(settings: &Settings, call: &Call, id: &str) {
    if lighthouse_policy::patch::text(&call.tool_name, &call.tool_input).is_none() {
        return;
    }
    let post = Call {
        event: Event::PostTool,
        ..call.clone()
    };
    let path = note_path(settings, &call.session_id, id);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| Ok(serde_json::to_vec(&(id, &post))?))
        .and_then(|bytes| std::fs::write(&path, bytes));
    if let Err(e) = written {
        tracing::warn!(error = %e, "patch_note_failed");
    }
}

/// The call's own PostToolUse came: it records the files, the note is not needed.
pub fn forget(settings: &Settings, session: &str, id: &str) {
    let _ = std::fs::remove_file(note_path(settings, session, id));
}

/// Records the files of patches noted earlier in this session (not `current`'s own),
/// into the file spool; returns how many notes were handled.
pub fn record_noted(settings: &Settings, session: &str, current: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir(settings, session)) else {
        return 0;
    };
    let mine = note_path(settings, session, current);
    let mut handled = 0;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if handled >= MAX_PER_CALL {
            break;
        }
        if path == mine || path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let noted: Option<(String, Call)> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        // Removed first: a note that cannot be read or recorded is not retried forever.
        let _ = std::fs::remove_file(&path);
        if let Some((id, call)) = noted {
            crate::post_tool::Finished::of(settings, &call, &id).spool(settings);
        }
        handled += 1;
    }
    handled
}
