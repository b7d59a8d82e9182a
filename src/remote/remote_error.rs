//! Why talking to a guest over SSH failed: one variant per step of the conversation.

use std::time::Duration;

/// A failed SSH operation.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No TCP connection.
    #[error("cannot connect to {address}")]
    Connect {
        /// `host:port`.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The SSH handshake failed (not an SSH server, or it hung up).
    #[error("SSH handshake with {address} failed: {message}")]
    Handshake {
        /// `host:port`.
        address: String,
        /// Why.
        message: String,
    },
    /// The guest's host key is not the one pinned for this VM.
    #[error(
        "the SSH host key of `{vm}` ({address}) changed: pinned {pinned}, offered {offered}; refusing to connect (if the VM was rebuilt on purpose, `labctl destroy {vm}` then `labctl up` pins the new key)"
    )]
    HostKeyChanged {
        /// The VM.
        vm: String,
        /// `host:port`.
        address: String,
        /// Fingerprint pinned on first contact.
        pinned: String,
        /// Fingerprint offered now.
        offered: String,
    },
    /// No credential was accepted.
    #[error("`{user}` could not log in to {address} ({tried}): {message}")]
    Authentication {
        /// The user.
        user: String,
        /// `host:port`.
        address: String,
        /// What was tried ("key", "password").
        tried: String,
        /// The server's or library's message.
        message: String,
    },
    /// A channel, exec or transfer failed.
    #[error("{what} on {address} failed: {message}")]
    Channel {
        /// What was being done.
        what: String,
        /// `host:port`.
        address: String,
        /// Why.
        message: String,
    },
    /// It took too long.
    #[error("{what} on {address} timed out after {} s", after.as_secs())]
    Timeout {
        /// What was being done.
        what: String,
        /// `host:port`.
        address: String,
        /// The limit.
        after: Duration,
    },
    /// The run was interrupted.
    #[error("interrupted")]
    Interrupted,
}
