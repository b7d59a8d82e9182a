//! `labctl ssh`: an interactive SSH session to a VM through the system's OpenSSH client, which
//! accepts only the host key labctl pinned for that VM. The password, when the image has one,
//! reaches ssh through `SSH_ASKPASS` (labctl answers as the askpass program), never through
//! the command line or the terminal.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::lab_session::LabSession;
use super::{Ui, cancel_flag, select_vms};
use crate::cli::SshArgs;
use crate::error::Error;
use crate::exec::RuntimeContext;
use crate::exit_code;
use crate::remote::KeyMaterial;

/// Set in the environment of `ssh` so that labctl, run again as its askpass program, answers
/// with the password.
pub(crate) const ASKPASS_SECRET: &str = "LABCTL_ASKPASS_SECRET";

/// When labctl runs as ssh's askpass program: prints the password for a password prompt (and
/// refuses anything else, such as a host-key confirmation). Returns None otherwise.
pub(crate) fn answer_askpass(args: &[std::ffi::OsString]) -> Option<u8> {
    let secret = std::env::var(ASKPASS_SECRET).ok()?;
    std::env::var_os("SSH_ASKPASS")?;
    let prompt = args
        .get(1)
        .map(|prompt| prompt.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if prompt.contains("password") {
        println!("{secret}");
        Some(exit_code::OK)
    } else {
        Some(exit_code::HOST_ERROR)
    }
}

/// Files that live as long as the ssh process: the pinned known_hosts and a private key
/// given as text.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn private_file(dir: &std::path::Path, name: &str, content: &str) -> Result<PathBuf, Error> {
    use std::io::Write;
    let path = dir.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Readable by the user alone (on Windows the state folder's inherited ACL is the user's).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)
        .and_then(|mut file| file.write_all(content.as_bytes()))
        .map_err(|source| Error::File {
            action: "write",
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// The null device, for OpenSSH options that take a file (Windows' OpenSSH reads `NUL`).
#[cfg(windows)]
const NULL_DEVICE: &str = "NUL";
/// The null device, for OpenSSH options that take a file.
#[cfg(not(windows))]
const NULL_DEVICE: &str = "/dev/null";

/// OpenSSH's host-key algorithms for a key type (RSA keys sign with SHA-2 today).
fn host_key_algorithms(key_type: &str) -> String {
    if key_type == "ssh-rsa" {
        "rsa-sha2-512,rsa-sha2-256,ssh-rsa".to_string()
    } else {
        key_type.to_string()
    }
}

/// `labctl ssh [FILE] VM [-- COMMAND…]`.
pub(crate) fn ssh(ui: &Ui, args: &SshArgs) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &[]);
    let session = LabSession::open(ui, &lab_arg, None)?;
    let vm = match select_vms(&session.lab, &names)?.as_slice() {
        [vm] => *vm,
        _ => {
            return Err(Error::Usage(
                "name exactly one VM: `labctl ssh web1`".into(),
            ));
        }
    };
    let inventory = session.inventory(false)?;
    let context = RuntimeContext::from_inventory(&session.lab, &inventory);
    let uuid = context.uuids.get(&vm.name).cloned().ok_or_else(|| {
        Error::Refused(format!(
            "`{}` does not exist in VirtualBox: run `labctl up` first",
            vm.name
        ))
    })?;
    let connector = crate::remote::Ssh2Connector;
    let guests =
        session.guest_access(&connector, context, cancel_flag(), Duration::from_secs(30))?;
    // Connecting once through labctl pins the host key on first contact, or refuses a changed
    // one, before OpenSSH is handed the pin.
    drop(
        guests
            .connect(vm, Instant::now() + Duration::from_secs(30))
            .map_err(Error::Remote)?,
    );
    let address = guests
        .ssh_address(vm)
        .map_err(Error::Remote)?
        .ok_or_else(|| Error::Remote(format!("`{}` has no address yet", vm.name)))?;
    let pinned = guests
        .host_keys
        .get(&uuid)
        .ok_or_else(|| Error::Remote(format!("no host key is pinned for `{}`", vm.name)))?;
    let key_type = pinned
        .key
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    let credentials = guests
        .credentials
        .get(&vm.image)
        .cloned()
        .ok_or_else(|| Error::Config(format!("no credentials for image `{}`", vm.image)))?;

    let dir = session.state.dir().to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|source| Error::File {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    let host = if address.port() == 22 {
        address.ip().to_string()
    } else {
        format!("[{}]:{}", address.ip(), address.port())
    };
    let mut scratch = Scratch(Vec::new());
    let known_hosts = private_file(&dir, "known_hosts", &format!("{host} {}\n", pinned.key))?;
    scratch.0.push(known_hosts.clone());

    let mut command = Command::new("ssh");
    command
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-o")
        .arg(format!("GlobalKnownHostsFile={NULL_DEVICE}"))
        .args(["-o", "StrictHostKeyChecking=yes"])
        .args(["-o", "UpdateHostKeys=no"])
        .arg("-o")
        .arg(format!(
            "HostKeyAlgorithms={}",
            host_key_algorithms(&key_type)
        ))
        .args(["-o", "LogLevel=ERROR"])
        .arg("-p")
        .arg(address.port().to_string())
        .arg("-l")
        .arg(&credentials.user);
    match &credentials.key {
        Some(KeyMaterial::File(path)) => {
            command
                .arg("-i")
                .arg(path)
                .args(["-o", "IdentitiesOnly=yes"]);
        }
        Some(KeyMaterial::Text(text)) => {
            let path = private_file(&dir, "identity", text.expose())?;
            scratch.0.push(path.clone());
            command
                .arg("-i")
                .arg(path)
                .args(["-o", "IdentitiesOnly=yes"]);
        }
        None => {}
    }
    if let Some(password) = &credentials.password {
        let me = std::env::current_exe().map_err(|source| Error::File {
            action: "find",
            path: PathBuf::from("labctl"),
            source,
        })?;
        command
            .env("SSH_ASKPASS", me)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env(ASKPASS_SECRET, password.expose())
            .args(["-o", "NumberOfPasswordPrompts=1"]);
    }
    command.arg(address.ip().to_string());
    if !args.command.is_empty() {
        command.args(&args.command);
    }
    let status = command.status().map_err(|source| Error::File {
        action: "run",
        path: PathBuf::from("ssh (install openssh-client)"),
        source,
    })?;
    drop(scratch);
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .unwrap_or(exit_code::HOST_ERROR))
}
