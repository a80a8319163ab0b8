//! Annotation states on the log.

use futures::StreamExt;
use lighthouse_anchor::annotations;
use lighthouse_nats::publish::publish_once;
use lighthouse_nats::topology::ANNOT_STREAM;
use lighthouse_schemas::msg::Annotation;
use lighthouse_schemas::{Token, decode, encode, subject};
use std::time::Duration;

/// A file by project and `/`-separated project-relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    pub project: String,
    pub path: String,
}

/// `lh.annot.<project>.<file_key>` with `file_key` the token of the path.
pub fn annotation_subject(file: &ProjectFile) -> String {
    subject::annotation(&Token::encode(&file.project), &Token::encode(&file.path))
}

/// Publishes one annotation state (deduplicated by id and the file version it refers to).
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

/// Current annotations of one file (the latest state per id), from the log.
pub async fn load(
    js: &async_nats::jetstream::Context,
    file: &ProjectFile,
) -> anyhow::Result<Vec<Annotation>> {
    let subject = annotation_subject(file);
    let stream = js.get_stream_no_info(ANNOT_STREAM).await?;
    // Most files have no annotations: one direct get answers that. Only "not found"
    // means none; any other error is an error (the caller retries), never "no notes".
    match stream.direct_get_last_for_subject(&subject).await {
        Ok(_) => {}
        Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    }
    // Named by us: a role that may only read this stream (the agent's hook) is allowed
    // consumers created by name, never the unnamed create, whose body could name
    // another reader's durable.
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
            name: Some(format!("notes-{}", uuid::Uuid::now_v7())),
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
