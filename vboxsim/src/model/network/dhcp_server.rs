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
}
