//! End-to-end tests: the real `lighthouse` binary, a real nats-server, real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

mod anchor;
mod backbone;
mod clients;
mod codex_patch;
mod durable;
mod escalation;
mod exceptions;
mod faults;
mod faults_net;
mod firsthour;
mod fuse;
mod ha;
mod helpers;
mod hook_bounds;
mod mcp;
mod observability;
mod ops;
mod policy;
mod relay;
mod trust;
mod up;
mod util;
mod worker_panics;
