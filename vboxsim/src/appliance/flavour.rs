//! Appliance flavours: what the guest operating system on an appliance's disk is like, as far as
//! a VirtualBox client can tell — how it names its NICs, which of them its own network
//! configuration brings up, its host name, and whether Guest Additions are installed.
//!
//! `course` is the course's appliance (shared/seeds, lab 003, step 5: the appliance brings up
//! `eth0` only, by DHCP through ifupdown; students add `auto eth1` / `iface eth1 inet dhcp` by
//! hand). `box` is a Vagrant-style box: user `vagrant` by convention, Guest Additions, ifupdown
//! with NIC 1 on DHCP (Vagrant's own Debian boxes, as its `configure_networks` guest capability
//! expects: /etc/network/interfaces with `eth0` on DHCP). `ubuntu` is an Ubuntu server install
//! (20.04 and later): predictable NIC names from VirtualBox's PCI slots (`enp0s3`, `enp0s8`, …),
//! no ifupdown, netplan with `enp0s3` on DHCP only (subiquity's `00-installer-config.yaml`),
//! rendered for systemd-networkd, which runs at boot with D-Bus.

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
    /// `enp0s<PCI slot>`, as systemd's predictable names call them on VirtualBox: adapter 1 sits
    /// in PCI slot 3, adapters 2–4 in slots 8–10, adapters 5–8 in slots 16–19
    /// (Main/src-client/ConsoleImpl2.cpp, `iPCIDeviceNo`, PIIX3 chipset; the 82545EM slot-11
    /// swap of that function is not modelled: vboxsim's NICs are 82540EM).
    Predictable,
}

/// The PCI device number VirtualBox gives network adapter `slot` (1-based).
pub fn pci_device(slot: u32) -> u32 {
    match slot {
        1 => 3,
        2..=4 => slot - 2 + 8,
        _ => slot - 5 + 16,
    }
}

/// What the guest's disk says about the appliance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplianceInfo {
    pub flavour: String,
    pub nic_naming: NicNaming,
    pub guest_additions: bool,
    pub hostname: String,
    /// D-Bus and systemd-networkd run at boot (Ubuntu enables both; netplan renders for
    /// networkd). Disks written before this field existed have neither.
    #[serde(default)]
    pub networkd: bool,
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
            networkd: false,
        }
    }

    /// The guest's name for the `index`-th enabled NIC (0-based, slot order), which is
    /// network adapter `slot` (1-based).
    pub fn nic_name(&self, index: usize, slot: u32) -> String {
        match self.nic_naming {
            NicNaming::Eth => format!("eth{index}"),
            NicNaming::Predictable => format!("enp0s{}", pci_device(slot)),
        }
    }
}

/// A flavour `make-ova` can build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Course,
    Box,
    Ubuntu,
}

impl Flavour {
    pub const NAMES: &'static str = "course, ubuntu, box";

    pub fn parse(name: &str) -> Option<Flavour> {
        match name {
            "course" => Some(Flavour::Course),
            "ubuntu" => Some(Flavour::Ubuntu),
            "box" => Some(Flavour::Box),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavour::Course => "course",
            Flavour::Ubuntu => "ubuntu",
            Flavour::Box => "box",
        }
    }

    pub fn info(self, guest_additions: bool) -> ApplianceInfo {
        ApplianceInfo {
            flavour: self.name().into(),
            nic_naming: match self {
                Flavour::Ubuntu => NicNaming::Predictable,
                Flavour::Course | Flavour::Box => NicNaming::Eth,
            },
            guest_additions: guest_additions || self == Flavour::Box,
            hostname: match self {
                Flavour::Course => "debian".into(),
                Flavour::Ubuntu => "ubuntu".into(),
                Flavour::Box => "vagrant".into(),
            },
            networkd: self == Flavour::Ubuntu,
        }
    }

