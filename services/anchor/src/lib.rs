//! AST anchoring: keeps an expert's annotation attached to the right definition while
//! an agent keeps editing the file.
//!
//! An annotation is made on a line; [`capture`] turns that into an
//! [`Anchor`] describing the innermost named
//! definition holding it — kind, name, container path, signature, a body fingerprint
//! and its neighbours — and never its position. [`resolve`] finds that definition again
//! in a later version of the file and says how sure it is
//! ([`AnnotationStatus`]: found / renamed / ambiguous / orphaned).
//!
//! Layout:
//! - [`lang`]: supported languages (by file extension) and the bounded parse
//!   (size limit, timeout, incremental reparse);
//! - `index`: one walk over the syntax tree collecting definitions and tokens;
//! - `fingerprint`: FNV hashes and the bottom-k shingle sketch for body similarity;
//! - `resolve`: [`ParsedFile`] (parse a version once, resolve many anchors against
//!   it), the staged resolution rules, and the one-shot [`capture`] / [`resolve`];
//! - this file: errors, [`Resolution`], [`apply_resolution`] / [`file_version`] for
//!   the `Annotation` message, and the CLI helpers [`resolve_cli`] and [`render_human`].
//!
//! Everything here is pure and synchronous; workers call it from their own tasks.

mod fingerprint;
mod index;
pub mod lang;
mod resolve;

pub mod annotations;

pub use lang::{Language, MAX_SOURCE_BYTES, PARSE_TIMEOUT};
pub use lighthouse_schemas::msg::{Anchor, Annotation, AnnotationStatus};
pub use resolve::{ParsedFile, capture, resolve};

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A parsed file version kept to re-anchor many annotations against it.
pub type Reanchorer = ParsedFile;

#[derive(Debug, Error)]
pub enum AnchorError {
    #[error("no anchoring support for {0} (known: .py .rs .js .jsx .ts .tsx .go)")]
    UnsupportedLanguage(String),
    #[error("source is {size} bytes, over the {max} byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("parse did not finish within {0:?}")]
    ParseTimeout(Duration),
    #[error("cannot load grammar: {0}")]
    Grammar(String),
    #[error("line {line} is outside the file (1..={lines})")]
    LineOutOfRange { line: usize, lines: usize },
    #[error("line {line} is not inside any named definition")]
    NoDefinition { line: usize },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text")]
    NotUtf8 { path: PathBuf },
}

/// A named definition of a parsed file, for listings (`ParsedFile::definitions`).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub kind: String,
    pub name: String,
    /// Name with its containers, e.g. `Repo.save`.
    pub qualified_name: String,
    /// The `def`/`fn`/`class` line (1-based).
    pub line: usize,
    /// First line including decorators, attributes and doc comments (1-based).
    pub start_line: usize,
    pub end_line: usize,
}

/// Where an anchor landed in a new version of its file.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Resolution {
    pub status: AnnotationStatus,
    /// First line (1-based) of the definition: its `def`/`fn`/`func`/`class`/`impl`
    /// line, not decorators or doc comments. None when ambiguous or orphaned.
    pub line: Option<usize>,
    /// Last line (1-based) of the definition.
    pub end_line: Option<usize>,
    /// Where the annotated line itself now is (1-based), inside the definition.
    pub annotation_line: Option<usize>,
    /// The definition's name in the new version (the new name after a rename).
    pub name: Option<String>,
    /// Name with its containers, e.g. `Repo.save` or `<Bar as Foo>::fmt`.
    pub qualified_name: Option<String>,
    pub kind: Option<String>,
    /// 0..=1; 1 means same identity and same body.
    pub confidence: f32,
    /// First lines of the candidates that could not be told apart (ambiguous only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<usize>,
}

impl Resolution {
    pub(crate) fn orphaned() -> Self {
        Resolution {
            status: AnnotationStatus::Orphaned,
            line: None,
            end_line: None,
            annotation_line: None,
            name: None,
            qualified_name: None,
            kind: None,
            confidence: 0.0,
            candidates: Vec::new(),
        }
    }
}

/// The `file_version` of a source text: SHA-256, lowercase hex.
pub fn file_version(source: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(source.as_bytes()))
}

