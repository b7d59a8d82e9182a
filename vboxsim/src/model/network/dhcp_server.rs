//! A DHCP server of a network, with fixed addresses by MAC or by VM + NIC slot.

use serde::{Deserialize, Serialize};

/// A fixed address of a DHCP server, by MAC or by VM + NIC slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixedKey {
    Mac(String),
    VmNic {
        vm_uuid: String,
        vm_name: String,
        nic: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedAddress {
    pub key: FixedKey,
    pub ip: String,
}

/// The process serving a DHCP server on the wire (VBoxNetDHCP's role), by PID and start time so
/// that a reused PID is never mistaken for it. PID 0: running without a wire (outside a world,
/// where no network exists to serve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerProcess {
    pub pid: u32,
    pub start_time: u64,
}

impl ServerProcess {
    pub const WIRELESS: ServerProcess = ServerProcess {
        pid: 0,
        start_time: 0,
    };

    pub fn alive(&self) -> bool {
        self.pid == 0 || crate::store::process_start_time(self.pid) == Some(self.start_time)
    }
}

/// A DHCP server of a network (`HostInterfaceNetworking-vboxnet0` or a NAT network's name).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DhcpServer {
    pub network: String,
    pub ip: String,
    pub mask: String,
    pub lower: String,
    pub upper: String,
    pub enabled: bool,
    pub fixed: Vec<FixedAddress>,
    /// The running server, if started (configuration read then, never reloaded).
    #[serde(default)]
    pub process: Option<ServerProcess>,
}

impl DhcpServer {
    pub fn running(&self) -> Option<ServerProcess> {
        self.process.filter(ServerProcess::alive)
    }
}
