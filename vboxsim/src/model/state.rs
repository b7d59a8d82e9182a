//! Everything one VirtualBox (one `VBOX_USER_HOME`) knows: machines, networks, faults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::ids::parse_uuid;
use crate::model::machine::Machine;
use crate::model::network::{DhcpServer, HostOnlyIf, NatNetwork};

/// Fault-injection counters that must survive across VBoxManage processes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Faults {
    /// The next N write-lock commands fail with the lock error.
    pub lock_writes: u32,
    /// The next N `startvm` fail as a VM process dying during startup.
    pub startvm_fail: u32,
    /// The next N `startvm` succeed but exit 1 (printing the success text).
    pub startvm_exit1: u32,
    /// Extra milliseconds every `startvm` takes.
    pub startvm_delay_ms: u64,
    /// The next N `hostonlyif create` fail (`/dev/vboxnetctl`).
    pub hostonly_create_fail: u32,
    /// The next N `setextradata global` fail as VirtualBox.xml could not be saved.
    #[serde(default)]
    pub global_extradata_fail: u32,
    /// The next N `dhcpserver modify` fail as when VirtualBox.xml cannot be saved.
    #[serde(default)]
    pub dhcp_modify_fail: u32,
    /// Guests started while this is set never start sshd.
    pub no_sshd: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub machines: Vec<Machine>,
    pub hostonlyifs: Vec<HostOnlyIf>,
    pub natnets: Vec<NatNetwork>,
    pub dhcpservers: Vec<DhcpServer>,
    pub extradata: BTreeMap<String, String>,
    /// `setproperty machinefolder`; None = `$HOME/VirtualBox VMs`.
    pub machine_folder: Option<String>,
    pub faults: Faults,
    /// The host this VirtualBox runs on (`vboxsim world create --host`).
    #[serde(default)]
    pub host: crate::model::host::Host,
    /// Host-only networks (VirtualBox 7 on macOS).
    #[serde(default)]
    pub hostonlynets: Vec<crate::model::network::HostOnlyNet>,
}

impl State {
    /// The host: `VBOXSIM_HOST` when set (hollow VirtualBoxes outside a world), else the
    /// world's.
    pub fn host(&self) -> crate::model::host::Host {
        std::env::var("VBOXSIM_HOST")
            .ok()
            .and_then(|name| crate::model::host::Host::parse(&name))
            .unwrap_or(self.host)
    }

    pub fn hostonlynet(&self, name: &str) -> Option<usize> {
        self.hostonlynets.iter().position(|n| n.name == name)
    }

    /// Finds a machine by UUID first, then by name (first match wins, as in VirtualBox).
    pub fn find(&self, key: &str) -> Option<usize> {
        if let Some(uuid) = parse_uuid(key)
            && let Some(i) = self.machines.iter().position(|m| m.uuid == uuid)
        {
            return Some(i);
        }
        self.machines.iter().position(|m| m.name == key)
    }

    pub fn hostonly(&self, name: &str) -> Option<usize> {
        self.hostonlyifs.iter().position(|h| h.name == name)
    }

    pub fn natnet(&self, name: &str) -> Option<usize> {
        self.natnets.iter().position(|n| n.name == name)
    }

    pub fn dhcp(&self, network: &str) -> Option<usize> {
        self.dhcpservers.iter().position(|d| d.network == network)
    }
}
