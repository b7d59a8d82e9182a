//! The lab's state folder, `.labctl/LAB/` beside the lab file: its lock, the journal of
//! creations in flight (so a killed `up` can adopt what it half-made), pinned SSH host keys and
//! the hashes of applied provisioning steps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::json_store::JsonStore;
use super::lab_lock::{LabLock, LockError};

/// A pinned SSH host key: the VM it belongs to and the key (`type base64`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedKey {
    /// The VM's lab name when it was pinned.
    pub vm: String,
    /// The key.
    pub key: String,
}

/// A host-only interface being created: the interfaces that existed before, so that an
/// interface that appears without an owner after a crash can be recognised as this lab's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingHostOnly {
    /// The lab network it is for.
    pub network: String,
    /// Interfaces that existed before `hostonlyif create`.
    pub existing: Vec<String>,
}

/// The state folder of one lab.
#[derive(Debug, Clone)]
pub struct LabState {
    dir: PathBuf,
    lab: String,
}

impl LabState {
    /// The state folder of lab `lab` whose file is in `lab_dir`.
    pub fn new(lab_dir: &Path, lab: &str) -> Self {
        Self {
            dir: lab_dir.join(".labctl").join(lab),
            lab: lab.to_string(),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Host keys pinned on first contact, by VM UUID.
    pub fn host_keys(&self) -> JsonStore<PinnedKey> {
        JsonStore::open(self.dir.join("hostkeys.json"))
    }

    /// Content hashes of the provisioning steps applied to each VM, in order, by VM UUID.
    pub fn applied_steps(&self) -> JsonStore<Vec<String>> {
        JsonStore::open(self.dir.join("steps.json"))
    }

    /// The digest of the guest setup each VM got (`plan::GuestSetup::digest`), by VM UUID.
    pub fn guest_setups(&self) -> JsonStore<String> {
        JsonStore::open(self.dir.join("guest-setup.json"))
    }

    /// The reservations labctl made on each lab network's DHCP server (MAC → address, by lab
    /// network), since VirtualBox does not list them back.
    pub fn dhcp_reservations(&self) -> JsonStore<BTreeMap<String, String>> {
        JsonStore::open(self.dir.join("dhcp-reservations.json"))
    }

    /// Forgets what was kept of a deleted VM (its host key pin, applied steps, guest setup).
    pub fn forget_vm(&self, uuid: &str) {
        let _ = self.host_keys().set(uuid, None);
        let _ = self.applied_steps().set(uuid, None);
        let _ = self.guest_setups().set(uuid, None);
    }

    /// Takes the lab's lock for `command`.
    pub fn lock(&self, command: &str) -> Result<LabLock, LockError> {
        LabLock::acquire(&self.dir, &self.lab, command)
    }

    fn pending_path(&self) -> PathBuf {
        self.dir.join("pending-hostonly.json")
    }

    /// Records that a host-only interface is about to be created.
    pub fn begin_host_only(&self, pending: &PendingHostOnly) -> std::io::Result<()> {
        write_atomically(
            &self.pending_path(),
            &serde_json::to_vec(pending).unwrap_or_default(),
        )
    }

    /// Forgets the host-only creation in flight.
    pub fn end_host_only(&self) -> std::io::Result<()> {
        match std::fs::remove_file(self.pending_path()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// The host-only creation a killed run left in flight, if any.
    pub fn pending_host_only(&self) -> Option<PendingHostOnly> {
        let text = std::fs::read(self.pending_path()).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// Writes a file so that a reader (or a crash) sees the old or the new content, never half.
pub fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // A name of this call's own: two writers of one file (threads, or processes) never share
    // a temporary file, so neither renames the other's away.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("tmp{}-{unique}", std::process::id()));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_of_one_file_never_trip_over_each_others_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.json");
        std::thread::scope(|scope| {
            for n in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    for round in 0..50 {
                        write_atomically(path, format!("{n}-{round}").as_bytes()).unwrap();
                    }
                });
            }
        });
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary is left behind");
    }
}
