//! The host's virtual networks: host-only interfaces, NAT networks and DHCP servers.

use serde::{Deserialize, Serialize};

use crate::model::nic::NatRule;

/// A classic host-only interface (`vboxnetN`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostOnlyIf {
    pub name: String,
    pub guid: String,
    pub ip: String,
    pub mask: String,
    pub ipv6: String,
    pub ipv6_len: u32,
    pub mac: String,
    pub dhcp: bool,
}

impl HostOnlyIf {
    pub fn network_name(&self) -> String {
        format!("HostInterfaceNetworking-{}", self.name)
    }
}

/// A NAT network port forward (`name:tcp:[hostip]:hostport:[guestip]:guestport`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatNetRule {
    pub name: String,
    pub proto: String,
    pub host_ip: String,
    pub host_port: u16,
    pub guest_ip: String,
    pub guest_port: u16,
}

impl NatNetRule {
    pub fn parse(rule: &str) -> Option<NatNetRule> {
        let parts: Vec<&str> = rule.split(':').collect();
        if parts.len() != 6 || parts[0].is_empty() {
            return None;
        }
        let proto = parts[1].to_ascii_lowercase();
        if proto != "tcp" && proto != "udp" {
            return None;
        }
        let bracket = |s: &str| -> Option<String> {
            let inner = s.strip_prefix('[')?.strip_suffix(']')?;
            if inner.is_empty() || inner.parse::<std::net::Ipv4Addr>().is_ok() {
                Some(inner.to_string())
            } else {
                None
            }
        };
        Some(NatNetRule {
            name: parts[0].into(),
            proto,
            host_ip: bracket(parts[2])?,
            host_port: parts[3].parse().ok()?,
            guest_ip: bracket(parts[4])?,
            guest_port: parts[5].parse().ok()?,
        })
    }

    pub fn render(&self) -> String {
        format!(
            "{}:{}:[{}]:{}:[{}]:{}",
            self.name, self.proto, self.host_ip, self.host_port, self.guest_ip, self.guest_port
        )
    }

    /// The same rule seen as a per-VM NAT rule (for the forwarder, which serves both).
    pub fn as_nat_rule(&self) -> NatRule {
        NatRule {
            name: self.name.clone(),
            proto: self.proto.clone(),
            host_ip: self.host_ip.clone(),
            host_port: self.host_port,
            guest_ip: self.guest_ip.clone(),
            guest_port: self.guest_port,
        }
    }
}

/// A NAT network (`natnetwork add`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NatNetwork {
    pub name: String,
    pub cidr: String,
    pub enabled: bool,
    pub dhcp: bool,
    pub ipv6: bool,
    pub ipv6_prefix: String,
    pub ipv6_default: bool,
    pub rules: Vec<NatNetRule>,
    pub loopback: Vec<String>,
    pub started: bool,
}

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
