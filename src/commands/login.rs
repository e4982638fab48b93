//! `codex login` and its subcommands: picks the sign-in path from the flags (API key, device
//! code, browser), applies `--issuer` / `--client-id`, and falls back from the device code to
//! the browser where the issuer has no device sign-in, and from the browser to the device code
//! where both callback ports are taken.

use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::accounts::{AccountName, Accounts};
use crate::cli::{LoginArgs, LoginCommand};
use crate::config::Config;
use crate::login::api_key::KeySource;
use crate::login::{self, LoginError};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store;

use super::status::StatusOptions;

/// What `codex login` was asked to do, once the flags are read.
enum Action {
    Status(StatusOptions),
    Token(Option<AccountName>, Option<String>),
    Switch(AccountName),
    ApiKey(KeySource),
    AccessToken,
    Device { show_qr: bool },
    Browser,
}

fn action(args: &LoginArgs) -> Result<Action, LoginError> {
    match &args.action {
        Some(LoginCommand::Status(status)) => {
            return Ok(Action::Status(StatusOptions { json: status.json }));
        }
        Some(LoginCommand::Token(token)) => {
            return Ok(Action::Token(token.account.clone(), token.provider.clone()));
        }
        Some(LoginCommand::Switch(switch)) => return Ok(Action::Switch(switch.name.clone())),
        None => {}
    }
    if let Some(Some(word @ ("status" | "token"))) =
        args.with_api_key.as_ref().map(|v| v.as_deref())
    {
        return Err(LoginError::SubcommandAfterFlag(word.to_string()));
    }
    if args.with_access_token {
        if args.api_key.is_some() || args.with_api_key.is_some() {
            return Err(LoginError::TwoCredentialSources);
        }
        return Ok(Action::AccessToken);
    }
    let source = match (&args.api_key, &args.with_api_key) {
        (Some(key), _) | (None, Some(Some(key))) if key == "-" => Some(KeySource::Stdin),
        (Some(key), _) | (None, Some(Some(key))) => {
            Some(KeySource::Argument(Secret::new(key.clone())))
        }
        (None, Some(None)) => Some(KeySource::Stdin),
        (None, None) => None,
    };
    Ok(match source {
        Some(source) => Action::ApiKey(source),
        None if args.device_auth => Action::Device {
            show_qr: !args.no_qr,
        },
        None => Action::Browser,
    })
}

pub fn run(args: LoginArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let out = Reporter::new(args.json);
    // Two credential sources at once is a usage error (exit 2), in the reference's words.
    if let Err(err @ LoginError::TwoCredentialSources) = action(&args) {
        out.note(&err.to_string());
        return Ok(ExitCode::from(2));
    }
    let result = sign_in(&args, overrides, &out);
    if let Err(err) = &result {
        out.failed(&err.to_string());
    }
    result
}

fn sign_in(args: &LoginArgs, overrides: &[String], out: &Reporter) -> Result<ExitCode, Error> {
    let mut config = Config::load(overrides)?;
    let action = action(args)?;
    // For a sign-in, the name to save it as (CODEX_ACCOUNT only picks what exec and token use),
    // checked before anyone signs in for nothing.
    if !matches!(
        action,
        Action::Status(_) | Action::Token(..) | Action::Switch(_)
    ) {
        if let Some(name) = &args.account {
            Accounts::over(&store::open(&config, Arc::new(*out))).check_new_name(name)?;
        }
        config.account = args.account.as_ref().map(ToString::to_string);
    }
    let store = || store::open(&config, Arc::new(*out));
    match action {
        Action::Status(options) => return super::status::run(&config, options),
        Action::Token(_, Some(provider)) => return super::token::run_provider(&config, &provider),
        Action::Token(account, None) => return super::token::run(&config, account.as_ref()),
        Action::Switch(name) => return super::switch::run(&config, &name),
        Action::ApiKey(source) => {
            login::api_key::run(&config, &store(), source, out)?;
            return Ok(ExitCode::SUCCESS);
        }
        Action::AccessToken => {
            login::access_token::run(&config, &store(), out)?;
            return Ok(ExitCode::SUCCESS);
        }
        Action::Device { .. } | Action::Browser => {}
    }
    config
        .auth
        .override_with(args.issuer.as_deref(), args.client_id.as_deref())
        .map_err(crate::config::ConfigError::from)?;
    let store = store::open(&config, Arc::new(*out));
    let device_tried = matches!(action, Action::Device { .. });
    if let Action::Device { show_qr } = action {
        let options = login::device::DeviceOptions { show_qr };
        match login::device::run(&config, &store, options, out)? {
            login::device::Outcome::SignedIn => return Ok(ExitCode::SUCCESS),
            login::device::Outcome::UseBrowser => {}
        }
    }
    let options = login::browser::BrowserOptions {
        open_browser: !args.no_browser && login::browser::browser_available(),
        port: args.port,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    match login::browser::run(&config, &store, &options, out)? {
        login::browser::Outcome::SignedIn => {}
        // Tried first and unavailable after all: the busy ports are what to report.
        login::browser::Outcome::UseDevice if device_tried => {
            return Err(LoginError::PortsBusy.into());
        }
        login::browser::Outcome::UseDevice => {
            out.note(login::browser::PORTS_BUSY_USE_DEVICE);
            let options = login::device::DeviceOptions {
                show_qr: !args.no_qr,
            };
            match login::device::run(&config, &store, options, out)? {
                login::device::Outcome::SignedIn => {}
                login::device::Outcome::UseBrowser => return Err(LoginError::PortsBusy.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
