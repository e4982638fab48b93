//! `codex completion <shell>`: a completion script on stdout.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Error;
use crate::cli::Cli;

pub fn run(shell: Shell) -> Result<ExitCode, Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "codex", &mut script);
    crate::report::stdout_text(&String::from_utf8_lossy(&script)).map_err(Error::Stdout)?;
    Ok(ExitCode::SUCCESS)
}
