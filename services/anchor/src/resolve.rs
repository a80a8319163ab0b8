//! Capturing an anchor in one version of a file and resolving it in another.
//!
//! Resolution runs in stages; each later stage trusts the name less and so demands more
//! evidence (a similar body, a name that is new, agreeing neighbours):
//!
//! 1. **same identity** — same kind family, name and container path: `found`, even if
//!    moved or edited. Several such (a duplicated definition) are told apart by body
//!    and signature only; near-equal ones are `ambiguous`.
//! 2. **moved container** — same name under a *new* container (moved into a class or
//!    impl, class renamed) with a similar body: `found` with lower confidence.
//! 3. **renamed** — a *new* name in the same container whose body is similar and whose
//!    neighbours agree: `renamed`.
//! 4. otherwise `orphaned`.
//!
//! "New" means the qualified name did not exist when the anchor was captured
//! ([`Anchor::file_defs`]): a look-alike that was already there is a different
//! definition, never a re-attachment target. That rule is what keeps an annotation on a
//! deleted function from jumping to its similar sibling.

use crate::fingerprint::{self, similarity};
use crate::index::{self, Def, Tok};
use crate::lang::{self, Language};
use crate::{AnchorError, Definition, Resolution};
use lighthouse_schemas::msg::{Anchor, AnnotationStatus};
use std::sync::OnceLock;

/// Bound on [`Anchor::file_defs`]; only definitions past it (far beyond any
/// hand-written file) lose the look-alike protection.
const MAX_FILE_DEFS: usize = 8192;
/// Longest annotated-line text kept in an anchor.
const MAX_LINE_TEXT: usize = 200;

/// Body similarity a same-named definition in a new container needs.
const MOVE_MIN_SIM: f32 = 0.5;
/// Body similarity a differently named definition needs to count as a rename.
const RENAME_MIN_SIM: f32 = 0.6;
/// Body-and-signature score a same-named candidate needs when the name was shared by
/// several definitions at capture time.
const HOMONYM_MIN_SCORE: f32 = 0.6;
/// Score gap between the two best candidates below which we refuse to choose.
const MARGIN: f32 = 0.1;

/// Fingerprint of one definition, computed on first use: most resolutions are settled by
/// name and never need one.
#[derive(Clone, Debug)]
struct Features {
    body_hash: u64,
    sketch: Vec<u32>,
}

/// A parsed version of a file, indexed for capturing and resolving many anchors.
///
/// Parse once per file version, then call [`ParsedFile::resolve`] for every annotation
/// on it; [`ParsedFile::next_version`] reparses incrementally from this one.
pub struct ParsedFile {
    lang: Language,
    source: String,
    /// Kept for incremental reparsing of the next version.
    tree: tree_sitter::Tree,
    /// Definitions in source order (outer before inner).
    defs: Vec<Def>,
    /// The whole file's tokens once; a definition's fingerprint is a slice of them.
    tokens: Vec<Tok>,
    /// Per definition, filled on first use (`OnceLock` so a parsed file can be shared
    /// between threads).
    features: Vec<OnceLock<Features>>,
    /// Byte offset of each line start, for line texts.
    line_starts: Vec<usize>,
}

impl std::fmt::Debug for ParsedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedFile")
            .field("lang", &self.lang)
            .field("bytes", &self.source.len())
            .field("definitions", &self.defs.len())
            .finish()
    }
}

impl ParsedFile {
    /// Parses and indexes `source`.
    pub fn parse(source: &str, lang: Language) -> Result<Self, AnchorError> {
        let tree = lang::parse(source, lang, None)?;
        Ok(Self::index(source.to_string(), lang, tree))
    }

    /// Parses a new version of the same file, reusing this version's tree for the
    /// unchanged parts (tree-sitter incremental parsing).
    pub fn next_version(&self, source: &str) -> Result<Self, AnchorError> {
        let Some(edit) = lang::diff_edit(&self.source, source) else {
            return Ok(Self::index(
                source.to_string(),
                self.lang,
                self.tree.clone(),
            ));
        };
        let mut old = self.tree.clone();
        old.edit(&edit);
        let tree = lang::parse(source, self.lang, Some(&old))?;
        Ok(Self::index(source.to_string(), self.lang, tree))
    }

    fn index(source: String, lang: Language, tree: tree_sitter::Tree) -> Self {
        let ex = index::extract(&tree, &source, lang);
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        ParsedFile {
            lang,
            features: (0..ex.defs.len()).map(|_| OnceLock::new()).collect(),
            defs: ex.defs,
            tokens: ex.tokens,
            source,
            tree,
            line_starts,
        }
    }

