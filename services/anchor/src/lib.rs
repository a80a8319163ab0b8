//! Anchoring engine (see issue: AST-anchored annotations). Work in progress.
