//! Notices: what a lower layer (store, token, exec) has to tell the user while it works, without
//! printing it itself. The layer hands a `Notice` to a `Notify` (the command's reporter), which
//! decides how it is shown (a line on stderr, or a `note` event with `--json`).

/// How much a notice matters to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information: progress, a retry, a hint.
    Note,
    /// Something the user should act on (plain-text fallback, a copy left behind).
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    /// One line for people; never a secret.
    pub text: String,
}

impl Notice {
    pub fn note(text: impl Into<String>) -> Notice {
        Notice {
            level: Level::Note,
            text: text.into(),
        }
    }

    pub fn warning(text: impl Into<String>) -> Notice {
        Notice {
            level: Level::Warning,
            text: text.into(),
        }
    }
}

/// Where notices go. Implemented by the reporter; `Silent` drops them.
pub trait Notify: Send + Sync {
    fn notify(&self, notice: Notice);
}

/// Drops every notice (for internal calls whose notices would only repeat).
pub struct Silent;

impl Notify for Silent {
    fn notify(&self, _notice: Notice) {}
}
