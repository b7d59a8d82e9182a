//! One network adapter slot of a VM (attachment, MAC, cable, type, NAT forwards).

use serde::{Deserialize, Serialize};

/// What a NIC is attached to; names as `showvminfo` prints them in `nic<N>=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attachment {
    None,
    Null,
    Nat,
    Bridged,
    Intnet,
    Hostonly,
    /// A host-only network (VirtualBox 7 on macOS).
    HostonlyNet,
    Natnetwork,
    Generic,
}

impl Attachment {
    /// Parses the `--nic<N>` value; case-insensitive from 7.0 on.
    pub fn parse(v: &str, case_insensitive: bool) -> Option<Attachment> {
        let key = if case_insensitive {
            v.to_ascii_lowercase()
        } else {
            v.to_string()
        };
        Some(match key.as_str() {
            "none" => Attachment::None,
            "null" => Attachment::Null,
            "nat" => Attachment::Nat,
            "bridged" => Attachment::Bridged,
            "intnet" => Attachment::Intnet,
            "hostonly" => Attachment::Hostonly,
            "hostonlynet" => Attachment::HostonlyNet,
            "natnetwork" => Attachment::Natnetwork,
            "generic" => Attachment::Generic,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Attachment::None => "none",
            Attachment::Null => "null",
            Attachment::Nat => "nat",
            Attachment::Bridged => "bridged",
            Attachment::Intnet => "intnet",
            Attachment::Hostonly => "hostonly",
            Attachment::HostonlyNet => "hostonlynetwork",
            Attachment::Natnetwork => "natnetwork",
            Attachment::Generic => "generic",
        }
    }
}

/// A per-VM NAT port forward (`--natpf<N>`), in VirtualBox's comma rule order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatRule {
    pub name: String,
    pub proto: String,
    pub host_ip: String,
    pub host_port: u16,
    pub guest_ip: String,
    pub guest_port: u16,
}

impl NatRule {
    /// Parses `name,tcp|udp,[hostip],hostport,[guestip],guestport`.
    pub fn parse(rule: &str) -> Option<NatRule> {
        let parts: Vec<&str> = rule.split(',').collect();
        if parts.len() != 6 || parts[0].is_empty() {
            return None;
        }
        let proto = parts[1].to_ascii_lowercase();
        if proto != "tcp" && proto != "udp" {
            return None;
        }
        let ip_ok = |s: &str| s.is_empty() || s.parse::<std::net::Ipv4Addr>().is_ok();
        if !ip_ok(parts[2]) || !ip_ok(parts[4]) {
            return None;
        }
        Some(NatRule {
            name: parts[0].to_string(),
            proto,
            host_ip: parts[2].to_string(),
            host_port: parts[3].parse().ok()?,
            guest_ip: parts[4].to_string(),
            guest_port: parts[5].parse().ok()?,
        })
    }

    pub fn render(&self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.name, self.proto, self.host_ip, self.host_port, self.guest_ip, self.guest_port
        )
    }
}

/// A NIC slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    pub attachment: Attachment,
    pub mac: String,
    pub cable: bool,
    pub nictype: String,
    pub hostonly_adapter: String,
    /// The host-only network (`--host-only-net<N>`, VirtualBox 7 on macOS).
    #[serde(default)]
    pub hostonly_network: String,
    pub intnet: String,
    pub nat_network: String,
    pub bridge_adapter: String,
    pub natnet: String,
    pub nat_rules: Vec<NatRule>,
    pub speed: u32,
}

impl Nic {
    pub fn disabled() -> Nic {
        Nic {
            attachment: Attachment::None,
            mac: crate::model::ids::new_mac(),
            cable: true,
            nictype: "82540EM".into(),
            hostonly_adapter: String::new(),
            hostonly_network: String::new(),
            intnet: String::new(),
            nat_network: String::new(),
            bridge_adapter: String::new(),
            natnet: "nat".into(),
            nat_rules: Vec::new(),
            speed: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.attachment != Attachment::None
    }
}

pub const NIC_TYPES: &[&str] = &[
    "Am79C970A",
    "Am79C973",
    "Am79C960",
    "82540EM",
    "82543GC",
    "82545EM",
    "virtio",
];
