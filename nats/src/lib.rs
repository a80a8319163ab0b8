//! NATS layer (in progress).
