//! The things `up` can do to VirtualBox and to guests, as data.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::guest_setup::GuestSetup;

use crate::lab::model::{Dhcp, MacAddress};

/// What a VM adapter is attached to, in lab terms (host-only interfaces are named by the
/// lab's network key until the interface exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum NicAttachment {
    /// Plain NAT.
    Nat,
    /// The host-only interface of lab network `network`.
    HostOnly {
        /// Lab network key.
        network: String,
    },
    /// A NAT network.
    NatNetwork {
        /// VirtualBox name.
        name: String,
    },
    /// An internal network.
    Internal {
        /// VirtualBox name.
        name: String,
    },
}

/// Desired settings of one adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NicSetting {
    /// Slot, from 1.
    pub slot: u8,
    /// Attachment.
    pub attachment: NicAttachment,
    /// MAC.
    pub mac: MacAddress,
    /// Cable connected.
    pub cable: bool,
    /// NIC model (VirtualBox spelling), when the lab sets one.
    pub nic_type: Option<String>,
    /// Plain-NAT port forwards, as `name,tcp,hostip,hostport,,guestport`.
    pub forwards: Vec<String>,
}

/// Desired settings of a VM, applied in one `modifyvm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmSettings {
    /// Memory in MB.
    pub memory: u32,
    /// CPUs.
    pub cpus: u32,
    /// Enabled adapters.
    pub nics: Vec<NicSetting>,
    /// Slots to disable (enabled now but not in the lab).
    pub disable: Vec<u8>,
    /// Description stored with the VM.
    pub description: String,
}

/// One action of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Create a host-only interface and give the host its address.
    CreateHostOnly {
        /// Lab network key.
        network: String,
        /// Network.
        cidr: Ipv4Net,
        /// Host address.
        host: Ipv4Addr,
    },
    /// Give an existing host-only interface the host address the lab wants.
    SetHostOnlyAddress {
        /// Lab network key.
        network: String,
        /// Interface.
        interface: String,
        /// Host address.
        host: Ipv4Addr,
        /// Netmask.
        netmask: Ipv4Addr,
    },
    /// Create or change a DHCP server and register fixed addresses by MAC.
    ConfigureDhcp {
        /// Lab network key.
        network: String,
        /// True when the server does not exist yet.
        create: bool,
        /// Server settings.
        dhcp: Dhcp,
        /// Netmask.
        netmask: Ipv4Addr,
        /// Fixed addresses to register.
        fixed: Vec<(MacAddress, Ipv4Addr)>,
    },
    /// Create a NAT network.
    CreateNatNetwork {
        /// Lab network key.
        network: String,
        /// VirtualBox name.
        name: String,
        /// Network.
        cidr: Ipv4Net,
        /// DHCP on.
        dhcp: bool,
        /// Port-forward rules (`name:tcp:[]:2222:[10.0.2.5]:22`).
        forwards: Vec<String>,
    },
    /// Change an existing NAT network (DHCP, port forwards).
    UpdateNatNetwork {
        /// Lab network key.
        network: String,
        /// VirtualBox name.
        name: String,
        /// DHCP on.
        dhcp: bool,
        /// Rules to add.
        add: Vec<String>,
        /// Rule names to delete.
        remove: Vec<String>,
    },
    /// Import an appliance once, as the image's master VM.
    ImportAppliance {
        /// Image key.
        image: String,
        /// Master VM name.
        master: String,
        /// Appliance path.
        path: PathBuf,
    },
    /// Take the snapshot linked clones are made from.
    TakeSnapshot {
        /// Image key.
        image: String,
        /// Master VM name or UUID.
        master: String,
        /// Snapshot name.
        snapshot: String,
    },
    /// Make a VM as a linked clone of its image's master.
    CloneVm {
        /// Lab VM name.
        vm: String,
        /// VirtualBox name.
        vbox_name: String,
        /// Image key.
        image: String,
        /// Master VM name or UUID.
        master: String,
        /// Snapshot.
        snapshot: String,
    },
    /// Apply memory, CPUs, adapters and MACs in one `modifyvm`, and tag the VM as owned.
    ConfigureVm {
        /// Lab VM name.
        vm: String,
        /// VirtualBox name.
        vbox_name: String,
        /// Settings.
        settings: VmSettings,
    },
    /// Power a VM off (before changing settings that need it off, or before deleting it).
    PowerOffVm {
        /// Lab VM name (or the VirtualBox name of a VM no longer in the lab).
        vm: String,
        /// VirtualBox name.
        vbox_name: String,
    },
    /// Start a VM headless.
    StartVm {
        /// Lab VM name.
        vm: String,
        /// VirtualBox name.
        vbox_name: String,
    },
    /// Wait until the VM's SSH server answers.
    WaitForSsh {
        /// Lab VM name.
        vm: String,
    },
    /// Configure the guest over adapter 1: host name, and every other lab NIC (found by MAC)
    /// in the guest's own network system.
    ConfigureGuest {
        /// Lab VM name.
        vm: String,
        /// What to set up.
        setup: GuestSetup,
    },
    /// Run the VM's provisioning steps that have not run with their current content.
    Provision {
        /// Lab VM name.
        vm: String,
        /// Steps that will run.
        steps: usize,
        /// Their names, in order.
        names: Vec<String>,
    },
    /// Unregister and delete a VM.
    DeleteVm {
        /// Lab VM name, or the VirtualBox name of a VM no longer in the lab.
        vm: String,
        /// VirtualBox name.
        vbox_name: String,
    },
}

