//! Transcripts for snapshot tests: each run of the binary as it would look in a terminal
//! session (command, exit code, stdout, stderr), with only what differs from run to run
//! replaced by a `[NAME]`: temp paths, peer URLs, ports, timestamps, random codes.

use super::keyring::Session;
use super::{Env, Run};

#[derive(Default)]
pub struct Transcript {
    text: String,
    /// Literal values and what replaces them, longest first when applied.
    redactions: Vec<(String, String)>,
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript::default()
    }

    /// A transcript of runs in `env`: its temp dir reads `[TMP]` and its keyring account
    /// `[ACCOUNT]`.
    pub fn of(env: &Env) -> Transcript {
        let mut t = Transcript::new();
        t.redact(super::keyring::account(env), "[ACCOUNT]");
        if let Ok(canonical) = std::fs::canonicalize(env.dir.path()) {
            t.redact(canonical.display().to_string(), "[TMP]");
        }
        t.redact(env.dir.path().display().to_string(), "[TMP]");
        t
    }

    /// Replaces every occurrence of `value` by `label`.
    pub fn redact(&mut self, value: impl Into<String>, label: &str) -> &mut Transcript {
        let value = value.into();
        assert!(!value.is_empty(), "redacting an empty string");
        self.redactions.push((value, label.to_string()));
        self
    }

    /// Records one run under the command line that made it (`codex` + `args`).
    pub fn push(&mut self, args: &[&str], run: &Run) -> &mut Transcript {
        self.push_titled(&title(&[], args, None), run)
    }

    /// Records one run under a title of the caller's (a command line with its input, say).
    pub fn push_titled(&mut self, title: &str, run: &Run) -> &mut Transcript {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text
            .push_str(&format!("$ {title}\n[exit {}]\n", run.code));
        for (name, stream) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            if stream.is_empty() {
                continue;
            }
            self.text.push_str(&format!("[{name}]\n{stream}"));
            if !stream.ends_with('\n') {
                self.text.push_str("\n[no newline at the end]\n");
            }
        }
        self
    }

    /// Free text (a screen, a note on what the next run checks).
    pub fn note(&mut self, text: &str) -> &mut Transcript {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(text);
        if !text.ends_with('\n') {
            self.text.push('\n');
        }
        self
    }

    /// Runs `codex args` in `env` and records it.
    pub fn run(&mut self, env: &Env, args: &[&str]) -> Run {
        self.run_with(env, &[], args, None)
    }

    /// The same with `stdin` piped in (shown in the title).
    pub fn run_stdin(&mut self, env: &Env, args: &[&str], stdin: &[u8]) -> Run {
        self.run_with(env, &[], args, Some(stdin))
    }

    /// The same with extra environment variables (shown in the title, as a shell would take
    /// them) and optionally `stdin`.
    pub fn run_with(
        &mut self,
        env: &Env,
        vars: &[(&str, &str)],
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Run {
        let mut cmd = env.cmd(args);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let run = super::run_cmd(cmd, stdin);
        self.push_titled(&title(vars, args, stdin), &run);
        run
    }

    /// Runs `codex args` in `env` on `session`'s bus, optionally with `stdin`, and records it.
    pub fn run_on(
        &mut self,
        session: &Session,
        env: &Env,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Run {
        let run = super::run_cmd(session.codex(env, args), stdin);
        self.push_titled(&title(&[], args, stdin), &run);
        run
    }

    /// The redacted text, for `insta::assert_snapshot!`.
    pub fn finish(&self) -> String {
        normalize(&self.text, &self.redactions)
    }
}

/// `[printf %s INPUT |] [NAME=VALUE ...] codex ARGS`, quoted as a shell would need it.
pub fn title(vars: &[(&str, &str)], args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(input) = stdin {
        words.push(format!("printf {} |", printf_format(input)));
    }
    words.extend(
        vars.iter()
            .map(|(name, value)| format!("{name}={}", quote(value))),
    );
    words.push("codex".to_string());
    words.extend(args.iter().map(|a| quote(a)));
    words.join(" ")
}

/// `input` as a quoted printf format: control characters and bytes that are not text as
/// escapes, so a title stays on one line and shows exactly what was piped in.
fn printf_format(input: &[u8]) -> String {
    let mut out = String::from("'");
    let text = String::from_utf8(input.to_vec());
    let chars: Vec<char> = match &text {
        Ok(text) => text.chars().collect(),
        Err(_) => input.iter().map(|&b| b as char).collect(),
    };
    for c in chars {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            '\'' => out.push_str("'\\''"),
            c if c.is_ascii_graphic() || c == ' ' || (text.is_ok() && !c.is_control()) => {
                out.push(c)
            }
            c => out.push_str(&format!("\\{:03o}", c as u32)),
        }
    }
    out.push('\'');
    out
}

/// Shell-like quoting, so a title can be pasted into a shell.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The literal redactions (longest value first), then the patterns of what always varies:
/// timestamps and spans of time, loopback ports, and the random parts of authorize URLs.
pub fn normalize(text: &str, redactions: &[(String, String)]) -> String {
    use regex_lite::Regex;
    let mut sorted: Vec<&(String, String)> = redactions.iter().collect();
    sorted.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    let mut out = text.to_string();
    for (value, label) in sorted {
        out = out.replace(value.as_str(), label);
    }
    let patterns = [
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIME]",
        ),
        (r"\(in \d+ (s|min|h|days)\)", "(in [SPAN])"),
        (
            r"\(expired \d+ (s|min|h|days) ago\)",
            "(expired [SPAN] ago)",
        ),
        (r"(127\.0\.0\.1|localhost)(:|%3A)\d{2,5}", "$1$2[PORT]"),
        (r#""port":\d+"#, r#""port":[PORT]"#),
        (r"([?&](state|code_challenge)=)[A-Za-z0-9_\-]+", "$1[$2]"),
        (r"\bcli\|[0-9a-f]{16}\b", "[ACCOUNT]"),
    ];
    for (pattern, with) in patterns {
        out = Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}
