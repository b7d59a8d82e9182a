//! A registered virtual machine: identity, hardware settings, disk layers, runtime state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::guest_property::GuestProperty;
pub use crate::model::hardware::Hardware;
use crate::model::snapshot::Snapshot;

pub const NIC_SLOTS: usize = 8;

/// The VM's hard disk: a small descriptor file plus its copy-on-write layers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Disk {
    /// The `.vmdk` file (the image VirtualBox shows as attached at SATA port 0).
    pub file: String,
    pub uuid: String,
    /// Layer directories, lowest first; the last one is the writable one.
    pub layers: Vec<String>,
    /// Layers this VM owns (deleted with `unregistervm --delete`); others belong to a parent.
    pub owned: Vec<String>,
    /// Which controller the disk sits on (`SATA`, or an OVF's own name).
    pub controller: String,
}

/// The machine state (`VMState=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    PowerOff,
    Running,
    Paused,
    Saved,
    Aborted,
}

impl PowerState {
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::PowerOff => "poweroff",
            PowerState::Running => "running",
            PowerState::Paused => "paused",
            PowerState::Saved => "saved",
            PowerState::Aborted => "aborted",
        }
    }

    pub fn human(self) -> &'static str {
        match self {
            PowerState::PowerOff => "powered off",
            PowerState::Running => "running",
            PowerState::Paused => "paused",
            PowerState::Saved => "saved",
            PowerState::Aborted => "aborted",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, PowerState::Running | PowerState::Paused)
    }
}

/// Who holds the VM's session: the VM process (pid + its start time, so a reused pid is never
/// taken for the VM process).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub pid: u32,
    pub start_time: u64,
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub uuid: String,
    pub hardware_uuid: String,
    pub name: String,
    pub groups: Vec<String>,
    pub description: String,
    pub cfg_file: String,
    pub vm_dir: String,
    pub state: PowerState,
    pub state_change_ns: u64,
    pub hw: Hardware,
    pub disk: Option<Disk>,
    pub snapshots: Vec<Snapshot>,
    pub current_snapshot: Option<String>,
    pub extradata: BTreeMap<String, String>,
    pub guest_props: BTreeMap<String, GuestProperty>,
    /// When each deleted property went away (for `guestproperty wait`).
    #[serde(default)]
    pub guest_props_deleted: BTreeMap<String, u64>,
    pub session: Option<Session>,
    /// Until when (ms since epoch) the lock lingers after the VM process let go.
    pub lock_until_ms: u64,
    /// Bumped on every start: the guest's boot count (so a reset is visible to the VM process).
    pub boot_id: u64,
    /// The appliance's login user, as carried by the OVA (name and public parts only).
    pub appliance_user: Option<String>,
    /// Where each NIC is plugged and its address, computed by `startvm` for the VM process.
    #[serde(default)]
    pub nic_leases: Vec<crate::model::lease::NicLease>,
    /// `savestate`'s file (`Snapshots/<time>.sav`, showvminfo's `VMStateFile`) while the VM is
    /// saved. A QEMU guest writes its memory and devices there and resumes from it at the next
    /// start, which deletes it; other guests keep no memory image (the file never exists).
    #[serde(default)]
    pub saved_state: Option<String>,
}

impl Machine {
    pub fn snapshot_by_name_or_uuid(&self, key: &str) -> Option<&Snapshot> {
        let uuid = crate::model::ids::parse_uuid(key);
        self.snapshots
            .iter()
            .find(|s| uuid.as_deref() == Some(s.uuid.as_str()))
            .or_else(|| self.snapshots.iter().find(|s| s.name == key))
    }

    /// The machine folder's `Snapshots` directory.
    pub fn snapshot_folder(&self) -> String {
        format!("{}/Snapshots", self.vm_dir)
    }

    /// The file `savestate` names for the VM saved at its last state change (`VMStateFile`).
    pub fn state_file(&self) -> String {
        format!(
            "{}/{}.sav",
            self.snapshot_folder(),
            crate::model::ids::vbox_time(self.state_change_ns)
        )
    }

    pub fn log_folder(&self) -> String {
        format!("{}/Logs", self.vm_dir)
    }
}
