//! What VirtualBox has right now: VMs, networks and DHCP servers, as read through VBoxManage.
//!
//! The planner compares this with the lab; it is plain data so plans can be tested without a
//! hypervisor.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::lab::model::MacAddress;

/// Global extradata key prefix marking a network labctl created: `labctl/network/<kind>/<name>`.
pub const NETWORK_OWNER_PREFIX: &str = "labctl/network";
/// Global extradata under which labctl records the fixed addresses a lab reserved on a DHCP
/// server: `labctl/reservations/<VirtualBox network name>/<lab>` = `mac=ip,…`. VirtualBox does
/// not list reservations back in a form to rely on, and another lab's must be seen before
/// anything is created.
pub const RESERVATIONS_PREFIX: &str = "labctl/reservations";

/// VirtualBox's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    /// Major version (6, 7).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level.
    pub patch: u32,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A VM's power state, as `VMState` in `showvminfo --machinereadable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerState {
    /// Off.
    PowerOff,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Saved to disk.
    Saved,
    /// Crashed or killed; can be started again.
    Aborted,
    /// Guru meditation: the guest crashed but its VM process still holds the session, so it
    /// must be powered off before anything else.
    Stuck,
    /// Starting, stopping, saving, restoring, snapshotting, teleporting …: the VM holds its
    /// lock until VirtualBox is done.
    Transient(String),
    /// A state labctl does not know (`teleported`, `unknown`).
    Other(String),
}

impl PowerState {
    /// Parses a `VMState` value (the short names of VBoxManageInfo.cpp, `machineStateToName`).
    pub fn parse(text: &str) -> Self {
        match text {
            "poweroff" => Self::PowerOff,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "saved" => Self::Saved,
            "aborted" | "aborted-saved" => Self::Aborted,
            "gurumeditation" => Self::Stuck,
            "starting"
            | "stopping"
            | "saving"
            | "restoring"
            | "snapshotting"
            | "livesnapshotting"
            | "onlinesnapshotting"
            | "restoringsnapshot"
            | "deletingsnapshot"
            | "deletingsnapshotlive"
            | "deletingsnapshotlivepaused"
            | "teleporting"
            | "teleportingpausedvm"
            | "teleportingin"
            | "faulttolerantsyncing"
            | "settingup" => Self::Transient(text.to_string()),
            other => Self::Other(other.to_string()),
        }
    }

    /// True when the VM runs (or is paused, stuck or busy) and so holds its write lock.
    pub fn is_on(&self) -> bool {
        matches!(
            self,
            Self::Running | Self::Paused | Self::Stuck | Self::Transient(_)
        )
    }

    /// The state in words, for messages ("powered off", "saved").
    pub fn words(&self) -> &str {
        match self {
            Self::PowerOff => "powered off",
            Self::Aborted => "powered off (aborted)",
            Self::Stuck => "stuck (guru meditation)",
            other => other.as_str(),
        }
    }

    /// Whether the VM is stopped in a state it stays in until someone starts it.
    pub fn is_stopped(&self) -> bool {
        matches!(
            self,
            Self::PowerOff | Self::Aborted | Self::Saved | Self::Paused | Self::Stuck
        )
    }

    /// The word VirtualBox uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PowerOff => "poweroff",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Saved => "saved",
            Self::Aborted => "aborted",
            Self::Stuck => "gurumeditation",
            Self::Transient(text) | Self::Other(text) => text,
        }
    }
}

/// A fixed address labctl reserved on a DHCP server for a lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// The DHCP server's network (`HostInterfaceNetworking-vboxnet0`, a NAT network's name).
    pub network: String,
    /// The lab it was reserved for.
    pub lab: String,
    /// The VM's MAC.
    pub mac: MacAddress,
    /// The address.
    pub ip: Ipv4Addr,
}