    pub fn language(&self) -> Language {
        self.lang
    }

    /// Every named definition, in source order (outer before inner).
    pub fn definitions(&self) -> Vec<Definition> {
        self.defs
            .iter()
            .map(|d| Definition {
                kind: d.kind.to_string(),
                name: d.name.clone(),
                qualified_name: self.qualified_name(d),
                line: d.head_line + 1,
                start_line: d.ext_start_line + 1,
                end_line: d.end_line + 1,
            })
            .collect()
    }

    fn qualified_name(&self, d: &Def) -> String {
        let sep = self.lang.path_separator();
        let mut q = d.path.join(sep);
        if !q.is_empty() {
            q.push_str(sep);
        }
        q.push_str(&d.name);
        q
    }

    /// Number of named definitions found.
    pub fn definition_count(&self) -> usize {
        self.defs.len()
    }

    /// Number of lines (a trailing newline does not start a new one).
    pub fn line_count(&self) -> usize {
        let n = self.line_starts.len();
        if n > 1 && self.line_starts[n - 1] == self.source.len() {
            n - 1
        } else {
            n
        }
    }

    fn line_text(&self, line0: usize) -> &str {
        let Some(&start) = self.line_starts.get(line0) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line0 + 1)
            .copied()
            .unwrap_or(self.source.len());
        self.source.get(start..end).unwrap_or("").trim()
    }

    fn features(&self, i: usize) -> &Features {
        self.features[i].get_or_init(|| {
            let d = &self.defs[i];
            let from = self
                .tokens
                .partition_point(|t| (t.start as usize) < d.fp_start);
            let to = self
                .tokens
                .partition_point(|t| (t.end as usize) <= d.end_byte);
            let toks: Vec<u32> = self
                .tokens
                .get(from..to.max(from))
                .unwrap_or(&[])
                .iter()
                .map(|t| t.hash)
                .collect();
            Features {
                body_hash: fingerprint::sequence_hash(&toks),
                sketch: fingerprint::sketch(&toks),
            }
        })
    }

    /// Innermost definition whose span (decorators and doc comments included) holds
    /// the 0-based line.
    fn def_at(&self, line0: usize) -> Option<usize> {
        self.defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.ext_start_line <= line0 && line0 <= d.end_line)
            .min_by_key(|(_, d)| {
                (
                    d.end_line.saturating_sub(d.ext_start_line),
                    usize::MAX - d.start_byte,
                )
            })
            .map(|(i, _)| i)
    }

    /// Captures an anchor for the definition holding `line` (1-based).
    pub fn capture(&self, line: usize) -> Result<Anchor, AnchorError> {
        let lines = self.line_count();
        if line == 0 || line > lines {
            return Err(AnchorError::LineOutOfRange { line, lines });
        }
        let i = self
            .def_at(line - 1)
            .ok_or(AnchorError::NoDefinition { line })?;
        let d = &self.defs[i];
        let f = self.features(i);
        let mut file_defs: Vec<u32> = self.defs.iter().map(|d| d.qhash).collect();
        // One entry per definition (not deduplicated): the count of the anchor's own
        // hash tells resolution whether its name was shared from the start.
        file_defs.sort_unstable();
        file_defs.truncate(MAX_FILE_DEFS);
        let mut line_text = self.line_text(line - 1).to_string();
        if line_text.len() > MAX_LINE_TEXT {
            let mut cut = MAX_LINE_TEXT;
            while !line_text.is_char_boundary(cut) {
                cut -= 1;
            }
            line_text.truncate(cut);
        }
        Ok(Anchor {
            language: self.lang.name().to_string(),
            kind: d.kind.to_string(),
            name: d.name.clone(),
            path: d.path.clone(),
            signature: d.signature.clone(),
            body_hash: f.body_hash,
            shingles: f.sketch.clone(),
            prev_sibling: d.prev.clone(),
            next_sibling: d.next.clone(),
            file_defs,
            line_offset: i32::try_from(line as i64 - 1 - d.head_line as i64).unwrap_or(0),
            line_text,
        })
    }

    fn body_similarity(&self, anchor: &Anchor, i: usize) -> f32 {
        let f = self.features(i);
        if f.body_hash == anchor.body_hash {
            1.0
        } else {
            similarity(&anchor.shingles, &f.sketch)
        }
    }

    /// Resolves `anchor` (captured on an earlier version) in this version.
    pub fn resolve(&self, anchor: &Anchor) -> Resolution {
        let fam = index::family(&anchor.kind);
        let existed = |d: &Def| anchor.file_defs.binary_search(&d.qhash).is_ok();
        let sig_eq = |d: &Def| d.signature == anchor.signature;

        // Stage 1: same identity.
        let exact: Vec<usize> = self
            .candidates(|d| d.family() == fam && d.name == anchor.name && d.path == anchor.path);
        let own = index::qualified_hash(&anchor.kind, &anchor.path, &anchor.name);
        let homonyms = anchor.file_defs.iter().filter(|&&h| h == own).count();
        if homonyms > 1 {
            // The name was shared from the start (Go `init`, a property getter and its
            // setter): the name alone proves nothing, the body and signature must agree,
            // or deleting one would move its annotation onto the other.
            let scored: Vec<(usize, f32)> = self
                .score(&exact, |i| {
                    0.8 * self.body_similarity(anchor, i)
                        + 0.2 * f32::from(u8::from(sig_eq(&self.defs[i])))
                })
                .into_iter()
                .filter(|&(_, s)| s >= HOMONYM_MIN_SCORE)
                .collect();
            return self.pick(anchor, AnnotationStatus::Found, &scored, 0.9);
        }
        if exact.len() == 1 {
            let i = exact[0];
            let sim = self.body_similarity(anchor, i);
            return self.located(anchor, AnnotationStatus::Found, i, 0.8 + 0.2 * sim);
        }
        if !exact.is_empty() {
            let scored = self.score(&exact, |i| {
                0.8 * self.body_similarity(anchor, i)
                    + 0.2 * f32::from(u8::from(sig_eq(&self.defs[i])))
            });
            return self.pick(anchor, AnnotationStatus::Found, &scored, 0.9);
        }

        // Stage 2: same name under a container that did not exist before.
        let moved: Vec<usize> = self.candidates(|d| {
            d.family() == fam && d.name == anchor.name && d.path != anchor.path && !existed(d)
        });
        let scored: Vec<(usize, f32)> = self
            .score(&moved, |i| self.body_similarity(anchor, i))
            .into_iter()
            .filter(|&(_, s)| s >= MOVE_MIN_SIM)
            .collect();
        if !scored.is_empty() {
            let scored: Vec<(usize, f32)> = scored
                .into_iter()
                .map(|(i, s)| {
                    (
                        i,
                        0.9 * s + 0.1 * f32::from(u8::from(sig_eq(&self.defs[i]))),
                    )
                })
                .collect();
            return self.pick(anchor, AnnotationStatus::Found, &scored, 0.85);
        }

        // Stage 3: a new name in the same container, similar body, agreeing neighbours.
        let renamed: Vec<usize> = self.candidates(|d| {
            d.family() == fam && d.name != anchor.name && d.path == anchor.path && !existed(d)
        });
        let scored: Vec<(usize, f32)> = renamed
            .into_iter()
            .filter_map(|i| {
                let d = &self.defs[i];
                let sim = self.body_similarity(anchor, i);
                let prev = d.prev == anchor.prev_sibling;
                let next = d.next == anchor.next_sibling;
                let neighbours = f32::from(u8::from(prev)) * 0.5 + f32::from(u8::from(next)) * 0.5;
                let identical = self.features(i).body_hash == anchor.body_hash;
                let agrees = prev || next || identical;
                (sim >= RENAME_MIN_SIM && agrees).then_some((i, 0.7 * sim + 0.3 * neighbours))
            })
            .collect();
        if !scored.is_empty() {
            return self.pick(anchor, AnnotationStatus::Renamed, &scored, 0.9);
        }
        Resolution::orphaned()
    }

    fn candidates(&self, keep: impl Fn(&Def) -> bool) -> Vec<usize> {
        self.defs
            .iter()
            .enumerate()
            .filter(|(_, d)| keep(d))
            .map(|(i, _)| i)
            .collect()
    }

    fn score(&self, idx: &[usize], f: impl Fn(usize) -> f32) -> Vec<(usize, f32)> {
        idx.iter().map(|&i| (i, f(i))).collect()
    }

    /// Chooses the best candidate if it clearly beats the runner-up.
    fn pick(
        &self,
        anchor: &Anchor,
        status: AnnotationStatus,
        scored: &[(usize, f32)],
        cap: f32,
    ) -> Resolution {
        let mut sorted = scored.to_vec();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
        let Some(&(best, best_score)) = sorted.first() else {
            return Resolution::orphaned();
        };
        let tied: Vec<usize> = sorted
            .iter()
            .filter(|&&(_, s)| s > best_score - MARGIN)
            .map(|&(i, _)| i)
            .collect();
        if tied.len() > 1 {
            let mut lines: Vec<usize> = tied.iter().map(|&i| self.defs[i].head_line + 1).collect();
            lines.sort_unstable();
            return Resolution {
                status: AnnotationStatus::Ambiguous,
                confidence: round2(best_score.clamp(0.0, 1.0) * 0.5),
                candidates: lines,
                ..Resolution::orphaned()
            };
        }
        self.located(anchor, status, best, best_score.min(cap))
    }

    fn located(
        &self,
        anchor: &Anchor,
        status: AnnotationStatus,
        i: usize,
        conf: f32,
    ) -> Resolution {
        let d = &self.defs[i];
        Resolution {
            status,
            line: Some(d.head_line + 1),
            end_line: Some(d.end_line + 1),
            annotation_line: Some(self.annotation_line(anchor, d) + 1),
            name: Some(d.name.clone()),
            qualified_name: Some(self.qualified_name(d)),
            kind: Some(d.kind.to_string()),
            confidence: round2(conf.clamp(0.0, 1.0)),
            candidates: Vec::new(),
        }
    }

    /// Where the annotated line now is (0-based): the same text nearest to the old
    /// offset if it is still inside the definition, else the old offset clamped.
    fn annotation_line(&self, anchor: &Anchor, d: &Def) -> usize {
        // max/min rather than clamp: clamp panics if the bounds were ever inverted.
        let guess = (d.head_line as i64 + i64::from(anchor.line_offset))
            .max(d.ext_start_line as i64)
            .min(d.end_line as i64)
            .max(0) as usize;
        if anchor.line_text.is_empty() {
            return guess;
        }
        (d.ext_start_line..=d.end_line)
            .filter(|&l| {
                let t = self.line_text(l);
                t == anchor.line_text
                    || (anchor.line_text.len() == MAX_LINE_TEXT && t.starts_with(&anchor.line_text))
            })
            .min_by_key(|&l| l.abs_diff(guess))
            .unwrap_or(guess)
    }
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// Captures an anchor for the definition holding `line` (1-based) in `source`.
pub fn capture(source: &str, lang: Language, line: usize) -> Result<Anchor, AnchorError> {
    ParsedFile::parse(source, lang)?.capture(line)
}

