//! codex-auth: the sign-in and credential subsystem of a Codex-style CLI, compatible with the
//! reference Codex CLI's `auth.json`, `config.toml` and keyring entry.

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod jwt;
pub mod login;
pub mod logout;
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
    }
}

fn run_login(args: LoginArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let reporter = login::Reporter { json: args.json };
    let result = login_command(args, overrides);
    if let Err(err) = &result {
        reporter.failed(&err.to_string());
    }
    result
}

fn login_command(args: LoginArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let mut config = Config::load(overrides)?;
    if let Some(LoginCommand::Status(status)) = args.action {
        return Ok(status::run(&config, status.json)?);
    }
    let source = match (args.api_key, args.with_api_key) {
        (Some(key), _) if key == "-" => Some(KeySource::Stdin),
        (Some(key), _) => Some(KeySource::Argument(Secret::new(key))),
        (None, true) => Some(KeySource::Stdin),
        (None, false) => None,
    };
    match source {
        Some(source) => login::api_key::run(&config, source)?,
        None => {
            config
                .auth
                .override_with(args.issuer.as_deref(), args.client_id.as_deref())?;
            let options = login::browser::BrowserOptions {
                open_browser: !args.no_browser && login::browser::browser_available(),
                port: args.port,
                timeout: std::time::Duration::from_secs(args.timeout),
            };
            login::browser::run(&config, &options, &login::Reporter { json: args.json })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
