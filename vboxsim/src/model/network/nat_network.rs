//! A NAT network (`natnetwork add`) and its port-forward rules.

use serde::{Deserialize, Serialize};

use crate::model::nic::NatRule;

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
