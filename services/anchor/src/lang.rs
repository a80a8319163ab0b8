//! Supported languages and the bounded tree-sitter parse.

use crate::AnchorError;
use std::path::Path;
use std::time::{Duration, Instant};
use tree_sitter::{InputEdit, ParseOptions, Parser, Point, Tree};

/// Largest source file we parse; bigger files are generated or vendored, not reviewed.
pub const MAX_SOURCE_BYTES: usize = 2 * 1024 * 1024;

/// Wall-clock bound on one parse; tree-sitter is linear but pathological input exists.
pub const PARSE_TIMEOUT: Duration = Duration::from_millis(500);

/// A language the anchoring engine understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    Rust,
    JavaScript,
    TypeScript,
    /// TypeScript with JSX (`.tsx`): a separate grammar.
    Tsx,
    Go,
}

impl Language {
    /// Picks the language from a file extension.
    pub fn from_path(path: &Path) -> Result<Self, AnchorError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "py" | "pyi" => Language::Python,
            "rs" => Language::Rust,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            _ => return Err(AnchorError::UnsupportedLanguage(path.display().to_string())),
        })
    }

    /// Stable lowercase name, stored in [`lighthouse_schemas::msg::Anchor::language`].
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
        }
    }

    /// Separator used to print qualified names the way the language's users write them.
    pub(crate) fn path_separator(self) -> &'static str {
        match self {
            Language::Rust => "::",
            _ => ".",
        }
    }

    pub(crate) fn is_js_family(self) -> bool {
        matches!(
            self,
            Language::JavaScript | Language::TypeScript | Language::Tsx
        )
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }
}

/// Parses `source`, optionally reusing `old` (already edited to match), within the
/// size and time bounds.
pub(crate) fn parse(source: &str, lang: Language, old: Option<&Tree>) -> Result<Tree, AnchorError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(AnchorError::TooLarge {
            size: source.len(),
            max: MAX_SOURCE_BYTES,
        });
    }
    let mut parser = Parser::new();
    parser
        .set_language(&lang.grammar())
        .map_err(|e| AnchorError::Grammar(e.to_string()))?;
    let bytes = source.as_bytes();
    let deadline = Instant::now() + PARSE_TIMEOUT;
    // Returning true from the progress callback cancels the parse.
    let mut over_time = |_: &tree_sitter::ParseState| Instant::now() > deadline;
    let mut read = |i: usize, _: Point| bytes.get(i..).unwrap_or(&[]);
    parser
        .parse_with_options(
            &mut read,
            old,
            Some(ParseOptions::new().progress_callback(&mut over_time)),
        )
        .ok_or(AnchorError::ParseTimeout(PARSE_TIMEOUT))
}

/// The single edit that turns `old` into `new` (common prefix and suffix kept), in the
/// form tree-sitter needs to reuse the old tree.
pub(crate) fn diff_edit(old: &str, new: &str) -> Option<InputEdit> {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    let mut prefix = o.iter().zip(n).take_while(|(a, b)| a == b).count();
    // Keep edit boundaries on char boundaries so points stay meaningful.
    while prefix > 0 && !(old.is_char_boundary(prefix) && new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    if prefix == o.len() && prefix == n.len() {
        return None;
    }
    let max_suffix = o.len().min(n.len()) - prefix;
    let mut suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while suffix > 0
        && !(old.is_char_boundary(o.len() - suffix) && new.is_char_boundary(n.len() - suffix))
    {
        suffix -= 1;
    }
    let old_end = o.len() - suffix;
    let new_end = n.len() - suffix;
    Some(InputEdit {
        start_byte: prefix,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position: point_at(o, prefix),
        old_end_position: point_at(o, old_end),
        new_end_position: point_at(n, new_end),
    })
}

fn point_at(text: &[u8], byte: usize) -> Point {
    let head = &text[..byte.min(text.len())];
    let row = head.iter().filter(|&&b| b == b'\n').count();
    let col = head.iter().rev().take_while(|&&b| b != b'\n').count();
    Point { row, column: col }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_extension() {
        assert_eq!(
            Language::from_path(Path::new("a/b.tsx")).unwrap(),
            Language::Tsx
        );
        assert_eq!(
            Language::from_path(Path::new("x.PY")).unwrap(),
            Language::Python
        );
        assert!(matches!(
            Language::from_path(Path::new("Makefile")),
            Err(AnchorError::UnsupportedLanguage(_))
        ));
    }

    #[test]
    fn oversized_source_is_refused() {
        let big = "x = 1\n".repeat(MAX_SOURCE_BYTES / 6 + 10);
        assert!(matches!(
            parse(&big, Language::Python, None),
            Err(AnchorError::TooLarge { .. })
        ));
    }

    #[test]
    fn diff_edit_spans_only_the_change() {
        let e = diff_edit("ab\ncd\nef", "ab\ncXd\nef").unwrap();
        assert_eq!(e.start_byte, 4);
        assert_eq!(e.old_end_byte, 4);
        assert_eq!(e.new_end_byte, 5);
        assert_eq!(e.start_position, Point { row: 1, column: 1 });
        assert!(diff_edit("same", "same").is_none());
    }
}
