//! Credentials (an image's login, an HTTP check's basic authentication), kept so that they can
//! never be printed by accident.

use std::fmt;
use std::path::PathBuf;

/// Where a password comes from. Its `Debug` never shows the password itself.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// Written in the lab file.
    Literal(String),
    /// Read from this environment variable when needed.
    Env(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Password::Literal(<redacted>)"),
            Self::Env(name) => write!(f, "Password::Env({name:?})"),
        }
    }
}

/// Where a private key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateKey {
    /// A key file (already resolved against the lab file's folder; `~` left for the caller).
    Path(PathBuf),
    /// An environment variable holding the key's text or the path of a key file.
    Env(String),
}

/// HTTP basic authentication an `http` check sends (`user` with `password` or `password_env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user.
    pub user: String,
    /// Its password.
    pub password: Password,
}

/// How labctl logs in to VMs made from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The login user.
    pub user: String,
    /// Password, if any.
    pub password: Option<Password>,
    /// Private key, if any.
    pub key: Option<PrivateKey>,
    /// SSH port inside the guest.
    pub port: u16,
}
