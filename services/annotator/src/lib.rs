//! Annotator worker: keeps expert annotations on the right code while agents edit.
//!
//! - [`store`]: annotation states on `lh.annot.<project>.<file_key>` (stream `LH_ANNOT`):
//!   publish one, load a file's current ones (latest state per annotation id).
//! - [`worker`]: follows `LH_FS`; for each new version of an annotated source file it
//!   re-anchors the file's annotations (the `lighthouse-anchor` engine) and records the
//!   new states, so every reader sees current lines and status.

pub mod service;
pub mod store;
pub mod worker;

pub use store::{ProjectFile, annotation_subject, load, publish};
pub use worker::{AnnotatorConfig, run};
