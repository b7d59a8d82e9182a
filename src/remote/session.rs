//! The SSH seam: a [`Connector`] opens [`Session`]s to guests. The real one is `Ssh2Connector`;
//! tests pass fakes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::remote_error::RemoteError;
use super::secret::Secret;

/// A private key.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// A key file.
    File(PathBuf),
    /// The key's text.
    Text(Secret),
}

/// How to log in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User.
    pub user: String,
    /// Password, if any.
    pub password: Option<Secret>,
    /// Private key, if any.
    pub key: Option<KeyMaterial>,
}

/// Where and as whom to connect, and which host key to expect.
#[derive(Debug, Clone)]
pub struct SshTarget {
    /// The VM (lab name), for messages.
    pub vm: String,
    /// Address.
    pub address: SocketAddr,
    /// Credentials.
    pub credentials: Credentials,
    /// The host key pinned for this VM (`type base64`), if any.
    pub pinned_key: Option<String>,
}

/// The result of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status.
    pub status: i32,
    /// Output (stdout and stderr, merged in arrival order).
    pub output: Vec<u8>,
}

impl ExecOutput {
    /// The output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

/// An open, authenticated SSH session to one guest.
pub trait Session: Send {
    /// The host key the server offered, as `type base64`.
    fn host_key(&self) -> String;

    /// Runs `command` through the login shell, feeding `stdin`, streaming output to `output`.
    fn exec(
        &mut self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
        output: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput, RemoteError>;
}

/// Opens sessions.
pub trait Connector: Sync {
    /// Connects, checks the host key against the pin, and logs in.
    fn connect(
        &self,
        target: &SshTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Session>, RemoteError>;
}
