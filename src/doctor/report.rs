//! The doctor's reporter, the only part of it that prints: the rows as text grouped by section
//! (stdout), or as one JSON object with `--json`; and, while the checks run, a spinner naming
//! what is still being checked (stderr, only when stderr is a terminal).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::{Group, Options, Row, Status};

fn mark(status: Status) -> &'static str {
    match status {
        Status::Ok => "✓",
        Status::Warn => "⚠",
        Status::Fail => "✗",
        Status::Skip => "-",
    }
}

/// Prints the report on stdout. A closed stdout is not an error worth reporting.
pub fn print(rows: &[Row], options: &Options) {
    let text = if options.json {
        format!("{}\n", as_json(rows, options))
    } else {
        as_text(rows)
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn count(rows: &[Row], status: Status) -> usize {
    rows.iter().filter(|r| r.status == status).count()
}

fn as_text(rows: &[Row]) -> String {
    let mut out = String::new();
    for group in Group::ALL {
        let mut in_group = rows.iter().filter(|r| r.group == group).peekable();
        if in_group.peek().is_none() {
            continue;
        }
        out.push_str(group.title());
        out.push('\n');
        for row in in_group {
            out.push_str(&format!(
                "  {} {}: {}\n",
                mark(row.status),
                row.name,
                row.found
            ));
            if let Some(fix) = &row.fix {
                out.push_str(&format!("      → {fix}\n"));
            }
        }
    }
    let (fail, warn) = (count(rows, Status::Fail), count(rows, Status::Warn));
    let plural = |n: usize, word: &str| match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    };
    out.push('\n');
    out.push_str(&match (fail, warn) {
        (0, 0) => "No problems found.\n".to_string(),
        (0, w) => format!("No problems found; {} (⚠ above).\n", plural(w, "warning")),
        (f, 0) => format!("{} (✗ above).\n", plural(f, "problem")),
        (f, w) => format!(
            "{} and {} (✗ and ⚠ above).\n",
            plural(f, "problem"),
            plural(w, "warning")
        ),
    });
    out
}

fn as_json(rows: &[Row], options: &Options) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "group": r.group.id(),
                "check": r.name,
                "status": r.status.as_str(),
                "found": r.found,
                "fix": r.fix,
            })
        })
        .collect();
    json!({
        "ok": count(rows, Status::Fail) == 0,
        "version": env!("CARGO_PKG_VERSION"),
        "offline": options.offline,
        "refresh": options.refresh,
        "summary": {
            "ok": count(rows, Status::Ok),
            "warn": count(rows, Status::Warn),
            "fail": count(rows, Status::Fail),
            "skip": count(rows, Status::Skip),
        },
        "checks": checks,
    })
}

/// A spinner on stderr naming the checks still running; nothing at all when stderr is not a
/// terminal.
#[derive(Clone)]
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    pending: Arc<Mutex<Vec<String>>>,
}

/// A check in progress; dropping it takes it off the spinner.
pub struct Pending {
    progress: Progress,
    what: String,
}

impl Progress {
    pub fn start() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            {
                bar.set_style(style);
            }
            bar.set_message("Checking...");
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            pending: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn begin(&self, what: &str) -> Pending {
        self.with_pending(|p| p.push(what.to_string()));
        Pending {
            progress: self.clone(),
            what: what.to_string(),
        }
    }

    fn with_pending(&self, change: impl FnOnce(&mut Vec<String>)) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        change(&mut pending);
        if let Some(bar) = &self.bar {
            bar.set_message(if pending.is_empty() {
                "Checking...".to_string()
            } else {
                format!("Checking {}...", pending.join(", "))
            });
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let what = std::mem::take(&mut self.what);
        self.progress.with_pending(|p| {
            if let Some(i) = p.iter().position(|w| *w == what) {
                p.remove(i);
            }
        });
    }
}
