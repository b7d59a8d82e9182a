//! Which host-only addresses VirtualBox 6.1.28+ lets a host-only interface have on Linux and
//! macOS (host-only interfaces, not VirtualBox 7's macOS host-only networks), as
//! VBoxNetAdpCtl decides it (`GlobalNetworkPermissionsConfig::forbids`): without
//! `/etc/vbox/networks.conf`, 192.168.56.0/21 only; with it, only the networks on its lines whose
//! first token is `*` — the default is then gone. An address matches a network when its own
//! mask is at least as long as the network's and its network bits agree.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Where VirtualBox reads the rule on Linux and macOS.
pub const NETWORKS_CONF: &str = "/etc/vbox/networks.conf";

/// The allowed IPv4 networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOnlyRule {
    allowed: Vec<Ipv4Net>,
    /// Whether they come from a `networks.conf` (else they are VirtualBox's default).
    pub from_file: bool,
}

impl HostOnlyRule {
    /// The rule for a `networks.conf` with this text, or VirtualBox's default when there is none.
    pub fn new(networks_conf: Option<&str>) -> Self {
        let Some(text) = networks_conf else {
            return Self {
                allowed: vec![Ipv4Net::new(Ipv4Addr::new(192, 168, 56, 0), 21).expect("valid")],
                from_file: false,
            };
        };
        let allowed = text
            .lines()
            .filter_map(|line| {
                let mut tokens = line.split([' ', '\t']).filter(|token| !token.is_empty());
                (tokens.next() == Some("*")).then_some(tokens)
            })
            .flatten()
            .filter_map(|token| token.parse::<Ipv4Net>().ok())
            .collect();
        Self {
            allowed,
            from_file: true,
        }
    }

    /// Whether the host may have `address` with this network's mask.
    pub fn allows(&self, address: Ipv4Addr, network: Ipv4Net) -> bool {
        self.allowed.iter().any(|allowed| {
            network.prefix_len() >= allowed.prefix_len() && allowed.contains(&address)
        })
    }

    /// The allowed networks, for messages.
    pub fn networks(&self) -> &[Ipv4Net] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(rule: &HostOnlyRule, host: [u8; 4], cidr: &str) -> bool {
        rule.allows(Ipv4Addr::from(host), cidr.parse().unwrap())
    }

    #[test]
    fn without_a_file_only_the_default_range() {
        let rule = HostOnlyRule::new(None);
        assert!(allows(&rule, [192, 168, 56, 1], "192.168.56.0/24"));
        assert!(allows(&rule, [192, 168, 63, 1], "192.168.63.0/24"));
        assert!(!allows(&rule, [192, 168, 64, 1], "192.168.64.0/24"));
        assert!(!allows(&rule, [10, 0, 0, 1], "10.0.0.0/24"));
        assert!(
            !allows(&rule, [192, 168, 56, 1], "192.168.0.0/16"),
            "wider than /21"
        );
    }

    #[test]
    fn a_file_replaces_the_default() {
        let rule = HostOnlyRule::new(Some(
            "# lab ranges\n* 10.0.0.0/8 not-a-network\n*192.168.0.0/16\n\t* 172.16.0.0/12 # end\n",
        ));
        assert!(rule.from_file);
        assert!(allows(&rule, [10, 9, 0, 1], "10.9.0.0/24"));
        assert!(allows(&rule, [172, 20, 0, 1], "172.20.0.0/24"));
        assert!(!allows(&rule, [192, 168, 56, 1], "192.168.56.0/24"));
        assert!(!allows(&rule, [192, 168, 1, 1], "192.168.1.0/24"));
        assert_eq!(rule.networks().len(), 2);
    }
}
