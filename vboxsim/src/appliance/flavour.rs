//! Appliance flavours: what the guest operating system on an appliance's disk is like, as far as
//! a VirtualBox client can tell — how it names its NICs, which of them its own network
//! configuration brings up, its host name, and whether Guest Additions are installed.
//!
//! `course` is the course's appliance (shared/seeds, lab 003, step 5: the appliance brings up
//! `eth0` only, by DHCP through ifupdown; students add `auto eth1` / `iface eth1 inet dhcp` by
//! hand). `box` is a Vagrant-style box: user `vagrant` by convention, Guest Additions, ifupdown
//! with NIC 1 on DHCP (Vagrant's own Debian boxes, as its `configure_networks` guest capability
//! expects: /etc/network/interfaces with `eth0` on DHCP).

use serde::{Deserialize, Serialize};

/// Where the guest reads what its appliance is (inside the appliance layer of the disk).
pub const APPLIANCE_FILE: &str = "var/lib/vboxsim-guest/appliance/appliance.json";

/// How the guest's kernel names its NICs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NicNaming {
    /// `eth0`, `eth1`, … in PCI order (the enabled NICs in slot order), as Debian's kernel names
    /// them without predictable names (`net.ifnames=0`, the course appliance).
    Eth,
}

/// What the guest's disk says about the appliance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplianceInfo {
    pub flavour: String,
    pub nic_naming: NicNaming,
    pub guest_additions: bool,
    pub hostname: String,
}

impl ApplianceInfo {
    /// What a disk without an appliance description is: a guest that names NICs `eth*`,
    /// configures nothing it was not told to and has no Guest Additions.
    pub fn unknown() -> ApplianceInfo {
        ApplianceInfo {
            flavour: "unknown".into(),
            nic_naming: NicNaming::Eth,
            guest_additions: false,
            hostname: "localhost".into(),
        }
    }

    /// The guest's name for the `index`-th enabled NIC (0-based, slot order).
    pub fn nic_name(&self, index: usize) -> String {
        match self.nic_naming {
            NicNaming::Eth => format!("eth{index}"),
        }
    }
}

/// A flavour `make-ova` can build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Course,
    Box,
}

impl Flavour {
    pub const NAMES: &'static str = "course, box";

    pub fn parse(name: &str) -> Option<Flavour> {
        match name {
            "course" => Some(Flavour::Course),
            "box" => Some(Flavour::Box),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavour::Course => "course",
            Flavour::Box => "box",
        }
    }

    pub fn info(self, guest_additions: bool) -> ApplianceInfo {
        ApplianceInfo {
            flavour: self.name().into(),
            nic_naming: NicNaming::Eth,
            guest_additions: guest_additions || self == Flavour::Box,
            hostname: match self {
                Flavour::Course => "debian".into(),
                Flavour::Box => "vagrant".into(),
            },
        }
    }

    /// The appliance's own files (path inside the disk, content, mode).
    pub fn files(self, info: &ApplianceInfo) -> Vec<(String, String, u32)> {
        // Debian's installer writes `allow-hotplug` for the NIC it was installed with: udev
        // brings it up when the kernel finds it (Debian's /lib/udev/ifupdown-hotplug).
        let interfaces = "# This file describes the network interfaces available on your system\n\
             # and how to activate them. For more information, see interfaces(5).\n\
             \n\
             source /etc/network/interfaces.d/*\n\
             \n\
             # The loopback network interface\n\
             auto lo\n\
             iface lo inet loopback\n\
             \n\
             # The primary network interface\n\
             allow-hotplug eth0\n\
             iface eth0 inet dhcp\n"
            .to_string();
        // As Debian's installer writes it (netcfg): the host name on 127.0.1.1.
        let hosts = format!(
            "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n\n             # The following lines are desirable for IPv6 capable hosts\n             ::1     localhost ip6-localhost ip6-loopback\n             ff02::1 ip6-allnodes\n             ff02::2 ip6-allrouters\n",
            info.hostname
        );
        vec![
            ("etc/hostname".into(), format!("{}\n", info.hostname), 0o644),
            ("etc/hosts".into(), hosts, 0o644),
            ("etc/network/interfaces".into(), interfaces, 0o644),
            (
                APPLIANCE_FILE.into(),
                serde_json::to_string_pretty(info).unwrap_or_default() + "\n",
                0o644,
            ),
        ]
    }
}

/// Reads the appliance description from a guest's root (`root` = "/" inside the guest).
pub fn read(root: &str) -> ApplianceInfo {
    std::fs::read(format!("{}/{APPLIANCE_FILE}", root.trim_end_matches('/')))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(ApplianceInfo::unknown)
}

/// Reads the appliance description from a VM's disk layers (lowest first), as the host sees
/// them: the topmost layer that has the file wins, as in the guest's overlay.
pub fn read_layers(layers: &[String]) -> ApplianceInfo {
    layers
        .iter()
        .rev()
        .find_map(|layer| {
            let bytes = std::fs::read(format!("{}/{APPLIANCE_FILE}", layer.trim_end_matches('/')));
            bytes
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        })
        .unwrap_or_else(ApplianceInfo::unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_brings_up_eth0_only_and_has_no_guest_additions() {
        let info = Flavour::Course.info(false);
        assert!(!info.guest_additions);
        let files = Flavour::Course.files(&info);
        let interfaces = &files
            .iter()
            .find(|(path, ..)| path == "etc/network/interfaces")
            .unwrap()
            .1;
        assert!(interfaces.contains("iface eth0 inet dhcp"));
        assert!(!interfaces.contains("eth1"));
        assert!(interfaces.contains("source /etc/network/interfaces.d/*"));
    }

    #[test]
    fn box_has_guest_additions_and_any_flavour_can_get_them() {
        assert!(Flavour::Box.info(false).guest_additions);
        assert!(Flavour::Course.info(true).guest_additions);
    }

    #[test]
    fn nics_are_named_in_pci_order() {
        let info = Flavour::Course.info(false);
        assert_eq!(info.nic_name(0), "eth0");
        assert_eq!(info.nic_name(2), "eth2");
    }
}
