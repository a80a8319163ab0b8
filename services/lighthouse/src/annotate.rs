//! Annotations on the log: `lighthouse annotate` and `lighthouse annotations` (the
//! hook's side, notes for the model, is `lighthouse_hook::notes`).
//!
//! Each annotation state is a message on `lh.annot.<project>.<file_key>` (stream
//! `LH_ANNOT`), where `file_key` is the subject token of the project-relative path; the
//! latest state per annotation id is the current one.

use lighthouse_anchor::Language;
use lighthouse_anchor::annotations::{self, Note};
use lighthouse_schemas::msg::Annotation;
use std::path::{Path, PathBuf};

pub use lighthouse_annotator::ProjectFile;

pub use lighthouse_hook::notes::locate;

pub use lighthouse_annotator::store::{annotation_subject, load, publish};

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
