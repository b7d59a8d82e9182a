//! A validated network of the lab.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::lab::raw::Protocol;
use crate::lab::source::Span;

/// A DHCP server's settings: its own address and the range it leases from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Dhcp {
    /// The server's address.
    pub server: Ipv4Addr,
    /// First address of the lease range.
    pub lower: Ipv4Addr,
    /// Last address of the lease range.
    pub upper: Ipv4Addr,
}

impl Dhcp {
    /// True when `address` is inside the lease range.
    pub fn leases(&self, address: Ipv4Addr) -> bool {
        self.lower <= address && address <= self.upper
    }
}

/// A port forward of a NAT network into a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkForward {
    /// Rule name.
    pub name: String,
    /// TCP or UDP.
    pub proto: Protocol,
    /// Host address (None: every address).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// The VM (lab name) and its address on this network.
    pub vm: String,
    /// The VM's address on this network.
    pub guest_ip: Ipv4Addr,
    /// Port in the guest.
    pub guest_port: u16,
}

/// What kind of network, with what only that kind has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkKind {
    /// Host-only: the host has `host` on an interface VMs share.
    HostOnly {
        /// Interface to use (e.g. `vboxnet0`), when the lab names one.
        interface: Option<String>,
        /// The network.
        cidr: Ipv4Net,
        /// The host's address.
        host: Ipv4Addr,
        /// The DHCP server, if on.
        dhcp: Option<Dhcp>,
    },
    /// A VirtualBox NAT network.
    NatNetwork {
        /// VirtualBox's name for it.
        vbox_name: String,
        /// The network.
        cidr: Ipv4Net,
        /// VirtualBox's gateway (the network's first address).
        gateway: Ipv4Addr,
        /// The DHCP server, if on.
        dhcp: Option<Dhcp>,
        /// Port forwards into VMs.
        forwards: Vec<NetworkForward>,
    },
    /// Plain per-VM NAT.
    Nat,
    /// A VirtualBox internal network.
    Internal {
        /// VirtualBox's name for it.
        vbox_name: String,
        /// Its addresses, when the lab gives VMs fixed ones.
        cidr: Option<Ipv4Net>,
    },
}

/// A validated `[networks.NAME]`.
#[derive(Debug, Clone)]
pub struct Network {
    /// The key in `[networks]`.
    pub name: String,
    /// Kind and settings.
    pub kind: NetworkKind,
    /// Where it is defined.
    pub span: Span,
}

impl Network {
    /// The network's address range, if it has one.
    pub fn cidr(&self) -> Option<Ipv4Net> {
        match &self.kind {
            NetworkKind::HostOnly { cidr, .. } | NetworkKind::NatNetwork { cidr, .. } => {
                Some(*cidr)
            }
            NetworkKind::Internal { cidr, .. } => *cidr,
            NetworkKind::Nat => None,
        }
    }

    /// The DHCP server, if the network has one.
    pub fn dhcp(&self) -> Option<Dhcp> {
        match &self.kind {
            NetworkKind::HostOnly { dhcp, .. } | NetworkKind::NatNetwork { dhcp, .. } => *dhcp,
            _ => None,
        }
    }

    /// The host's (host-only) or gateway's (NAT network) address.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        match &self.kind {
            NetworkKind::HostOnly { host, .. } => Some(*host),
            NetworkKind::NatNetwork { gateway, .. } => Some(*gateway),
            _ => None,
        }
    }

    /// A short word for the kind, as written in the lab file.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NetworkKind::HostOnly { .. } => "hostonly",
            NetworkKind::NatNetwork { .. } => "natnetwork",
            NetworkKind::Nat => "nat",
            NetworkKind::Internal { .. } => "internal",
        }
    }
}
