//! The settings' layers (defaults → file → `LIGHTHOUSE__…` env) merged as plain JSON,
//! without the `config` crate, for the cases where the result is sure to be the one
//! `config` gives.
//!
//! Why: every process loads its settings once, the hook once per tool call, and the
//! `config` crate spent about 0.4 ms of a hook's 2 ms of CPU building its tree. Merging
//! JSON and deserializing it once costs a fraction of that.
//!
//! Whatever it cannot read exactly as `config` would, it declines (`None`) and the
//! caller asks `config`: a file in another format or under an appended extension, env
//! keys that collide or name no plain path, an env value whose type the layers below do
//! not fix (a string that `config` would parse as a number or a bool, a table), and
//! every error, so that errors always read as `config`'s. A test compares both loaders
//! over every setting.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The layers merged: `defaults` (a JSON object), then `file`, then `env` (pairs whose
/// key starts with `LIGHTHOUSE__`). `None`: let `config` do it.
pub(crate) fn merged(
    defaults: &str,
    file: Option<&Path>,
    env: &[(String, String)],
) -> Option<Value> {
    let mut tree: Value = serde_json::from_str(defaults).ok()?;
    if let Some(file) = file {
        merge(&mut tree, read_file(file)?);
    }
    let mut seen = std::collections::HashSet::new();
    for (key, raw) in env {
        let path: Vec<String> = key
            .strip_prefix("LIGHTHOUSE__")?
            .to_lowercase()
            .split("__")
            .map(str::to_owned)
            .collect();
        let plain = |s: &String| !s.is_empty() && !s.contains(['.', '[', ']']);
        if !path.iter().all(plain) || !seen.insert(path.clone()) {
            return None;
        }
        set(&mut tree, &path, raw)?;
    }
    Some(tree)
}

/// The file's layer: its TOML as JSON, or an empty layer when `config` would find no
/// file either (it also tries the name with each format's extension appended).
fn read_file(path: &Path) -> Option<Value> {
    if path.is_file() {
        if path.extension().is_none_or(|x| x != "toml") {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        return toml::from_str(&text).ok();
    }
    let mut stem = path.as_os_str().to_owned();
    if path.extension().is_some() {
        stem.push(".placeholder");
    }
    let stem = PathBuf::from(stem);
    let others = ["toml", "json"]
        .iter()
        .any(|x| stem.with_extension(x).exists());
    (!others).then(|| Value::Object(Map::new()))
}

/// `upper` over `lower`: tables merge key by key, anything else replaces.
fn merge(lower: &mut Value, upper: Value) {
    match (lower, upper) {
        (Value::Object(lower), Value::Object(upper)) => {
            for (key, value) in upper {
                match lower.get_mut(&key) {
                    Some(below) => merge(below, value),
                    None => {
                        lower.insert(key, value);
                    }
                }
            }
        }
        (lower, upper) => *lower = upper,
    }
}

/// Sets one env value at `path`, typed as the value it replaces (`config` parses env
/// values as a bool, an integer or a float, else keeps the string, then converts).
fn set(tree: &mut Value, path: &[String], raw: &str) -> Option<()> {
    let (leaf, tables) = path.split_last()?;
    let mut node = tree;
    for key in tables {
        let table = node.as_object_mut()?;
        node = table
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let table = node.as_object_mut()?;
    let value = match table.get(leaf) {
        Some(Value::Bool(_)) => Value::Bool(raw.to_lowercase().parse().ok()?),
        Some(Value::Number(n)) if n.is_f64() => {
            Value::from(raw.parse::<f64>().ok().filter(|_| !is_bool(raw))?)
        }
        Some(Value::Number(_)) => Value::from(raw.parse::<i64>().ok()?),
        Some(Value::String(_)) | None if !parses_as_scalar(raw) => Value::String(raw.to_owned()),
        _ => return None,
    };
    table.insert(leaf.clone(), value);
    Some(())
}

fn is_bool(raw: &str) -> bool {
    raw.to_lowercase().parse::<bool>().is_ok()
}

/// What `config` would not keep as the string it is.
fn parses_as_scalar(raw: &str) -> bool {
    is_bool(raw) || raw.parse::<i64>().is_ok() || raw.parse::<f64>().is_ok()
}
