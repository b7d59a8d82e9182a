//! What every VBoxManage command works with: the emulated release, the host, the program name,
//! the store, the latency model, and the shared helpers (lookup, locks, progress bars).

use std::io::Write;

use crate::model::host::Host;
use crate::model::machine::Machine;
use crate::model::state::State;
use crate::store::Store;
use crate::vbox::emulation::{Emulation, Family};
use crate::vbox::latency::Latency;
use crate::vbox::vbox_error::{self, VBoxError};

pub struct Ctx {
    pub emu: Emulation,
    /// The host this VirtualBox runs on, read once per invocation.
    pub host: Host,
    pub prog: String,
    pub store: Store,
    pub latency: Latency,
}

/// Milliseconds the write lock lingers after a VM process let go (`VBOXSIM_LOCK_GRACE_MS`).
pub fn lock_grace_ms() -> u64 {
    std::env::var("VBOXSIM_LOCK_GRACE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

impl Ctx {
    pub fn v7(&self) -> bool {
        self.emu.family >= Family::V7_0
    }

    /// A failed command's stderr, as VBoxManage prints it on this host.
    pub fn render_error(&self, error: &VBoxError, logo: &str) -> String {
        error.render_on(&self.prog, logo, self.host)
    }

    pub fn read(&self) -> Result<State, VBoxError> {
        self.store.read().map_err(internal)
    }

    /// Runs `f` on the state under the global lock; commits only when `f` succeeds.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, VBoxError>,
    ) -> Result<T, VBoxError> {
        let lock = self.store.lock().map_err(internal)?;
        let mut state = self.store.read().map_err(internal)?;
        let out = f(&mut state)?;
        self.store.write(&state, &lock).map_err(internal)?;
        Ok(out)
    }

    /// Like `update`, but commits even when `f` fails (fault counters must be consumed).
    pub fn update_always<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, VBoxError>,
    ) -> Result<T, VBoxError> {
        let lock = self.store.lock().map_err(internal)?;
        let mut state = self.store.read().map_err(internal)?;
        let out = f(&mut state);
        self.store.write(&state, &lock).map_err(internal)?;
        out
    }

    /// Looks a VM up by UUID or name, or fails as `FindMachine` does.
    pub fn find(&self, state: &State, key: &str, file: &str) -> Result<usize, VBoxError> {
        state.find(key).ok_or_else(|| not_found(key, file))
    }

    /// The write-lock check of modifyvm, unregistervm, discardstate, snapshot restore:
    /// injected lock faults, a live session, or the lingering lock after poweroff.
    pub fn take_write_lock(
        &self,
        state: &mut State,
        idx: usize,
        file: &str,
    ) -> Result<(), VBoxError> {
        let name = state.machines[idx].name.clone();
        if state.faults.lock_writes > 0 {
            state.faults.lock_writes -= 1;
            return Err(vbox_error::locked_for_session(&name, file));
        }
        if is_locked(&state.machines[idx]) {
            return Err(vbox_error::locked_for_session(&name, file));
        }
        Ok(())
    }

    /// Inside a world, brings the host's bridges in line with the networks in the state.
    pub fn sync_networks(&self) -> Result<(), VBoxError> {
        if !crate::net::host_net::in_world() {
            return Ok(());
        }
        crate::net::host_net::sync(&self.store).map_err(internal)
    }

    /// `0%...10%...100%` on stderr, spread over `real_seconds` of modelled time.
    pub fn progress(&self, real_seconds: f64) {
        let step = self.latency.of(real_seconds) / 10;
        let mut err = std::io::stderr().lock();
        for pct in (0..=100).step_by(10) {
            if pct > 0 && !step.is_zero() {
                std::thread::sleep(step);
            }
            let _ = write!(err, "{pct}%");
            if pct < 100 {
                let _ = write!(err, "...");
            }
            let _ = err.flush();
        }
        let _ = writeln!(err);
    }

    /// A path of this machine as VirtualBox on the simulated host prints it (`C:\…` on Windows).
    pub fn shown(&self, path: &str) -> String {
        self.host.shown_path(path)
    }

    /// A path argument as this machine's path (a Windows world accepts `C:\…`).
    pub fn local(&self, arg: &str) -> String {
        self.host.local_path(arg)
    }

    /// The default machine folder (`setproperty machinefolder`, else `$HOME/VirtualBox VMs`).
    pub fn machine_folder(&self, state: &State) -> String {
        if let Some(f) = &state.machine_folder {
            return f.clone();
        }
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/VirtualBox VMs")
    }
}

/// A session held, or the lock still lingering after the VM process let go.
pub fn is_locked(m: &Machine) -> bool {
    m.session.is_some() || crate::model::ids::now_ms() < m.lock_until_ms
}

pub fn not_found(key: &str, file: &str) -> VBoxError {
    let message = match crate::model::ids::parse_uuid(key) {
        Some(uuid) => format!("Could not find a registered machine with UUID {{{uuid}}}"),
        None => format!("Could not find a registered machine named '{key}'"),
    };
    VBoxError::com(
        message,
        vbox_error::VBOX_E_OBJECT_NOT_FOUND,
        "VirtualBoxWrap",
        "IVirtualBox",
        vbox_error::context(
            "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())",
            2953,
            file,
        ),
    )
}

/// A failure of vboxsim itself (unreadable state, I/O): reported as VirtualBox reports its own
/// internal failures, with the real cause in the message.
pub fn internal(message: String) -> VBoxError {
    VBoxError::com(
        message,
        vbox_error::NS_ERROR_FAILURE,
        "VirtualBoxWrap",
        "IVirtualBox",
        vbox_error::context("vboxsim state", 0, "VBoxManage.cpp"),
    )
}
