//! Validator worker (in progress).