/// Records a re-anchoring result on an annotation (status, lines, confidence and the
/// file version they refer to); the anchor itself is kept as captured.
pub fn apply_resolution(annotation: &mut Annotation, r: &Resolution, version: &str) {
    annotation.status = r.status;
    annotation.line = r.line.and_then(|l| u32::try_from(l).ok());
    annotation.end_line = r.end_line.and_then(|l| u32::try_from(l).ok());
    annotation.confidence = r.confidence;
    annotation.resolved_version = Some(version.to_string());
}

fn read_source(path: &Path) -> Result<String, AnchorError> {
    let io = |source| AnchorError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Check the size before reading so a huge file is refused without loading it.
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_SOURCE_BYTES as u64 {
        return Err(AnchorError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            max: MAX_SOURCE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|_| AnchorError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// `lighthouse anchor resolve --before FILE --after FILE --line N`: captures the anchor
/// at `line` of `before` and resolves it in `after`. The language comes from `after`'s
/// extension. Serialize the result for `--json`, or print [`render_human`].
pub fn resolve_cli(before: &Path, after: &Path, line: usize) -> Result<Resolution, AnchorError> {
    let lang = Language::from_path(after)?;
    let old = read_source(before)?;
    let new = read_source(after)?;
    let anchor = capture(&old, lang, line)?;
    resolve(&anchor, &new, lang)
}

/// One line for a terminal, e.g. ``found `Repo.save` at lines 12-20 (confidence 0.95)``.
pub fn render_human(r: &Resolution) -> String {
    let what = r
        .qualified_name
        .as_deref()
        .or(r.name.as_deref())
        .unwrap_or("?");
    let lines = match (r.line, r.end_line) {
        (Some(a), Some(b)) if b > a => format!("lines {a}-{b}"),
        (Some(a), _) => format!("line {a}"),
        _ => String::new(),
    };
    match r.status {
        AnnotationStatus::Found => {
            format!("found `{what}` at {lines} (confidence {:.2})", r.confidence)
        }
        AnnotationStatus::Renamed => {
            format!(
                "renamed to `{what}` at {lines} (confidence {:.2})",
                r.confidence
            )
        }
        AnnotationStatus::Ambiguous => {
            let c: Vec<String> = r.candidates.iter().map(|l| l.to_string()).collect();
            format!(
                "ambiguous: {} equally good candidates at lines {}; not attached",
                c.len(),
                c.join(", ")
            )
        }
        AnnotationStatus::Orphaned => {
            "orphaned: the annotated definition is gone from this version".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighthouse_schemas::msg::{Envelope, Severity};

    #[test]
    fn resolution_is_recorded_on_the_annotation() {
        let before = "def f(q):\n    return db.run(q)\n";
        let after = "import db\n\n\ndef f(q):\n    return db.run(q)\n";
        let anchor = capture(before, Language::Python, 2).unwrap();
        let mut a = Annotation {
            env: Envelope::new("a1", 1, "p", "expert", "c1"),
            path: "x.py".into(),
            expert: "sec".into(),
            category: "security".into(),
            severity: Severity::High,
            message: "injectable".into(),
            anchor: anchor.clone(),
            file_version: file_version(before),
            status: AnnotationStatus::Found,
            line: Some(1),
            end_line: Some(2),
            confidence: 1.0,
            resolved_version: None,
        };
        let r = resolve(&anchor, after, Language::Python).unwrap();
        let v = file_version(after);
        apply_resolution(&mut a, &r, &v);
        assert_eq!((a.line, a.end_line), (Some(4), Some(5)));
        assert_eq!(a.resolved_version.as_deref(), Some(v.as_str()));
        assert_eq!(v.len(), 64);
        assert_ne!(a.file_version, v);

        apply_resolution(&mut a, &Resolution::orphaned(), &v);
        assert_eq!(a.status, AnnotationStatus::Orphaned);
        assert_eq!(a.line, None);
    }

    #[test]
    fn human_rendering_names_status_and_place() {
        let mut r = Resolution::orphaned();
        assert!(render_human(&r).starts_with("orphaned"));
        r.status = AnnotationStatus::Found;
        r.line = Some(3);
        r.end_line = Some(9);
        r.qualified_name = Some("A.save".into());
        r.confidence = 0.8;
        assert_eq!(
            render_human(&r),
            "found `A.save` at lines 3-9 (confidence 0.80)"
        );
    }
}