/// Resolves one anchor in a new version of its file. To resolve many anchors against
/// the same version, parse once with [`ParsedFile::parse`] instead.
pub fn resolve(
    anchor: &Anchor,
    new_source: &str,
    lang: Language,
) -> Result<Resolution, AnchorError> {
    Ok(ParsedFile::parse(new_source, lang)?.resolve(anchor))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: &str = "\
import os


class A:
    def save(self, x):
        db.run(\"INSERT INTO a VALUES (%s)\" % x)
        return True


class B:
    def save(self, x):
        db.run(\"INSERT INTO b VALUES (%s)\" % x)
        return True


@route(\"/x\")
def handler(req):
    \"\"\"Doc.\"\"\"
    q = req.args[\"q\"]
    return db.query(\"SELECT \" + q)
";

    #[test]
    fn same_named_methods_are_told_apart() {
        let f = ParsedFile::parse(PY, Language::Python).unwrap();
        let a = f.capture(6).unwrap();
        let b = f.capture(12).unwrap();
        assert_eq!(a.path, vec!["A".to_string()]);
        assert_eq!(b.path, vec!["B".to_string()]);
        assert_ne!(a.body_hash, b.body_hash);
        // Swap the classes: each anchor must follow its own class.
        let swapped = PY.replace(
            "class A:\n    def save(self, x):\n        db.run(\"INSERT INTO a VALUES (%s)\" % x)\n        return True\n\n\nclass B:\n    def save(self, x):\n        db.run(\"INSERT INTO b VALUES (%s)\" % x)",
            "class B:\n    def save(self, x):\n        db.run(\"INSERT INTO b VALUES (%s)\" % x)\n        return True\n\n\nclass A:\n    def save(self, x):\n        db.run(\"INSERT INTO a VALUES (%s)\" % x)",
        );
        let g = f.next_version(&swapped).unwrap();
        let ra = g.resolve(&a);
        assert_eq!(ra.qualified_name.as_deref(), Some("A.save"));
        assert_eq!(ra.line, Some(11));
        assert_eq!(g.resolve(&b).line, Some(5));
    }

    #[test]
    fn decorator_line_anchors_to_the_function_and_keeps_its_offset() {
        let f = ParsedFile::parse(PY, Language::Python).unwrap();
        let a = f.capture(16).unwrap();
        assert_eq!(a.name, "handler");
        assert_eq!(a.line_offset, -1);
        let moved = format!("def first():\n    pass\n\n\n{PY}");
        let r = resolve(&a, &moved, Language::Python).unwrap();
        assert_eq!(r.status, AnnotationStatus::Found);
        assert_eq!(r.line, Some(21), "the def line, not the decorator");
        assert_eq!(r.annotation_line, Some(20));
        assert_eq!(r.confidence, 1.0);
    }

    #[test]
    fn annotated_line_is_found_again_inside_an_edited_body() {
        let f = ParsedFile::parse(PY, Language::Python).unwrap();
        let a = f.capture(20).unwrap();
        let edited = PY.replace(
            "    q = req.args[\"q\"]\n",
            "    q = req.args[\"q\"]\n    log(q)\n    check(q)\n",
        );
        let r = resolve(&a, &edited, Language::Python).unwrap();
        assert_eq!(r.status, AnnotationStatus::Found);
        assert_eq!(r.annotation_line, Some(22));
        assert!(r.confidence < 1.0 && r.confidence > 0.8, "{}", r.confidence);
    }

    #[test]
    fn rust_impl_path_has_type_and_trait() {
        let src = "struct Bar;\n\nimpl fmt::Display for Bar {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n        write!(f, \"bar\")\n    }\n}\n\nimpl Bar {\n    fn fmt(&self) {}\n}\n";
        let f = ParsedFile::parse(src, Language::Rust).unwrap();
        let a = f.capture(5).unwrap();
        assert_eq!(a.path, vec!["<Bar as fmt::Display>".to_string()]);
        assert_eq!(a.kind, "method");
        let r = f.resolve(&a);
        assert_eq!(
            r.qualified_name.as_deref(),
            Some("<Bar as fmt::Display>::fmt")
        );
        let impl_anchor = f.capture(3).unwrap();
        assert_eq!(impl_anchor.kind, "impl");
    }

    #[test]
    fn go_methods_carry_their_receiver() {
        let src = "package p\n\nfunc (s *Store) Get(k string) string {\n\treturn s.m[k]\n}\n\nfunc (c Cache[T]) Get(k string) string {\n\treturn c.m[k]\n}\n";
        let f = ParsedFile::parse(src, Language::Go).unwrap();
        assert_eq!(f.capture(4).unwrap().path, vec!["Store".to_string()]);
        assert_eq!(f.capture(8).unwrap().path, vec!["Cache".to_string()]);
    }

    #[test]
    fn identical_duplicates_are_ambiguous_with_candidates() {
        let src = "function f(a) {\n  return a + 1;\n}\n";
        let a = capture(src, Language::JavaScript, 2).unwrap();
        let dup = format!("{src}\n{src}");
        let r = resolve(&a, &dup, Language::JavaScript).unwrap();
        assert_eq!(r.status, AnnotationStatus::Ambiguous);
        assert_eq!(r.line, None);
        assert_eq!(r.candidates, vec![1, 5]);
    }

    #[test]
    fn deleted_function_does_not_jump_to_its_twin() {
        let src = "def a(x):\n    return x * 2 + 1\n\n\ndef b(x):\n    return x * 2 + 1\n";
        let anchor = capture(src, Language::Python, 2).unwrap();
        let after = "def b(x):\n    return x * 2 + 1\n";
        let r = resolve(&anchor, after, Language::Python).unwrap();
        assert_eq!(r.status, AnnotationStatus::Orphaned);
        assert_eq!(r.confidence, 0.0);
    }

    #[test]
    fn capture_errors_are_precise() {
        assert!(matches!(
            capture("x = 1\n", Language::Python, 9),
            Err(AnchorError::LineOutOfRange { line: 9, lines: 1 })
        ));
        assert!(matches!(
            capture("import os\n", Language::Python, 1),
            Err(AnchorError::NoDefinition { line: 1 })
        ));
        assert!(matches!(
            capture("", Language::Go, 0),
            Err(AnchorError::LineOutOfRange { .. })
        ));
    }
}
