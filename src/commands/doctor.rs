//! `codex doctor`: runs the checks (`doctor/`) with a spinner on a terminal, prints the report
//! (text, or one JSON object with `--json`) on stdout, and exits 1 when a check failed.

use std::process::ExitCode;

use crate::Error;
use crate::cli::DoctorArgs;
use crate::doctor::{self, Options};
use crate::report::{self, Checking};

pub fn run(args: DoctorArgs, overrides: &[String]) -> Result<ExitCode, Error> {
    let options = Options {
        json: args.json,
        offline: args.offline,
        refresh: args.refresh,
    };
    let checking = Checking::start();
    let rows = doctor::run(overrides, &options, &checking);
    checking.finish();
    let text = if options.json {
        format!("{}\n", doctor::render::json(&rows, &options))
    } else {
        doctor::render::text(&rows)
    };
    report::stdout_text(&text).map_err(Error::Stdout)?;
    Ok(if doctor::failed(&rows) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
