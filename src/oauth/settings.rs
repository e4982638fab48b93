//! Who issues ChatGPT sign-in tokens and how it speaks: `[auth]` in config.toml, `CODEX_AUTH_*`
//! variables, or `codex login --issuer/--client-id`, in rising order of precedence.

use serde::{Deserialize, Serialize};

pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
pub const DEFAULT_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Scopes asked of a standard OpenID Connect provider unless `[auth] scopes` says otherwise.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// How the issuer behaves: OpenAI's ChatGPT issuer, or any standards-compliant OpenID Connect
/// provider (endpoints from discovery, no OpenAI-only parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Oidc,
}

impl Protocol {
    pub const CHOICES: &'static [(&'static str, Protocol)] =
        &[("openai", Protocol::OpenAi), ("oidc", Protocol::Oidc)];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Oidc => "oidc",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        Protocol::CHOICES
            .iter()
            .find(|(name, _)| *name == text.trim())
            .map(|(_, p)| *p)
    }
}

/// `oauth_provenance.protocol` as stored: ours writes "openai" or "oidc"; a value a later
/// version wrote is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredProtocol {
    Known(Protocol),
    Unknown(String),
}

impl Serialize for StoredProtocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StoredProtocol::Known(p) => s.serialize_str(p.as_str()),
            StoredProtocol::Unknown(text) => s.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for StoredProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match Protocol::parse(&text) {
            Some(p) if p.as_str() == text => StoredProtocol::Known(p),
            Some(_) | None => StoredProtocol::Unknown(text),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Without a trailing slash.
    pub issuer: String,
    pub client_id: String,
    pub protocol: Protocol,
    /// `None`: the protocol's default scopes.
    pub scopes: Option<Vec<String>>,
    /// True when no setting named the protocol, so it follows the issuer.
    pub protocol_was_defaulted: bool,
    /// `CODEX_AUTHAPI_BASE_URL`, without its trailing slash: where personal access tokens are
    /// looked up. `None`: `{issuer}/api/accounts` (the reference's default for OpenAI's issuer).
    pub authapi: Option<String>,
}

/// An issuer value that is not an http(s) URL; `source` names the setting it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIssuer {
    pub source: String,
    pub value: String,
}

impl AuthSettings {
    /// Settings for tokens minted by a known issuer (`tokens.oauth_provenance`). The protocol
    /// is the stored one; without one the document was written by the reference CLI, which only
    /// speaks the OpenAI protocol, whatever the issuer URL.
    pub fn for_issuer(
        &self,
        issuer: &str,
        client_id: &str,
        stored: Option<&StoredProtocol>,
    ) -> AuthSettings {
        let issuer = issuer.trim_end_matches('/').to_string();
        let protocol = match stored {
            Some(StoredProtocol::Known(p)) => *p,
            None => Protocol::OpenAi,
            Some(StoredProtocol::Unknown(_)) if issuer == self.issuer => self.protocol,
            Some(StoredProtocol::Unknown(_)) => default_protocol(&issuer),
        };
        AuthSettings {
            issuer,
            client_id: client_id.to_string(),
            protocol,
            scopes: self.scopes.clone(),
            protocol_was_defaulted: false,
            authapi: self.authapi.clone(),
        }
    }

    /// Applies `--issuer` / `--client-id` from the command line.
    pub fn override_with(
        &mut self,
        issuer: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<(), BadIssuer> {
        if let Some(raw) = issuer {
            let issuer = checked_issuer(raw, "--issuer")?;
            if self.protocol_was_defaulted {
                self.protocol = default_protocol(&issuer);
            }
            self.issuer = issuer;
        }
        if let Some(id) = client_id {
            self.client_id = id.to_string();
        }
        Ok(())
    }

    /// The base URL of the issuer's account API (personal access token lookups).
    pub fn authapi_base(&self) -> String {
        match &self.authapi {
            Some(base) => base.clone(),
            None => format!("{}/api/accounts", self.issuer),
        }
    }

    /// The scopes asked of a standard OpenID Connect provider.
    pub fn oidc_scopes(&self) -> Vec<String> {
        match &self.scopes {
            Some(s) => s.clone(),
            None => OIDC_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// How the issuer is named to people: "ChatGPT" for one that speaks OpenAI's protocol
    /// (whatever its URL: a ChatGPT sign-in all the same), else its host.
    pub fn display_name(&self) -> String {
        match self.protocol {
            Protocol::OpenAi => "ChatGPT".to_string(),
            Protocol::Oidc => url::Url::parse(&self.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| self.issuer.clone()),
        }
    }
}

/// The protocol an issuer speaks when no setting names one.
pub fn default_protocol(issuer: &str) -> Protocol {
    if issuer == DEFAULT_ISSUER {
        Protocol::OpenAi
    } else {
        Protocol::Oidc
    }
}

/// An issuer URL without its trailing slash, or why it is refused.
pub fn checked_issuer(raw: &str, source: &str) -> Result<String, BadIssuer> {
    crate::http::http_url(raw).ok_or_else(|| BadIssuer {
        source: source.to_string(),
        value: crate::secret::shown_url(raw),
    })
}