impl Action {
    /// The lab VM this action is about, if any.
    pub fn vm(&self) -> Option<&str> {
        match self {
            Self::CloneVm { vm, .. }
            | Self::ConfigureVm { vm, .. }
            | Self::PowerOffVm { vm, .. }
            | Self::StartVm { vm, .. }
            | Self::WaitForSsh { vm }
            | Self::ConfigureGuest { vm, .. }
            | Self::Provision { vm, .. }
            | Self::DeleteVm { vm, .. } => Some(vm),
            _ => None,
        }
    }

    /// A short verb for progress displays (`clone`, `configure`, `boot`, …).
    pub fn stage(&self) -> &'static str {
        match self {
            Self::CreateHostOnly { .. } | Self::SetHostOnlyAddress { .. } => "network",
            Self::ConfigureDhcp { .. } => "dhcp",
            Self::CreateNatNetwork { .. } | Self::UpdateNatNetwork { .. } => "network",
            Self::ImportAppliance { .. } => "import",
            Self::TakeSnapshot { .. } => "snapshot",
            Self::CloneVm { .. } => "clone",
            Self::ConfigureVm { .. } => "configure",
            Self::PowerOffVm { .. } => "poweroff",
            Self::StartVm { .. } => "boot",
            Self::WaitForSsh { .. } => "ssh",
            Self::ConfigureGuest { .. } => "guest",
            Self::Provision { .. } => "provision",
            Self::DeleteVm { .. } => "delete",
        }
    }

    /// True when the action changes VirtualBox (a VBoxManage write).
    pub fn writes_virtualbox(&self) -> bool {
        !matches!(
            self,
            Self::WaitForSsh { .. } | Self::ConfigureGuest { .. } | Self::Provision { .. }
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateHostOnly {
                network,
                cidr,
                host,
            } => {
                write!(
                    f,
                    "create host-only interface for `{network}` ({cidr}, host {host})"
                )
            }
            Self::SetHostOnlyAddress {
                network,
                interface,
                host,
                ..
            } => {
                write!(f, "set host address of {interface} (`{network}`) to {host}")
            }
            Self::ConfigureDhcp {
                network,
                create,
                dhcp,
                fixed,
                ..
            } => {
                let verb = if *create { "create" } else { "update" };
                write!(
                    f,
                    "{verb} DHCP server of `{network}` ({}, leases {}-{}, {} fixed address{})",
                    dhcp.server,
                    dhcp.lower,
                    dhcp.upper,
                    fixed.len(),
                    if fixed.len() == 1 { "" } else { "es" }
                )
            }
            Self::CreateNatNetwork { name, cidr, .. } => {
                write!(f, "create NAT network {name} ({cidr})")
            }
            Self::UpdateNatNetwork { name, .. } => write!(f, "update NAT network {name}"),
            Self::ImportAppliance {
                image,
                master,
                path,
            } => {
                write!(f, "import {} as {master} (image `{image}`)", path.display())
            }
            Self::TakeSnapshot {
                master, snapshot, ..
            } => write!(f, "take snapshot `{snapshot}` of {master}"),
            Self::CloneVm {
                vm,
                vbox_name,
                master,
                snapshot,
                ..
            } => {
                write!(
                    f,
                    "linked-clone {vbox_name} from {master}@{snapshot} (vm `{vm}`)"
                )
            }
            Self::ConfigureVm {
                vbox_name,
                settings,
                ..
            } => write!(
                f,
                "configure {vbox_name}: {} MB, {} CPU{}, {} NIC{}",
                settings.memory,
                settings.cpus,
                if settings.cpus == 1 { "" } else { "s" },
                settings.nics.len(),
                if settings.nics.len() == 1 { "" } else { "s" }
            ),
            Self::PowerOffVm { vbox_name, .. } => write!(f, "power off {vbox_name}"),
            Self::StartVm { vbox_name, .. } => write!(f, "start {vbox_name} (headless)"),
            Self::WaitForSsh { vm } => write!(f, "wait for SSH on `{vm}`"),
            Self::ConfigureGuest { vm, setup } => {
                write!(f, "configure the guest of `{vm}`: {setup}")
            }
            Self::Provision { vm, steps, .. } => write!(
                f,
                "provision `{vm}` ({steps} step{})",
                if *steps == 1 { "" } else { "s" }
            ),
            Self::DeleteVm { vbox_name, .. } => write!(f, "delete {vbox_name}"),
        }
    }
}
