//! The real SSH connector, on libssh2 (the `ssh2` crate): TCP connect with a timeout,
//! handshake, host-key check against the VM's pin, key or password login, exec with streamed
//! output and timeouts everywhere.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::remote_error::RemoteError;
use super::session::{Connector, ExecOutput, KeyMaterial, Session, SshTarget};

/// Opens libssh2 sessions.
#[derive(Debug, Default)]
pub struct Ssh2Connector;

/// OpenSSH's fingerprint of a host key given as `type base64`: `SHA256:…`.
pub fn fingerprint(host_key: &str) -> String {
    let blob = host_key
        .split_whitespace()
        .nth(1)
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .unwrap_or_default();
    let digest = Sha256::digest(&blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

fn key_type_name(key_type: ssh2::HostKeyType) -> &'static str {
    match key_type {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Unknown => "unknown",
    }
}

impl Connector for Ssh2Connector {
    fn connect(
        &self,
        target: &SshTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Session>, RemoteError> {
        let address = target.address.to_string();
        let tcp = TcpStream::connect_timeout(&target.address, timeout).map_err(|source| {
            RemoteError::Connect {
                address: address.clone(),
                source,
            }
        })?;
        let mut session = ssh2::Session::new().map_err(|error| RemoteError::Handshake {
            address: address.clone(),
            message: error.to_string(),
        })?;
        session.set_tcp_stream(tcp);
        session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
        session
            .handshake()
            .map_err(|error| RemoteError::Handshake {
                address: address.clone(),
                message: error.to_string(),
            })?;
        let host_key = session
            .host_key()
            .map(|(blob, key_type)| {
                format!(
                    "{} {}",
                    key_type_name(key_type),
                    base64::engine::general_purpose::STANDARD.encode(blob)
                )
            })
            .ok_or_else(|| RemoteError::Handshake {
                address: address.clone(),
                message: "the server offered no host key".into(),
            })?;
        if let Some(pinned) = &target.pinned_key
            && pinned.split_whitespace().take(2).collect::<Vec<_>>()
                != host_key.split_whitespace().take(2).collect::<Vec<_>>()
        {
            return Err(RemoteError::HostKeyChanged {
                vm: target.vm.clone(),
                address,
                pinned: fingerprint(pinned),
                offered: fingerprint(&host_key),
            });
        }
        let credentials = &target.credentials;
        let mut tried = Vec::new();
        let mut last_message = String::new();
        if let Some(key) = &credentials.key {
            tried.push("key");
            let result = match key {
                KeyMaterial::File(path) => {
                    session.userauth_pubkey_file(&credentials.user, None, path, None)
                }
                KeyMaterial::Text(text) => {
                    session.userauth_pubkey_memory(&credentials.user, None, text.expose(), None)
                }
            };
            if let Err(error) = result {
                last_message = error.message().to_string();
            }
        }
        if !session.authenticated()
            && let Some(password) = &credentials.password
        {
            tried.push("password");
            if let Err(error) = session.userauth_password(&credentials.user, password.expose()) {
                last_message = error.message().to_string();
            }
        }
        if !session.authenticated() {
            return Err(RemoteError::Authentication {
                user: credentials.user.clone(),
                address,
                tried: if tried.is_empty() {
                    "no credential".into()
                } else {
                    tried.join(", ")
                },
                message: last_message,
            });
        }
        session.set_timeout(1000);
        Ok(Box::new(Ssh2Session {
            session,
            address,
            host_key,
        }))
    }
}

struct Ssh2Session {
    session: ssh2::Session,
    address: String,
    host_key: String,
}

impl Ssh2Session {
    fn channel_error(&self, what: &str, error: impl std::fmt::Display) -> RemoteError {
        RemoteError::Channel {
            what: what.to_string(),
            address: self.address.clone(),
            message: error.to_string(),
        }
    }

    fn timeout(&self, what: &str, after: Duration) -> RemoteError {
        RemoteError::Timeout {
            what: what.to_string(),
            address: self.address.clone(),
            after,
        }
    }
}

/// A libssh2 call that ran out of the session's timeout (LIBSSH2_ERROR_TIMEOUT) while the
/// command's deadline has not passed: call it again.
fn still_waiting(error: &ssh2::Error, deadline: Instant) -> bool {
    error.code() == ssh2::ErrorCode::Session(-9) && Instant::now() < deadline
}

fn timed_out(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

impl Session for Ssh2Session {
    fn host_key(&self) -> String {
        self.host_key.clone()
    }

    fn exec(
        &mut self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
        output: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput, RemoteError> {
        let deadline = Instant::now() + timeout;
        // The session's own timeout is short (it paces the reads below); a real machine just
        // booted can take longer to open a session (PAM, logind), so the calls that wait for
        // the server are resumed until the command's deadline. libssh2 keeps their state.
        let mut channel = loop {
            match self.session.channel_session() {
                Ok(channel) => break channel,
                Err(error) if still_waiting(&error, deadline) => continue,
                Err(error) => return Err(self.channel_error("opening a channel", error)),
            }
        };
        channel
            .handle_extended_data(ssh2::ExtendedData::Merge)
            .map_err(|error| self.channel_error("merging stderr", error))?;
        loop {
            match channel.exec(command) {
                Ok(()) => break,
                Err(error) if still_waiting(&error, deadline) => continue,
                Err(error) => return Err(self.channel_error("starting a command", error)),
            }
        }
        let mut written = 0;
        while written < stdin.len() {
            match channel.write(&stdin[written..]) {
                Ok(count) => written += count,
                Err(error) if timed_out(&error) && Instant::now() < deadline => continue,
                Err(error) if timed_out(&error) => {
                    return Err(self.timeout("sending input", timeout));
                }
                Err(error) => return Err(self.channel_error("sending input", error)),
            }
        }
        loop {
            match channel.send_eof() {
                Ok(()) => break,
                Err(error) if still_waiting(&error, deadline) => continue,
                Err(error) => return Err(self.channel_error("closing input", error)),
            }
        }
        let mut collected = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match channel.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => {
                    output(&buffer[..count]);
                    collected.extend_from_slice(&buffer[..count]);
                }
                Err(error) if timed_out(&error) => {
                    if Instant::now() > deadline {
                        let _ = channel.close();
                        return Err(self.timeout(&format!("`{}`", first_line(command)), timeout));
                    }
                }
                Err(error) => return Err(self.channel_error("reading output", error)),
            }
        }
        loop {
            match channel.wait_close() {
                Ok(()) => break,
                Err(error) if still_waiting(&error, deadline) => continue,
                Err(error) => return Err(self.channel_error("closing the channel", error)),
            }
        }
        let status = channel
            .exit_status()
            .map_err(|error| self.channel_error("reading the exit status", error))?;
        Ok(ExecOutput {
            status,
            output: collected,
        })
    }
}

fn first_line(command: &str) -> &str {
    command.lines().next().unwrap_or(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The processes below `pid` (sshd's per-connection processes below its listener).
    #[cfg(target_os = "linux")]
    fn descendants(pid: u32) -> Vec<i32> {
        let mut found = Vec::new();
        let mut parents = vec![pid as i32];
        while let Some(parent) = parents.pop() {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let stat =
                    std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
                // Fields after the command name (which may hold spaces): state, ppid, …
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok());
                if ppid == Some(parent) {
                    found.push(child);
                    parents.push(child);
                }
            }
        }
        found
    }

    /// A server slow to open a session (as a real machine just booted, with PAM and logind)
    /// still runs the command: opening the channel waits up to the command's deadline, not the
    /// session's short read timeout. A real OpenSSH sshd on loopback, its connection's
    /// processes stopped for 2.5 s while the channel opens.
    /// Linux only: it reads /proc and stops processes with signals.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_session_slow_to_open_a_channel_still_runs_the_command() {
        let sshd = std::path::Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "/usr/sbin/sshd is missing: run scripts/setup (openssh-server)"
        );
        let dir = tempfile::tempdir().unwrap();
        let keygen = |name: &str| {
            let path = dir.path().join(name);
            let status = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&path)
                .status()
                .expect("ssh-keygen (openssh-client)");
            assert!(status.success());
            path
        };
        let host_key = keygen("host");
        let client_key = keygen("client");
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 {
            // sshd as root needs its privilege separation directory.
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = std::process::Command::new(sshd)
            .args(["-D", "-e", "-f", "/dev/null", "-p", &port.to_string()])
            .arg("-h")
            .arg(&host_key)
            .args(["-o", "ListenAddress=127.0.0.1", "-o", "UsePAM=no"])
            .args(["-o", "StrictModes=no", "-o", "PidFile=none"])
            .arg("-o")
            .arg(format!("AuthorizedKeysFile={}", authorized.display()))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while TcpStream::connect(address).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let target = SshTarget {
            vm: "slow".into(),
            address,
            credentials: super::super::session::Credentials {
                user,
                password: None,
                key: Some(KeyMaterial::File(client_key)),
            },
            pinned_key: None,
        };
        let mut session = Ssh2Connector
            .connect(&target, Duration::from_secs(10))
            .expect("login");
        let stopped = descendants(server.id());
        assert!(!stopped.is_empty(), "sshd forked for the connection");
        for pid in &stopped {
            // SAFETY: signalling processes of the sshd this test started.
            unsafe { libc::kill(*pid, libc::SIGSTOP) };
        }
        let resume = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2500));
            for pid in stopped {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGCONT) };
            }
        });
        let result = session.exec("echo ran", b"", Duration::from_secs(20), &mut |_| {});
        resume.join().unwrap();
        let _ = server.kill();
        let _ = server.wait();
        let output = result.expect("the command runs once the server answers");
        assert_eq!((output.status, output.output), (0, b"ran\n".to_vec()));
    }

    #[test]
    fn fingerprints_like_openssh() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLBa1YGyhZS28F6Zare5b1bg9Q2fF4L1+ihtrGYI5H2 root@vm";
        assert_eq!(
            fingerprint(key),
            "SHA256:ZQOY+XEmZh5gA3VnhWhxhZrPOwsigKk1T2jTC6x6Zos"
        );
    }
}
