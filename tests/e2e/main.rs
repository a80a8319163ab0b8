//! End-to-end tests: the real `lighthouse` binary, a real nats-server, real processes.

mod backbone;
mod escalation;
mod util;
