//! sleuth: a terminal research console. See README.md for the tour and
//! ../shared/ARCHITECTURE.md for the thread and data rules.
// The rest of the lints are in Cargo.toml `[lints]`.
#![forbid(unsafe_code)]

pub mod agent;
pub mod app_main;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conversation;
pub mod dev;
pub mod domain;
pub mod emit;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod library;
pub mod logging;
pub mod mcp;
pub mod paths;
pub mod references;
pub mod store;
pub mod text;
pub mod ui;
pub mod verify;
