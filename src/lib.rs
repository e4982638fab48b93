//! codex-auth: the sign-in and credential subsystem of a Codex-style CLI, compatible with the
//! reference Codex CLI's `auth.json`, `config.toml` and keyring entry.

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod exec;
pub mod fsutil;
pub mod http;
pub mod jwt;
pub mod login;
pub mod logout;
pub mod output;
pub mod provider;
pub mod secret;
pub mod status;
pub mod store;
pub mod token;

use std::process::ExitCode;

use cli::{Cli, Command, LoginArgs, LoginCommand};
use config::Config;
pub use error::Error;
use login::api_key::KeySource;
use secret::Secret;

/// `codex login token`: the bearer credential alone on stdout.
fn print_token(config: &Config) -> Result<ExitCode, Error> {
    let store = store::open(config)?;
    let http = http::Lazy::new(config);
    let fresh = http::runtime().block_on(token::fresh(config, store.as_ref(), &http));
    for notice in store.take_notices() {
        crate::say!("{notice}");
    }
    let doc = fresh?;
    let bearer = match (doc.mode(), &doc.tokens) {
        (Ok(auth::AuthMode::ApiKey), _) => doc.api_key().map(|k| ("API key", k.to_string())),
        (Ok(auth::AuthMode::ChatGpt | auth::AuthMode::ChatGptExternalTokens), Some(t)) => {
            Some(("access token", t.access_token.expose().clone()))
        }
        (Ok(_), _) | (Err(_), _) => None,
    };
    match bearer {
        // A line break in it would end the header a script builds from it.
        Some((what, bearer)) if secret::has_control(&bearer) => {
            Err(token::TokenError::Unsendable {
                what,
                location: store.location(),
            }
            .into())
        }
        Some((_, bearer)) => {
            output::print(format!("{bearer}\n").as_bytes()).map_err(Error::Stdout)?;
            Ok(ExitCode::SUCCESS)
        }
        None => Err(token::TokenError::Unusable {
            location: store.location(),
            reason: "it holds no bearer credential".to_string(),
        }
        .into()),
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Completion { shell } => {
            use clap::CommandFactory;
            // Generated in memory: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "codex", &mut script);
            output::print(&script).map_err(Error::Stdout)?;
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
    let reporter = login::Reporter { json: args.json };
    let result = login_command(args, overrides);
    if let Err(err) = &result {
        reporter.failed(&err.to_string());
    }
    result
}

fn login_command(args: LoginArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let mut config = Config::load(overrides)?;
    match args.action {
        Some(LoginCommand::Status(status)) => return status::run(&config, status.json),
        Some(LoginCommand::Token) => return print_token(&config),
        None => {}
    }
    if let Some(Some(word @ ("status" | "token"))) =
        args.with_api_key.as_ref().map(|v| v.as_deref())
    {
        return Err(login::LoginError::SubcommandAfterFlag(word.to_string()).into());
    }
    let source = match (args.api_key, args.with_api_key) {
        (Some(key), _) | (None, Some(Some(key))) if key == "-" => Some(KeySource::Stdin),
        (Some(key), _) | (None, Some(Some(key))) => Some(KeySource::Argument(Secret::new(key))),
        (None, Some(None)) => Some(KeySource::Stdin),
        (None, None) => None,
    };
    match source {
        Some(source) => login::api_key::run(&config, source)?,
        None => {
            config
                .auth
                .override_with(args.issuer.as_deref(), args.client_id.as_deref())?;
            let reporter = login::Reporter { json: args.json };
            if args.device_auth {
                let options = login::device::DeviceOptions {
                    show_qr: !args.no_qr,
                };
                match login::device::run(&config, options, &reporter)? {
                    login::device::Outcome::SignedIn => return Ok(ExitCode::SUCCESS),
                    login::device::Outcome::UseBrowser => {}
                }
            }
            let options = login::browser::BrowserOptions {
                open_browser: !args.no_browser && login::browser::browser_available(),
                port: args.port,
                timeout: std::time::Duration::from_secs(args.timeout),
            };
            login::browser::run(&config, &options, &reporter)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