impl Reservation {
    /// The reservations recorded under one extradata key and value; None when the key is not
    /// a reservations key.
    pub fn parse(key: &str, value: &str) -> Option<Vec<Self>> {
        let rest = key.strip_prefix(RESERVATIONS_PREFIX)?.strip_prefix('/')?;
        let (network, lab) = rest.rsplit_once('/')?;
        Some(
            value
                .split(',')
                .filter_map(|pair| {
                    let (mac, ip) = pair.split_once('=')?;
                    Some(Self {
                        network: network.to_string(),
                        lab: lab.to_string(),
                        mac: MacAddress::parse(mac.trim()).ok()?,
                        ip: ip.trim().parse().ok()?,
                    })
                })
                .collect(),
        )
    }

    /// The extradata value for a lab's reservations on one network, from (MAC, address) pairs.
    pub fn value(
        pairs: impl IntoIterator<Item = (impl std::fmt::Display, impl std::fmt::Display)>,
    ) -> String {
        pairs
            .into_iter()
            .map(|(mac, ip)| format!("{mac}={ip}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How an adapter is attached, with its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "target", rename_all = "kebab-case")]
pub enum Attachment {
    /// Slot disabled.
    None,
    /// Enabled, not connected.
    Null,
    /// Plain NAT.
    Nat,
    /// Host-only interface.
    HostOnly(String),
    /// NAT network.
    NatNetwork(String),
    /// Internal network.
    Internal(String),
    /// Bridged to a host interface.
    Bridged(String),
    /// Something else (generic, cloud, host-only network).
    Other(String),
}

/// One adapter as VirtualBox has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedNic {
    /// Slot, from 1.
    pub slot: u8,
    /// Attachment.
    pub attachment: Attachment,
    /// MAC (absent for disabled slots).
    pub mac: Option<MacAddress>,
    /// Cable connected.
    pub cable: bool,
    /// NIC model.
    pub nic_type: Option<String>,
    /// NAT port forwards, as VirtualBox prints them (`name,tcp,hostip,hostport,guestip,guestport`).
    pub forwards: Vec<String>,
}

/// Who a VM belongs to: the lab whose VirtualBox group (`/labctl/LAB`) it is in, and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ownership {
    /// The lab that created it.
    pub lab: String,
    /// Its role: the lab VM name, or `master:IMAGE`.
    pub role: String,
}

/// A registered VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedVm {
    /// UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Power state.
    pub state: PowerState,
    /// Groups (`/labctl/exam3`).
    pub groups: Vec<String>,
    /// labctl's ownership mark, if any.
    pub owner: Option<Ownership>,
    /// Memory in MB.
    pub memory: u32,
    /// CPUs.
    pub cpus: u32,
    /// Adapters, in slot order (all slots VirtualBox reports).
    pub nics: Vec<ObservedNic>,
    /// Snapshot names.
    pub snapshots: Vec<String>,
    /// True while a session holds the VM (running, or just powered off).
    pub locked: bool,
    /// The settings file.
    pub config_file: String,
}

impl ObservedVm {
    /// The adapter in `slot`.
    pub fn nic(&self, slot: u8) -> Option<&ObservedNic> {
        self.nics.iter().find(|nic| nic.slot == slot)
    }

    /// True when labctl created it for `lab`.
    pub fn owned_by(&self, lab: &str) -> bool {
        self.owner.as_ref().is_some_and(|owner| owner.lab == lab)
    }
}

/// A host-only interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedHostOnly {
    /// Interface name (`vboxnet0`).
    pub name: String,
    /// IPv4 address.
    pub ip: Option<Ipv4Addr>,
    /// Netmask.
    pub netmask: Option<Ipv4Addr>,
    /// VirtualBox's network name (`HostInterfaceNetworking-vboxnet0`).
    pub network_name: String,
}

/// A NAT network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedNatNetwork {
    /// Name.
    pub name: String,
    /// CIDR as printed.
    pub cidr: String,
    /// DHCP on.
    pub dhcp: bool,
    /// Port-forward rules as printed (`name:tcp:[]:2222:[10.0.2.5]:22`).
    pub forwards: Vec<String>,
}

