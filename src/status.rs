//! `codex login status`: how the user is signed in, read from the store without a network call.
//! Text goes to stderr (as the reference prints it); `--json` prints one object on stdout.

use std::process::ExitCode;

use serde_json::json;

use crate::auth::Usability;
use crate::config::Config;
use crate::store::{self, StoreError};

/// The guide's table of what an API key gives up, for the current sign-in (no network call).
const API_KEY_GIVES_UP: &str = "Cloud tasks, fast mode and day-one access to the newest models need a ChatGPT plan: codex logout, then codex login.";
const CHATGPT_UNLOCKS: &str =
    "Your ChatGPT plan unlocks cloud tasks, fast mode and day-one access to the newest models.";

pub fn run(config: &Config, json_output: bool) -> Result<ExitCode, StoreError> {
    let store = store::open(config)?;
    let loaded = store.load();
    let (logged_in, mode, api_key, text, reason) = match &loaded {
        Ok(None) => (false, None, None, "Not logged in".to_string(), None),
        Ok(Some(doc)) => match doc.usability() {
            Usability::ApiKey { masked } => (
                true,
                Some("apikey"),
                Some(masked.clone()),
                format!("API key configured - {masked}\n{API_KEY_GIVES_UP}"),
                None,
            ),
            Usability::ChatGpt => (
                true,
                Some("chatgpt"),
                None,
                format!("Logged in using ChatGPT\n{CHATGPT_UNLOCKS}"),
                None,
            ),
            Usability::AgentIdentity => (
                true,
                Some("agentIdentity"),
                None,
                "Logged in using an agent identity".to_string(),
                None,
            ),
            Usability::Unusable { reason } => (
                false,
                None,
                None,
                format!(
                    "Not logged in: `{}` holds no usable credentials ({reason}). Run `codex login` to sign in.",
                    store.location()
                ),
                Some(reason),
            ),
        },
        Err(err @ StoreError::Malformed { .. }) => (
            false,
            None,
            None,
            format!(
                "Not logged in: {err}. Fix the file, or run `codex login` to replace it (the old file is kept as a .bak)."
            ),
            Some(err.to_string()),
        ),
        Err(_) => return loaded.map(|_| ExitCode::FAILURE),
    };
    if json_output {
        let mut object = json!({
            "logged_in": logged_in,
            "mode": mode,
            "api_key": api_key,
            "store": store.kind().as_str(),
            "path": store.location(),
        });
        if let Some(reason) = reason {
            object["problem"] = json!(reason);
        }
        println!("{object}");
    } else {
        eprintln!("{text}");
    }
    Ok(if logged_in {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