    /// What the appliance's disk does not have although vboxsim's guests (which share this
    /// machine's packages) would: Ubuntu has no ifupdown. Written as overlayfs whiteouts.
    pub fn absent(self) -> &'static [&'static str] {
        match self {
            Flavour::Ubuntu => &[
                "etc/network/interfaces",
                "usr/sbin/ifup",
                "usr/sbin/ifdown",
                "usr/sbin/ifquery",
            ],
            Flavour::Course | Flavour::Box => &[],
        }
    }

    /// The appliance's own files (path inside the disk, content, mode).
    pub fn files(self, info: &ApplianceInfo) -> Vec<(String, String, u32)> {
        // As Debian's installer writes it (netcfg) and Ubuntu's keeps it: the host name on
        // 127.0.1.1.
        let hosts = format!(
            "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n\n\
             # The following lines are desirable for IPv6 capable hosts\n\
             ::1     localhost ip6-localhost ip6-loopback\n\
             ff02::1 ip6-allnodes\n\
             ff02::2 ip6-allrouters\n",
            info.hostname
        );
        let mut files = vec![
            ("etc/hostname".into(), format!("{}\n", info.hostname), 0o644),
            ("etc/hosts".into(), hosts, 0o644),
            (
                APPLIANCE_FILE.into(),
                serde_json::to_string_pretty(info).unwrap_or_default() + "\n",
                0o644,
            ),
        ];
        match self {
            Flavour::Course | Flavour::Box => files.push((
                "etc/network/interfaces".into(),
                Self::debian_interfaces(),
                0o644,
            )),
            // subiquity (Ubuntu Server's installer) writes the NIC it installed with; netplan
            // 0.106 warns about configuration readable by others, hence 0600.
            Flavour::Ubuntu => files.push((
                "etc/netplan/00-installer-config.yaml".into(),
                "# This is the network config written by 'subiquity'\n\
                 network:\n  ethernets:\n    enp0s3:\n      dhcp4: true\n  version: 2\n"
                    .into(),
                0o600,
            )),
        }
        files
    }

    fn debian_interfaces() -> String {
        // Debian's installer writes `allow-hotplug` for the NIC it was installed with: udev
        // brings it up when the kernel finds it (Debian's /lib/udev/ifupdown-hotplug).
        "# This file describes the network interfaces available on your system\n\
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
            .to_string()
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
        assert_eq!(info.nic_name(0, 1), "eth0");
        assert_eq!(info.nic_name(2, 4), "eth2");
    }

    #[test]
    fn ubuntu_names_nics_by_virtualbox_pci_slot_and_configures_enp0s3_only() {
        let info = Flavour::Ubuntu.info(false);
        let names: Vec<String> = (1..=8).map(|slot| info.nic_name(0, slot)).collect();
        assert_eq!(
            names,
            [
                "enp0s3", "enp0s8", "enp0s9", "enp0s10", "enp0s16", "enp0s17", "enp0s18", "enp0s19"
            ]
        );
        assert!(info.networkd && !info.guest_additions);
        let files = Flavour::Ubuntu.files(&info);
        let netplan = files
            .iter()
            .find(|(path, ..)| path.starts_with("etc/netplan/"))
            .unwrap();
        assert!(netplan.1.contains("enp0s3:\n      dhcp4: true"));
        assert!(!netplan.1.contains("enp0s8"));
        assert_eq!(netplan.2, 0o600);
        assert!(
            !files
                .iter()
                .any(|(path, ..)| path == "etc/network/interfaces")
        );
        assert!(Flavour::Ubuntu.absent().contains(&"etc/network/interfaces"));
    }

    #[test]
    fn hosts_has_the_host_name_on_127_0_1_1_and_no_stray_indentation() {
        let info = Flavour::Course.info(false);
        let files = Flavour::Course.files(&info);
        let hosts = &files
            .iter()
            .find(|(path, ..)| path == "etc/hosts")
            .unwrap()
            .1;
        assert!(hosts.contains("127.0.1.1\tdebian\n"));
        assert!(hosts.lines().all(|line| !line.starts_with(' ')));
    }
}
