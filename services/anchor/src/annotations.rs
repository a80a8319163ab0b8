//! Annotations over file versions: creating one, re-anchoring a file's annotations to a
//! new version, folding a stream of states into the current ones, and rendering them.
//! Pure: the NATS side (subjects, streams) lives in the services that call these.

use crate::{AnchorError, Language, ParsedFile, apply_resolution, file_version};
use lighthouse_schemas::msg::{Annotation, AnnotationStatus, Severity};
use lighthouse_schemas::{Envelope, now_us};
use std::collections::HashMap;

/// What an expert says about a line.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: String,
    pub project: String,
    pub path: String,
    pub expert: String,
    pub category: String,
    pub severity: Severity,
    pub message: String,
}

/// A new annotation on `line` (1-based) of `source`, anchored to the definition there.
pub fn annotate(
    note: Note,
    source: &str,
    lang: Language,
    line: usize,
) -> Result<Annotation, AnchorError> {
    let parsed = ParsedFile::parse(source, lang)?;
    let anchor = parsed.capture(line)?;
    let resolution = parsed.resolve(&anchor);
    let version = file_version(source);
    let mut annotation = Annotation {
        env: Envelope::new(
            note.id.clone(),
            now_us(),
            note.project,
            note.expert.clone(),
            note.id,
        ),
        path: note.path,
        expert: note.expert,
        category: note.category,
        severity: note.severity,
        message: note.message,
        anchor,
        file_version: version.clone(),
        status: AnnotationStatus::Found,
        line: None,
        end_line: None,
        confidence: 1.0,
        resolved_version: None,
    };
    apply_resolution(&mut annotation, &resolution, &version);
    Ok(annotation)
}

/// Re-anchors `annotations` (all of one file) to `new_source`. Returns the new states of
/// those whose status or lines changed; a found or renamed anchor is re-captured on the
/// new version so its context stays current.
pub fn reanchor(
    annotations: &[Annotation],
    new_source: &str,
    lang: Language,
) -> Result<Vec<Annotation>, AnchorError> {
    let version = file_version(new_source);
    let parsed = ParsedFile::parse(new_source, lang)?;
    let mut changed = Vec::new();
    for old in annotations {
        if old.resolved_version.as_deref() == Some(version.as_str()) {
            continue;
        }
        let resolution = parsed.resolve(&old.anchor);
        let mut new = old.clone();
        apply_resolution(&mut new, &resolution, &version);
        if matches!(
            resolution.status,
            AnnotationStatus::Found | AnnotationStatus::Renamed
        ) && let Some(line) = resolution.annotation_line
            && let Ok(anchor) = parsed.capture(line)
        {
            new.anchor = anchor;
            new.file_version = version.clone();
        }
        new.env.ts_us = now_us();
        new.env.causation_id = Some(old.env.id.clone());
        changed.push(new);
    }
    Ok(changed)
}

/// The current state of each annotation: the last one seen per id, ordered by line
/// (unattached ones last).
pub fn current(states: impl IntoIterator<Item = Annotation>) -> Vec<Annotation> {
    let mut latest: HashMap<String, Annotation> = HashMap::new();
    for state in states {
        latest.insert(state.env.id.clone(), state);
    }
    let mut out: Vec<Annotation> = latest.into_values().collect();
    out.sort_by_key(|a| (a.line.unwrap_or(u32::MAX), a.env.ts_us));
    out
}

/// Markdown for people and models: one section per annotation at its current lines.
pub fn render_markdown(path: &str, annotations: &[Annotation]) -> String {
    let mut out = format!("# Annotations on `{path}`\n\n");
    if annotations.is_empty() {
        out.push_str("(none)\n");
    }
    for a in annotations {
        let at = match (a.status, a.line, a.end_line) {
            (AnnotationStatus::Found | AnnotationStatus::Renamed, Some(l), Some(e)) => {
                format!("lines {l}–{e}")
            }
            (AnnotationStatus::Found | AnnotationStatus::Renamed, Some(l), None) => {
                format!("line {l}")
            }
            (AnnotationStatus::Ambiguous, ..) => "ambiguous: several candidates".to_owned(),
            _ => "orphaned: the annotated code is gone".to_owned(),
        };
        let name = if a.anchor.path.is_empty() {
            a.anchor.name.clone()
        } else {
            format!("{}.{}", a.anchor.path.join("."), a.anchor.name)
        };
        out.push_str(&format!(
            "## {:?} · {} · `{name}` ({at})\n\n{}\n\n— {} ({:?}, confidence {:.2}, id {})\n\n",
            a.severity, a.category, a.message, a.expert, a.status, a.confidence, a.env.id
        ));
    }
    out
}

/// Annotations an agent should see before touching the file: the attached ones.
pub fn open(annotations: &[Annotation]) -> Vec<Annotation> {
    annotations
        .iter()
        .filter(|a| {
            matches!(
                a.status,
                AnnotationStatus::Found | AnnotationStatus::Renamed | AnnotationStatus::Ambiguous
            )
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: &str) -> Note {
        Note {
            id: id.into(),
            project: "p".into(),
            path: "src/db.py".into(),
            expert: "sec".into(),
            category: "security".into(),
            severity: Severity::High,
            message: "injectable".into(),
        }
    }

    const V1: &str = "def helper():\n    return 1\n\n\ndef query(db, name):\n    return db.execute(f\"select {name}\")\n";

    #[test]
    fn annotations_follow_their_function_through_edits_and_orphan_when_deleted() {
        let a = annotate(note("a1"), V1, Language::Python, 6).unwrap();
        assert_eq!(a.line, Some(5));
        let v2 = format!("import os\n\n\n{V1}");
        let moved = reanchor(std::slice::from_ref(&a), &v2, Language::Python).unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].line, Some(8));
        assert_eq!(moved[0].status, AnnotationStatus::Found);
        let v3 = "def helper():\n    return 1\n";
        let gone = reanchor(&moved, v3, Language::Python).unwrap();
        assert_eq!(gone[0].status, AnnotationStatus::Orphaned);
        assert_eq!(gone[0].line, None);
        // The same version again changes nothing.
        assert!(reanchor(&gone, v3, Language::Python).unwrap().is_empty());
    }

    #[test]
    fn current_keeps_the_latest_state_per_id_and_renders() {
        let a = annotate(note("a1"), V1, Language::Python, 6).unwrap();
        let b = annotate(note("b2"), V1, Language::Python, 2).unwrap();
        let mut a2 = a.clone();
        a2.message = "still injectable".into();
        let now = current(vec![a, b, a2]);
        assert_eq!(now.len(), 2);
        assert_eq!(now[0].env.id, "b2", "ordered by line");
        assert_eq!(now[1].message, "still injectable");
        let md = render_markdown("src/db.py", &now);
        assert!(
            md.contains("still injectable") && md.contains("lines 5–6"),
            "{md}"
        );
        assert_eq!(open(&now).len(), 2);
    }
}
