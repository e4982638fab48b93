//! `codex login status`: how the user is signed in, read from the store without a network call.
//! Text goes to stderr (as the reference prints it); `--json` prints one object on stdout. Both
//! say which store holds the credentials (text: a second line unless it is the plain file mode).

use std::process::ExitCode;

use serde_json::json;

use crate::auth::Usability;
use crate::config::{Config, StoreMode};
use crate::store::{ConfiguredStore, CredentialStore, StoreError, StoreKind};

pub fn run(config: &Config, json_output: bool) -> Result<ExitCode, StoreError> {
    let store = ConfiguredStore::new(config);
    let loaded = store.load();
    let place = match store.kind() {
        StoreKind::File => format!("`{}`", store.location()),
        StoreKind::Keyring => store.location(),
    };
    let (logged_in, mode, api_key, text, reason) = match &loaded {
        Ok(None) => (false, None, None, "Not logged in".to_string(), None),
        Ok(Some(doc)) => match doc.usability() {
            Usability::ApiKey { masked } => (
                true,
                Some("apikey"),
                Some(masked.clone()),
                format!("API key configured - {masked}"),
                None,
            ),
            Usability::ChatGpt => (
                true,
                Some("chatgpt"),
                None,
                "Logged in using ChatGPT".to_string(),
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
                    "Not logged in: {place} holds no usable credentials ({reason}). Run `codex login` to sign in."
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
        Err(err @ StoreError::KeyringMalformed { .. }) => (
            false,
            None,
            None,
            format!("Not logged in: {err}. Run `codex login` to replace them."),
            Some(err.to_string()),
        ),
        Err(_) => return loaded.map(|_| ExitCode::FAILURE),
    };
    let kind = store.kind();
    let unchecked = match &loaded {
        Ok(None) => store.keyring_problem(),
        Ok(Some(_)) | Err(_) => None,
    };
    if json_output {
        let mut object = json!({
            "logged_in": logged_in,
            "mode": mode,
            "api_key": api_key,
            "store": kind.as_str(),
            "path": match kind {
                StoreKind::File => Some(store.location()),
                StoreKind::Keyring => None,
            },
        });
        if kind == StoreKind::Keyring {
            object["keyring_service"] = json!(crate::store::keyring::SERVICE);
            object["keyring_account"] = json!(store.keyring().account());
        }
        if let Some(reason) = reason {
            object["problem"] = json!(reason);
        }
        if let Some(cause) = &unchecked {
            object["keyring_unchecked"] = json!(cause.to_string());
        }
        println!("{object}");
    } else {
        eprintln!("{text}");
        // The plain file mode keeps the reference's exact output; the auto-mode warning has
        // already said where the credentials are.
        let plain_file = store.mode() == StoreMode::File && kind == StoreKind::File;
        if logged_in && !plain_file && !store.warned() {
            eprintln!("Stored in {}", store.location());
        }
        if let Some(cause) = &unchecked {
            eprintln!(
                "note: {} was not checked for credentials: {cause}; {}",
                store.keyring().describe(),
                cause.remedy()
            );
        }
    }
    Ok(if logged_in {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
