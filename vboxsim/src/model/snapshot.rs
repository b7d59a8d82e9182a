//! A snapshot: a frozen copy of a VM's settings and the disk layers as they were when taken.

use serde::{Deserialize, Serialize};

use crate::model::hardware::Hardware;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
    pub taken_ns: u64,
    /// The settings the VM had when the snapshot was taken (restored by `snapshot restore`).
    pub hardware: Hardware,
    /// The disk's layer directories, lowest first, frozen at the time of the snapshot.
    pub layers: Vec<String>,
}
