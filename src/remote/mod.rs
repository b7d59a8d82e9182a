//! Talking to guests over SSH: connecting with pinned host keys, running commands, sending
//! files. The `Connector`/`Session` traits are the seam; `Ssh2Connector` the real thing.

pub mod guest_shell;
pub mod remote_error;
pub mod secret;
pub mod session;
pub mod ssh2_connector;

pub use remote_error::RemoteError;
pub use secret::Secret;
pub use session::{Connector, Credentials, ExecOutput, KeyMaterial, Session, SshTarget};
pub use ssh2_connector::{Ssh2Connector, fingerprint};
