//! codex-auth: the sign-in and credential subsystem of a Codex-style CLI, compatible with the
//! reference Codex CLI's `auth.json`, `config.toml` and keyring entry.

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod exec;
pub mod http;
pub mod login;
pub mod logout;
pub mod provider;
pub mod secret;
pub mod status;
pub mod store;

use std::process::ExitCode;

use cli::{Cli, Command, LoginArgs, LoginCommand};
use config::Config;
pub use error::Error;
use login::api_key::KeySource;
use secret::Secret;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Completion { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "codex", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Logout => {
            let config = Config::load(&cli.config_overrides)?;
            Ok(logout::run(&config)?)
        }
        Command::Login(args) => run_login(args, &cli.config_overrides),
        Command::Exec(args) => {
            let config = Config::load(&cli.config_overrides)?;
            exec::run(
                &config,
                exec::ExecOptions {
                    json: args.json,
                    model: args.model,
                    oss: args.oss,
                    prompt: args.prompt,
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_login(args: LoginArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let config = Config::load(overrides)?;
    match args.action {
        Some(LoginCommand::Status(status)) => Ok(status::run(&config, status.json)?),
        None => {
            let source = match (args.api_key, args.with_api_key) {
                (Some(key), _) if key == "-" => KeySource::Stdin,
                (Some(key), _) => KeySource::Argument(Secret::new(key)),
                (None, true) => KeySource::Stdin,
                (None, false) => return Err(login::LoginError::BrowserNotAvailable.into()),
            };
            login::api_key::run(&config, source)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
