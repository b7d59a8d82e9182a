//! A validated VM (one replica), with its adapters.

use std::net::Ipv4Addr;

use super::mac_address::MacAddress;
use super::step::Step;
use crate::lab::raw::{NicType, Protocol};
use crate::lab::source::Span;

/// A port forward on a plain NAT adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicForward {
    /// Rule name.
    pub name: String,
    /// TCP or UDP.
    pub proto: Protocol,
    /// Host address (None: every address).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// Port in the guest.
    pub guest_port: u16,
}

/// One network adapter.
#[derive(Debug, Clone)]
pub struct Nic {
    /// VirtualBox adapter slot, 1 to 8.
    pub slot: u8,
    /// The network (key in `[networks]`).
    pub network: String,
    /// Fixed address (from the network's DHCP server), if any.
    pub ip: Option<Ipv4Addr>,
    /// MAC given in the lab file (labctl generates the others).
    pub mac: Option<MacAddress>,
    /// NIC model, when set.
    pub nic_type: Option<NicType>,
    /// Whether the cable is connected.
    pub cable: bool,
    /// Port forwards (plain NAT adapters).
    pub forwards: Vec<NicForward>,
    /// Where it is defined.
    pub span: Span,
}

/// How labctl reaches a VM's SSH server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshRoute {
    /// Directly at a fixed address on a network the host is on.
    Address {
        /// The network.
        network: String,
        /// The address.
        ip: Ipv4Addr,
    },
    /// At the address the VM's DHCP lease gives the adapter in `slot` (read from the guest).
    Leased {
        /// The network.
        network: String,
        /// The adapter.
        slot: u8,
    },
    /// Through a port forward on the plain NAT adapter in `slot`; `host_port` when the lab
    /// file names one, else labctl picks a free port.
    Forward {
        /// The adapter.
        slot: u8,
        /// Host port forwarded to the guest's SSH port.
        host_port: Option<u16>,
    },
}

/// One VM of the lab (a replica of a `count` group is a VM of its own).
#[derive(Debug, Clone)]
pub struct Vm {
    /// The lab's name for it (`web2`).
    pub name: String,
    /// Its VirtualBox name (`exam3-web2`).
    pub vbox_name: String,
    /// The `[vms.NAME]` it comes from (`web`).
    pub group: String,
    /// Replica number, from 1 (1 for a VM without `count`).
    pub index: u32,
    /// Number of replicas in its group.
    pub count: u32,
    /// The image (key in `[images]`).
    pub image: String,
    /// Memory in MB.
    pub memory: u32,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Adapters in slot order.
    pub nics: Vec<Nic>,
    /// VMs (lab names) that must be ready before this one starts.
    pub after: Vec<String>,
    /// Provisioning steps in order.
    pub steps: Vec<Step>,
    /// How labctl reaches it over SSH.
    pub ssh: SshRoute,
    /// How labctl reaches it before its guest is set up, when that differs from `ssh`: over
    /// adapter 1, the only adapter an appliance brings up by itself.
    pub bootstrap: Option<SshRoute>,
    /// Free text for VirtualBox.
    pub description: Option<String>,
    /// Where it is defined (the `[vms.NAME]` key).
    pub span: Span,
}

impl Vm {
    /// The adapter on `network`, if any.
    pub fn nic_on(&self, network: &str) -> Option<&Nic> {
        self.nics.iter().find(|nic| nic.network == network)
    }

    /// The VM's fixed address on its SSH network, if it has one.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        match &self.ssh {
            SshRoute::Address { ip, .. } => Some(*ip),
            _ => self.nics.iter().find_map(|nic| nic.ip),
        }
    }
}
