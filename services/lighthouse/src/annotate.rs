//! Annotations on the log: `lighthouse annotate`, `lighthouse annotations`, and the
//! lookup the hook uses to show an agent the notes on a file it is about to edit.
//!
//! Each annotation state is a message on `lh.annot.<project>.<file_key>` (stream
//! `LH_ANNOT`), where `file_key` is the subject token of the project-relative path; the
//! latest state per annotation id is the current one.

use anyhow::Context as _;
use futures::StreamExt;
use lighthouse_anchor::Language;
use lighthouse_anchor::annotations::{self, Note};
use lighthouse_nats::publish::publish_once;
use lighthouse_nats::topology::ANNOT_STREAM;
use lighthouse_schemas::msg::Annotation;
use lighthouse_schemas::{Token, decode, encode, subject};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a file sits: its project and its `/`-separated path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    pub project: String,
    pub path: String,
}

/// Locates `file` in its project (the nearest enclosing `.git`/`.lighthouse` dir).
pub fn locate(file: &Path, project: Option<&str>) -> anyhow::Result<ProjectFile> {
    let absolute = std::path::absolute(file)?;
    let dir = absolute.parent().unwrap_or(Path::new("/"));
    let root = crate::hook::project_root(dir);
    let relative = absolute
        .strip_prefix(&root)
        .with_context(|| format!("{} is not inside {}", file.display(), root.display()))?;
    let path = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let project = project.map(str::to_owned).unwrap_or_else(|| {
        root.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned())
    });
    Ok(ProjectFile { project, path })
}

pub fn annotation_subject(file: &ProjectFile) -> String {
    subject::annotation(&Token::encode(&file.project), &Token::encode(&file.path))
}

/// Publishes one annotation state (deduplicated by id and file version).
pub async fn publish(
    js: &async_nats::jetstream::Context,
    annotation: &Annotation,
) -> anyhow::Result<()> {
    let file = ProjectFile {
        project: annotation.env.project.clone(),
        path: annotation.path.clone(),
    };
    let msg_id = format!(
        "{}@{}",
        annotation.env.id,
        annotation.resolved_version.as_deref().unwrap_or("")
    );
    publish_once(
        js,
        annotation_subject(&file),
        &msg_id,
        encode(annotation)?.into(),
        false,
    )
    .await?;
    Ok(())
}

/// Current annotations of one file, from the log.
pub async fn load(
    js: &async_nats::jetstream::Context,
    file: &ProjectFile,
) -> anyhow::Result<Vec<Annotation>> {
    let subject = annotation_subject(file);
    let stream = js.get_stream_no_info(ANNOT_STREAM).await?;
    // Most files have no annotations: one direct get answers that.
    if stream.direct_get_last_for_subject(&subject).await.is_err() {
        return Ok(Vec::new());
    }
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
            filter_subject: subject,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut states = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(5), messages.next()).await? {
        let message = message?;
        let pending = message.info().map(|i| i.pending).unwrap_or(0);
        if let Ok(annotation) = decode::<Annotation>(&message.payload) {
            states.push(annotation);
        }
        if pending == 0 {
            break;
        }
    }
    Ok(annotations::current(states))
}

/// Arguments of `lighthouse annotate`.
#[derive(Debug, Clone)]
pub struct AnnotateArgs {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub category: String,
    pub severity: lighthouse_schemas::msg::Severity,
    pub expert: String,
    pub project: Option<String>,
}

pub async fn annotate(url: &str, args: AnnotateArgs) -> anyhow::Result<Annotation> {
    let located = locate(&args.file, args.project.as_deref())?;
    let lang = Language::from_path(&args.file)?;
    let source = read_bounded(&args.file)?;
    let annotation = annotations::annotate(
        Note {
            id: format!("an-{}", uuid::Uuid::now_v7()),
            project: located.project,
            path: located.path,
            expert: args.expert,
            category: args.category,
            severity: args.severity,
            message: args.message,
        },
        &source,
        lang,
        args.line,
    )?;
    let client = lighthouse_nats::connect(url, "lighthouse-annotate").await?;
    let js = async_nats::jetstream::new(client);
    publish(&js, &annotation).await?;
    Ok(annotation)
}

pub fn read_bounded(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)?.len();
    anyhow::ensure!(
        size <= lighthouse_anchor::MAX_SOURCE_BYTES as u64,
        "{} is {size} bytes, over the {} byte limit",
        path.display(),
        lighthouse_anchor::MAX_SOURCE_BYTES
    );
    Ok(String::from_utf8(std::fs::read(path)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_located_in_their_project() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("shop");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/db")).unwrap();
        let file = repo.join("src/db/users.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        let located = locate(&file, None).unwrap();
        assert_eq!(
            located,
            ProjectFile {
                project: "shop".into(),
                path: "src/db/users.py".into()
            }
        );
        assert_eq!(
            annotation_subject(&located),
            "lh.annot.shop.src~2fdb~2fusers~2epy"
        );
    }
}
