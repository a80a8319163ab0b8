//! Lighthouse's configuration, shared by the CLI, the hook and every worker binary.
//!
//! - [`settings`]: layered settings (embedded defaults → config file → `LIGHTHOUSE__…`
//!   env), strict in every section, validated before anything touches NATS;
//! - [`project`]: which project a directory belongs to (one resolver for the hook, file
//!   events, annotations and `sync`);
//! - [`runtime`]: what a running `lighthouse up` records for hooks and operators;
//! - [`reference`]: `docs/SETTINGS.md`, generated from the defaults.
//!
//! This crate depends on no worker: the workers depend on it and convert its sections
//! into their own configurations.

mod layers;
pub mod project;
pub mod reference;
pub mod runtime;
pub mod settings;

pub use settings::*;
