//! `codex exec`: one prompt to the configured provider, the answer streamed to stdout.

use std::process::ExitCode;

use crate::Error;
use crate::cli::ExecArgs;
use crate::config::Config;
use crate::exec::{self, ExecOptions};
use crate::report::Reporter;

pub fn run(config: &Config, args: ExecArgs) -> Result<ExitCode, Error> {
    let options = ExecOptions {
        json: args.json,
        model: args.model,
        oss: args.oss,
        prompt: args.prompt,
    };
    exec::run(config, options, &Reporter::text())?;
    Ok(ExitCode::SUCCESS)
}
