//! MessagePack with named fields, bounded in size and version-checked before decoding.

use crate::msg::{Message, SCHEMA_VERSION};
use serde::Deserialize;
use thiserror::Error;

/// Largest payload we encode or decode. Commands carry file contents for Write calls;
/// bigger files travel through the object store, never inline.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("message is {size} bytes, over the {max} byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("not a Lighthouse {kind} message: {source}")]
    NoEnvelope {
        kind: &'static str,
        source: rmp_serde::decode::Error,
    },
    #[error("{kind} message has schema version {found}; this build reads up to {supported}")]
    UnsupportedVersion {
        kind: &'static str,
        found: u16,
        supported: u16,
    },
    #[error("malformed {kind} message: {source}")]
    Malformed {
        kind: &'static str,
        source: rmp_serde::decode::Error,
    },
    #[error("cannot encode {kind} message: {source}")]
    Encode {
        kind: &'static str,
        source: rmp_serde::encode::Error,
    },
}

/// Encodes with named fields, so readers in any language see a map.
pub fn encode<M: Message>(message: &M) -> Result<Vec<u8>, CodecError> {
    let bytes = rmp_serde::to_vec_named(message).map_err(|source| CodecError::Encode {
        kind: M::KIND,
        source,
    })?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(bytes)
}

#[derive(Deserialize)]
struct VersionProbe {
    env: ProbeEnvelope,
}

#[derive(Deserialize)]
struct ProbeEnvelope {
    v: u16,
}

/// Decodes a message, checking size and schema version before the full decode.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, CodecError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let probe: VersionProbe =
        rmp_serde::from_slice(bytes).map_err(|source| CodecError::NoEnvelope {
            kind: M::KIND,
            source,
        })?;
    if probe.env.v == 0 || probe.env.v > SCHEMA_VERSION {
        return Err(CodecError::UnsupportedVersion {
            kind: M::KIND,
            found: probe.env.v,
            supported: SCHEMA_VERSION,
        });
    }
    rmp_serde::from_slice(bytes).map_err(|source| CodecError::Malformed {
        kind: M::KIND,
        source,
    })
}
