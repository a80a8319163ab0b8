//! Experts' notes for the model: the open annotations of a file the agent reads or is
//! about to edit, as markdown, within [`ANNOTATION_BUDGET`].
//!
//! Each annotation state is a message on `lh.annot.<project>.<file_key>` (stream
//! `LH_ANNOT`); the latest state per annotation id is the current one.

use anyhow::Context as _;
use lighthouse_annotator::ProjectFile;
use std::path::Path;
use std::time::Duration;

/// How long the hook may spend looking up annotations of a file.
pub const ANNOTATION_BUDGET: Duration = Duration::from_millis(250);

/// Locates `file` in its project (the nearest enclosing `.git`/`.lighthouse` dir).
pub fn locate(file: &Path, project: Option<&str>) -> anyhow::Result<ProjectFile> {
    // Canonical, as the root is: under a symlinked directory the note names the same
    // project and path as the file events do.
    let absolute = lighthouse_config::project::canonical(file);
    let dir = absolute.parent().unwrap_or(Path::new("/"));
    let root = lighthouse_config::project::root(dir);
    let relative = absolute
        .strip_prefix(&root)
        .with_context(|| format!("{} is not inside {}", file.display(), root.display()))?;
    let path = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let project = lighthouse_config::project::name(&root, project);
    Ok(ProjectFile { project, path })
}

/// Experts' open notes on `path`, as markdown for the model; `None` when there are none
/// or they cannot be had within [`ANNOTATION_BUDGET`].
pub async fn notes_on(nats: &async_nats::Client, path: &Path, project: &str) -> Option<String> {
    let file = locate(path, Some(project)).ok()?;
    let js = async_nats::jetstream::new(nats.clone());
    let all = tokio::time::timeout(
        ANNOTATION_BUDGET,
        lighthouse_annotator::store::load(&js, &file),
    )
    .await
    .ok()?
    .ok()?;
    let open = lighthouse_anchor::annotations::open(&all);
    (!open.is_empty()).then(|| {
        format!(
            "Lighthouse: experts left notes on this file; keep them in mind.\n\n{}",
            lighthouse_anchor::annotations::render_markdown(&file.path, &open)
        )
    })
}
