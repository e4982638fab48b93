//! `codex exec`: one prompt to the configured provider, the answer streamed to stdout.

use std::process::ExitCode;

use crate::Error;
use crate::cli::ExecArgs;
use crate::config::Config;
use crate::exec::{self, ExecOptions};
use crate::report::Reporter;

pub fn run(config: &Config, args: ExecArgs) -> Result<ExitCode, Error> {
    let mut config = config.clone();
    if let Some(name) = args.account {
        config.account = Some(name.to_string());
    }
    let config = &config;
    let out = Reporter::text();
    for warning in &config.warnings {
        out.note(warning);
    }
    let options = ExecOptions {
        json: args.json,
        model: args.model,
        oss: args.oss,
        prompt: args.prompt,
    };
    exec::run(config, options, &out)?;
    Ok(ExitCode::SUCCESS)
}
