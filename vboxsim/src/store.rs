//! The persistent state of one VirtualBox: a JSON document under `VBOX_USER_HOME`, changed
//! read-modify-write under an exclusive flock (as VBoxSVC serialises clients) and replaced
//! atomically (temp + fsync + rename), so a process killed at any point leaves it consistent.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::model::machine::PowerState;
use crate::model::state::State;

/// Handle on one VirtualBox's state directory.
#[derive(Clone, Debug)]
pub struct Store {
    pub home: PathBuf,
}

/// An exclusive hold on the store; released when dropped (or when the process dies).
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// `VBOX_USER_HOME`, else `$HOME/.config/VirtualBox` (VirtualBox's own default on Linux).
    pub fn from_env() -> Store {
        let home = match std::env::var_os("VBOX_USER_HOME") {
            Some(h) if !h.is_empty() => PathBuf::from(h),
            _ => {
                let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
                PathBuf::from(home).join(".config/VirtualBox")
            }
        };
        Store { home }
    }

    pub fn at(home: &Path) -> Store {
        Store {
            home: home.to_path_buf(),
        }
    }

    fn state_path(&self) -> PathBuf {
        self.home.join("vboxsim-state.json")
    }

    /// Takes the registry lock (blocking): held by registry-changing commands (import, clonevm,
    /// unregistervm) for their modelled duration, so they run one after another as VBoxSVC runs
    /// them, while the state lock stays free for everything else.
    pub fn registry_lock(&self) -> Result<StoreLock, String> {
        self.flock("vboxsim-registry.lock")
    }

    /// Takes the network lock (blocking): held while the world's bridges are brought in line
    /// with the state, so that VMs starting at once do not race on the same bridge.
    pub fn network_lock(&self) -> Result<StoreLock, String> {
        self.flock("vboxsim-network.lock")
    }

    /// Takes the global lock (blocking). Every change of the state happens under it.
    pub fn lock(&self) -> Result<StoreLock, String> {
        self.flock("vboxsim.lock")
    }

    fn flock(&self, name: &str) -> Result<StoreLock, String> {
        fs::create_dir_all(&self.home)
            .map_err(|e| format!("cannot create {}: {e}", self.home.display()))?;
        let path = self.home.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        loop {
            // SAFETY: flock on a file descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot lock {}: {err}", path.display()));
            }
        }
        Ok(StoreLock { _file: file })
    }

    /// Reads the state as last committed; a missing file is an empty VirtualBox.
    pub fn read(&self) -> Result<State, String> {
        let path = self.state_path();
        match fs::read(&path) {
            Ok(bytes) => {
                let mut state: State = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("corrupt state {}: {e}", path.display()))?;
                reconcile_sessions(&mut state);
                Ok(state)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Reads without reconciling sessions (for the VM process, whose own session is live).
    pub fn read_raw(&self) -> Result<State, String> {
        let path = self.state_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("corrupt state {}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Commits `state` atomically. Call only while holding `lock()`.
    pub fn write(&self, state: &State, _lock: &StoreLock) -> Result<(), String> {
        let path = self.state_path();
        let tmp = self
            .home
            .join(format!("vboxsim-state.json.{}.tmp", std::process::id()));
        let bytes =
            serde_json::to_vec_pretty(state).map_err(|e| format!("cannot encode state: {e}"))?;
        let mut f =
            File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        fs::rename(&tmp, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        if let Ok(dir) = File::open(&self.home) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// The start time (clock ticks since boot) of a live process, used to tell a PID apart from a
/// later process that reused it.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// A VM whose VM process vanished without saying so is `aborted` and holds no session.
fn reconcile_sessions(state: &mut State) {
    for m in &mut state.machines {
        if let Some(s) = &m.session
            && process_start_time(s.pid) != Some(s.start_time)
        {
            m.session = None;
            if m.state.is_active() {
                m.state = PowerState::Aborted;
                m.state_change_ns = crate::model::ids::now_ns();
            }
        }
    }
}
