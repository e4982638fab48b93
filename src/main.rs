//! The `codex` binary: parse arguments, set up logging (only when RUST_LOG asks for it, so a
//! plain run starts instantly), run, and turn an error into a message and exit code 1.

use std::process::ExitCode;

use clap::Parser as _;

/// The AWS crates trace canonical requests and credential responses: they stay at `warn`
/// whatever RUST_LOG says, so no AWS secret can reach a log.
const QUIET_DEPENDENCIES: &str = "aws_sigv4=warn,aws_config=warn,aws_credential_types=warn,\
    aws_runtime=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_smithy_http=warn,\
    aws_sdk_sso=warn,aws_sdk_ssooidc=warn,aws_sdk_sts=warn,aws_sdk_signin=warn";

fn main() -> ExitCode {
    // No panic reaches the user as a crash: a bug ends with one line and exit 1 (and with a
    // closed or full stderr, quietly).
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        codex_auth::report::stderr_line(&format!(
            "internal error{at}: {what}. This is a bug in codex; please report it"
        ));
        std::process::exit(1);
    }));
    let cli = match codex_auth::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors: clap's message on stderr, exit 2, with the values it quotes escaped.
        Err(e) if e.use_stderr() => escape_quoted_values(e).exit(),
        // --help and --version: clap would swallow a failed write; a full disk is an error.
        Err(e) => {
            return match codex_auth::report::stdout_text(&e.render().to_string()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    codex_auth::report::stderr_line(&format!(
                        "cannot write to standard output: {err}"
                    ));
                    ExitCode::FAILURE
                }
            };
        }
    };
    if let Some(filter) = std::env::var_os("RUST_LOG").filter(|v| !v.is_empty()) {
        let filter = tracing_subscriber::EnvFilter::new(format!(
            "{},{QUIET_DEPENDENCIES}",
            filter.to_string_lossy()
        ));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    match codex_auth::run(cli) {
        Ok(code) => code,
        Err(err) => {
            codex_auth::report::stderr_line(&err.to_string());
            ExitCode::FAILURE
        }
    }
}

/// clap quotes what it refused (`invalid value '…' for '--account <NAME>'`, an unknown argument,
/// a suggestion built from it) as typed: an ESC there would drive the terminal. Every text in the
/// error's context goes through the one escaping function before clap renders it.
fn escape_quoted_values(mut error: clap::Error) -> clap::Error {
    use clap::error::ContextValue;
    use codex_auth::untrusted::{printable, terminal_safe};
    let escaped: Vec<_> = error
        .context()
        .filter_map(|(kind, value)| {
            let value = match value {
                ContextValue::String(text) => ContextValue::String(printable(text).into_owned()),
                ContextValue::Strings(texts) => {
                    ContextValue::Strings(texts.iter().map(|t| printable(t).into_owned()).collect())
                }
                ContextValue::StyledStr(text) => {
                    ContextValue::StyledStr(terminal_safe(&text.to_string()).into_owned().into())
                }
                ContextValue::StyledStrs(texts) => ContextValue::StyledStrs(
                    texts
                        .iter()
                        .map(|t| terminal_safe(&t.to_string()).into_owned().into())
                        .collect(),
                ),
                // Flags, counts and whatever a later clap adds: nothing typed by the user.
                _ => return None,
            };
            Some((kind, value))
        })
        .collect();
    for (kind, value) in escaped {
        error.insert(kind, value);
    }
    error
}
