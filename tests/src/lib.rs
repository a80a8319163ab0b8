//! Harness (in progress).
