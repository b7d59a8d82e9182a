//! What the VM process hands to a guest's init: identity, disk layers, NICs, services.

use serde::{Deserialize, Serialize};

/// One NIC as the guest's kernel finds it (enabled NICs, in slot order).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GuestNic {
    /// The veth end moved into the guest, renamed as the appliance's kernel names it.
    pub veth: String,
    /// MAC in colon form.
    pub mac: String,
    /// The network adapter (1-based), which fixes its PCI slot and so its predictable name.
    pub slot: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GuestConfig {
    pub uuid: String,
    /// Frozen layers, lowest first (from snapshots / the linked clone's parent).
    pub lower_layers: Vec<String>,
    pub upper: String,
    pub work: String,
    /// Mount points prepared by the VM process inside the VM folder.
    pub additions_mnt: String,
    pub base_mnt: String,
    pub root_mnt: String,
    /// The systemctl replacement the additions layer links as /usr/bin/systemctl.
    pub systemctl: String,
    /// Host paths hidden from the guest (the world's state), if they exist.
    pub hide: Vec<String>,
    pub nics: Vec<GuestNic>,
    pub start_sshd: bool,
    /// Modelled boot time before services start (latency model), in milliseconds.
    pub boot_delay_ms: u64,
}
