//! The program's error: one variant per module error. Every message is written for the user and
//! is printed as it is; none carries a secret.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Login(#[from] crate::login::LoginError),
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    #[error(transparent)]
    Credential(#[from] crate::credential::CredentialError),
    /// Standard output could not be written (a full disk, say; a closed pipe is not an error).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}
