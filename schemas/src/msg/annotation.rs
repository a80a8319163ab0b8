use super::{Envelope, Message};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How serious an expert judges the annotated code to be.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// Where an annotation stands after the last re-anchoring against the current file.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationStatus {
    /// The same definition (same kind and name) was located, possibly moved.
    Found,
    /// The definition was located under a new name, by body similarity and context.
    Renamed,
    /// Several candidates are equally good; the annotation is not attached to any.
    Ambiguous,
    /// The definition is gone; the annotation is kept but attached to nothing.
    Orphaned,
}

/// What identifies an annotated definition, independent of its position in the file.
///
/// Produced by the anchoring engine (`lighthouse-anchor`); hashes are FNV-1a so any
/// language can recompute them, but clients normally treat the anchor as opaque.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// Source language the anchor was captured in (`python`, `rust`, `go`, …).
    pub language: String,
    /// Normalised definition kind: `function`, `method`, `class`, `struct`, `impl`, …
    pub kind: String,
    /// The definition's own name (for a Rust impl: `Type` or `<Type as Trait>`).
    pub name: String,
    /// Names of the enclosing definitions, outermost first (modules, classes, impls).
    #[serde(default)]
    pub path: Vec<String>,
    /// Parameters and return type with whitespace and comments removed.
    #[serde(default)]
    pub signature: String,
    /// FNV-1a of the token sequence (comments and whitespace dropped, own name masked).
    pub body_hash: u64,
    /// Bottom-k sketch of the token 3-gram hashes, sorted; estimates body similarity.
    #[serde(default)]
    pub shingles: Vec<u32>,
    /// Name of the previous definition in the same container, if any.
    #[serde(default)]
    pub prev_sibling: Option<String>,
    /// Name of the next definition in the same container, if any.
    #[serde(default)]
    pub next_sibling: Option<String>,
    /// Hashes of the qualified names of every definition in the file when captured
    /// (sorted, one entry per definition): a rename or move target must be a name that
    /// did not exist then, which keeps annotations off look-alikes that were already
    /// there; repeats of the anchor's own hash mean its name was shared from the start.
    #[serde(default)]
    pub file_defs: Vec<u32>,
    /// Annotated line minus the definition's head line (negative on decorators and doc
    /// comments above it).
    #[serde(default)]
    pub line_offset: i32,
    /// The annotated line's trimmed text (bounded), to find it again inside the node.
    #[serde(default)]
    pub line_text: String,
}

/// An expert's note on a piece of code, published on `lh.annot.<project>.<file_key>`
/// (stream `LH_ANNOT`). It follows its definition through edits via [`Anchor`].
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Annotation {
    pub env: Envelope,
    /// Project-relative path of the annotated file, `/`-separated.
    pub path: String,
    /// Who wrote it: an expert id (human, LLM agent or script).
    pub expert: String,
    /// Free-form area, e.g. `security`, `performance`, `architecture`.
    pub category: String,
    pub severity: Severity,
    /// The note itself.
    pub message: String,
    pub anchor: Anchor,
    /// SHA-256 (hex) of the file content the anchor was captured on.
    pub file_version: String,
    /// Resolution against the latest file version seen.
    pub status: AnnotationStatus,
    /// First line (1-based) of the definition as last re-anchored; none when orphaned
    /// or ambiguous.
    #[serde(default)]
    pub line: Option<u32>,
    /// Last line (1-based) of the definition as last re-anchored.
    #[serde(default)]
    pub end_line: Option<u32>,
    /// Confidence of the last re-anchoring, 0..=1.
    #[serde(default)]
    pub confidence: f32,
    /// File version (SHA-256 hex) the status and lines refer to; none until re-anchored.
    #[serde(default)]
    pub resolved_version: Option<String>,
}

impl Message for Annotation {
    const KIND: &'static str = "annotation";
    fn envelope(&self) -> &Envelope {
        &self.env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};
    use std::path::PathBuf;

    fn sample() -> Annotation {
        Annotation {
            env: Envelope::new("ann-1", 1_700_000_000_000, "demo", "sec-bot", "cmd-42"),
            path: "src/db.py".into(),
            expert: "sec-bot".into(),
            category: "security".into(),
            severity: Severity::High,
            message: "this query is injectable".into(),
            anchor: Anchor {
                language: "python".into(),
                kind: "method".into(),
                name: "find_user".into(),
                path: vec!["UserRepo".into()],
                signature: "(self,name)".into(),
                body_hash: 0xcbf2_9ce4_8422_2325,
                shingles: vec![3, 17, 4_000_000_000],
                prev_sibling: Some("__init__".into()),
                next_sibling: None,
                file_defs: vec![1, 2, 3],
                line_offset: 2,
                line_text: "cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")".into(),
            },
            file_version: "ab".repeat(32),
            status: AnnotationStatus::Found,
            line: Some(12),
            end_line: Some(15),
            confidence: 1.0,
            resolved_version: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn round_trips_through_msgpack() {
        let a = sample();
        let bytes = encode(&a).unwrap();
        let back: Annotation = decode(&bytes).unwrap();
        assert_eq!(a, back);
    }

    #[test]
    fn optional_fields_default_when_absent() {
        // An older writer that knew nothing of the resolution fields.
        let mut v = serde_json::to_value(sample()).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in ["line", "end_line", "confidence", "resolved_version"] {
            obj.remove(k);
        }
        let back: Annotation = serde_json::from_value(v).unwrap();
        assert_eq!(back.line, None);
        assert_eq!(back.confidence, 0.0);
    }

    #[test]
    fn json_schema_spells_the_enums_for_other_languages() {
        let schema = serde_json::to_string(&schemars::schema_for!(Annotation)).unwrap();
        for word in [
            "orphaned",
            "renamed",
            "ambiguous",
            "critical",
            "file_version",
            "anchor",
        ] {
            assert!(schema.contains(word), "{word} missing from the JSON Schema");
        }
    }

    #[test]
    fn golden_fixture_decodes() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/annotation.v1.msgpack");
        let bytes = encode(&sample()).unwrap();
        if std::env::var_os("LIGHTHOUSE_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let golden = std::fs::read(&path)
            .expect("missing fixture; run with LIGHTHOUSE_BLESS=1 to create it");
        let decoded: Annotation = decode(&golden).unwrap();
        assert_eq!(decoded, sample());
        assert_eq!(golden, bytes, "encoding changed; bless only if intended");
    }
}
