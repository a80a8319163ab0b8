//! End-to-end tests: the real `lighthouse` binary, a real nats-server, real processes.

mod anchor;
mod backbone;
mod escalation;
mod firsthour;
mod fuse;
mod policy;
mod util;
