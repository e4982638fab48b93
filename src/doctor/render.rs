//! The report as text (rows grouped by section, each with its fix) or as one JSON object. Only
//! rendered here; `commands::doctor` prints it. Rows quote what servers, proxies, files and
//! tokens said, so every text of a row is shown through `untrusted::printable` here, in both
//! forms: the one place no row can get past on its way to stdout.

use serde_json::json;

use crate::untrusted::printable;

use super::{Group, Options, Row, Status};

fn mark(status: Status) -> &'static str {
    match status {
        Status::Ok => "✓",
        Status::Warn => "⚠",
        Status::Fail => "✗",
        Status::Skip => "-",
    }
}

fn count(rows: &[Row], status: Status) -> usize {
    rows.iter().filter(|r| r.status == status).count()
}

pub fn text(rows: &[Row]) -> String {
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
                printable(&row.name),
                printable(&row.found)
            ));
            if let Some(fix) = &row.fix {
                out.push_str(&format!("      → {}\n", printable(fix)));
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

pub fn json(rows: &[Row], options: &Options) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "group": r.group.id(),
                "check": printable(&r.name),
                "status": r.status.as_str(),
                "found": printable(&r.found),
                "fix": r.fix.as_deref().map(printable),
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