/// A DHCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedDhcp {
    /// Network name (`HostInterfaceNetworking-vboxnet0` or a NAT network's name).
    pub network_name: String,
    /// Server address.
    pub server: Option<Ipv4Addr>,
    /// Netmask.
    pub netmask: Option<Ipv4Addr>,
    /// Lease range start.
    pub lower: Option<Ipv4Addr>,
    /// Lease range end.
    pub upper: Option<Ipv4Addr>,
    /// Enabled.
    pub enabled: bool,
}

/// Everything labctl reads from VirtualBox before planning.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// VirtualBox's version, when known.
    pub version: Option<Version>,
    /// Every registered VM.
    pub vms: Vec<ObservedVm>,
    /// Host-only interfaces.
    pub host_only: Vec<ObservedHostOnly>,
    /// NAT networks.
    pub nat_networks: Vec<ObservedNatNetwork>,
    /// DHCP servers.
    pub dhcp_servers: Vec<ObservedDhcp>,
    /// Networks labctl created, as (kind, name, lab) from global extradata.
    pub owned_networks: Vec<(String, String, String)>,
    /// Fixed addresses labctl reserved for labs, from global extradata.
    pub reservations: Vec<Reservation>,
    /// VirtualBox has host-only networks (VirtualBox 7 on macOS), whose DHCP is a range
    /// without reservations, instead of host-only interfaces with VirtualBox DHCP servers.
    pub host_only_networks: bool,
}

impl Inventory {
    /// The VM with this name (names are not unique in VirtualBox: the first wins, as in
    /// VBoxManage's own lookup).
    pub fn vm_named(&self, name: &str) -> Option<&ObservedVm> {
        self.vms.iter().find(|vm| vm.name == name)
    }

    /// Every MAC of every registered VM.
    pub fn macs(&self) -> impl Iterator<Item = MacAddress> + '_ {
        self.vms
            .iter()
            .flat_map(|vm| vm.nics.iter().filter_map(|nic| nic.mac))
    }

    /// The host-only interface carrying `ip`, if any.
    pub fn host_only_with(&self, ip: Ipv4Addr) -> Option<&ObservedHostOnly> {
        self.host_only
            .iter()
            .find(|interface| interface.ip == Some(ip))
    }

    /// The DHCP server of a VirtualBox network name.
    pub fn dhcp_of(&self, network_name: &str) -> Option<&ObservedDhcp> {
        self.dhcp_servers
            .iter()
            .find(|server| server.network_name == network_name)
    }

    /// The host-only interface (or network) serving a lab host-only network: the one the lab
    /// names, else the one carrying the lab's host address.
    pub fn host_only_for(&self, lab: &crate::lab::Lab, network: &str) -> Option<&ObservedHostOnly> {
        let crate::lab::model::NetworkKind::HostOnly {
            interface, host, ..
        } = &lab.network(network)?.kind
        else {
            return None;
        };
        match interface {
            Some(name) => self.host_only.iter().find(|found| &found.name == name),
            None => self.host_only_with(*host),
        }
    }

    /// The lab that owns network `name` of `kind`, if labctl created it.
    pub fn network_owner(&self, kind: &str, name: &str) -> Option<&str> {
        self.owned_networks
            .iter()
            .find(|(k, n, _)| k == kind && n == name)
            .map(|(_, _, lab)| lab.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_virtualbox_names_is_read_for_what_labctl_may_do() {
        assert_eq!(PowerState::parse("gurumeditation"), PowerState::Stuck);
        assert!(
            PowerState::Stuck.is_on(),
            "a stuck VM still holds its session"
        );
        for busy in [
            "snapshotting",
            "teleporting",
            "teleportingin",
            "deletingsnapshotlivepaused",
        ] {
            assert!(PowerState::parse(busy).is_on(), "{busy} holds the lock");
        }
        assert_eq!(PowerState::parse("aborted-saved"), PowerState::Aborted);
        assert!(!PowerState::parse("teleported").is_on());
    }
}
