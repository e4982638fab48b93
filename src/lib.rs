//! codex-auth: the sign-in and credential subsystem of a Codex-style CLI, compatible with the
//! reference Codex CLI's `auth.json`, `config.toml` and keyring entry. ARCHITECTURE.md maps the
//! modules; this file declares them and dispatches a parsed command line.

pub mod accounts;
pub mod auth;
pub mod choice;
pub mod cli;
pub mod commands;
pub mod config;
pub mod credential;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod fsutil;
pub mod http;
pub mod jwt;
pub mod login;
pub mod notice;
pub mod oauth;
pub mod provider;
pub mod report;
pub mod secret;
pub mod shield;
pub mod store;
pub mod token;
pub mod untrusted;

use std::process::ExitCode;

use cli::{Cli, Command};
use config::Config;
pub use error::Error;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Completion { shell } => commands::completion::run(shell),
        Command::Login(args) => commands::login::run(args, &cli.config_overrides),
        Command::Logout(args) => commands::logout::run(&Config::load(&cli.config_overrides)?, args),
        Command::Exec(args) => commands::exec::run(&Config::load(&cli.config_overrides)?, args),
        Command::Doctor(args) => commands::doctor::run(args, &cli.config_overrides),
    }
}
