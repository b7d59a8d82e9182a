//! Where each enabled NIC of a running VM is plugged, and the address the network has set aside
//! for it (`net::lease_plan` works them out when the VM starts).

use std::net::Ipv4Addr;

/// The network segment a NIC is plugged into.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Segment {
    HostOnly(String),
    /// A host-only network (VirtualBox 7 on macOS): no reservations.
    HostOnlyNet(String),
    NatNetwork(String),
    Intnet(String),
    /// Plain NAT: a private link to this NIC's own NAT engine.
    Nat,
    /// Enabled but not connected (null, bridged, generic).
    Unplugged,
}

/// One NIC as the guest sees it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NicLease {
    pub slot: u32,
    pub mac: String,
    pub cable: bool,
    pub segment: Segment,
    /// The address the network reserves for this NIC (a DHCP reservation, or plain NAT's
    /// 10.0.2.15), with the prefix length: what the NIC gets if its guest asks by DHCP.
    pub addr: Option<(Ipv4Addr, u32)>,
    pub gateway: Option<Ipv4Addr>,
}
