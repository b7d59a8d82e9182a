//! Parsers of VBoxManage's listings: `list vms`, `list hostonlyifs`, `list natnets`,
//! `list dhcpservers`, `list systemproperties`, `getextradata … enumerate` and `--version`.
//! They read by key, not by position, and accept the formats of 6.1, 7.0, 7.1 and 7.2.

use std::net::Ipv4Addr;

use super::inventory::{ObservedDhcp, ObservedHostOnly, ObservedNatNetwork, Version};

/// `(name, uuid)` of every line of `list vms`.
pub fn parse_vm_list(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end();
            let open = line.rfind(" {")?;
            let uuid = line[open + 2..].strip_suffix('}')?;
            let name = line[..open].strip_prefix('"')?.strip_suffix('"')?;
            (uuid.len() == 36).then(|| (name.to_string(), uuid.to_string()))
        })
        .collect()
}

/// `Key: value` records; a new record starts at each `start_key` line.
fn records<'a>(text: &'a str, start_keys: &[&str]) -> Vec<Vec<(&'a str, &'a str)>> {
    let mut all: Vec<Vec<(&str, &str)>> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let entry = if line.starts_with(' ') || line.starts_with('\t') {
            ("", line.trim())
        } else if let Some((key, value)) = line.split_once(':') {
            (key.trim(), value.trim())
        } else {
            (line.trim(), "")
        };
        if start_keys.contains(&entry.0) {
            all.push(Vec::new());
        }
        if let Some(record) = all.last_mut() {
            record.push(entry);
        }
    }
    all
}

fn field<'a>(record: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    record.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn address(value: Option<&str>) -> Option<Ipv4Addr> {
    value.and_then(|value| value.parse().ok())
}

/// `list hostonlyifs`.
pub fn parse_host_only(text: &str) -> Vec<ObservedHostOnly> {
    records(text, &["Name"])
        .into_iter()
        .filter_map(|record| {
            let name = field(&record, "Name")?.to_string();
            Some(ObservedHostOnly {
                network_name: field(&record, "VBoxNetworkName")
                    .map_or_else(|| format!("HostInterfaceNetworking-{name}"), str::to_string),
                ip: address(field(&record, "IPAddress")),
                netmask: address(field(&record, "NetworkMask")),
                name,
            })
        })
        .collect()
}

/// `list hostonlynets` (VirtualBox 7 on macOS; reference §3.3): each network as the host sees
/// it, with the host's address (the network's first) where the interface's would be, so that
/// host-only networks and interfaces are found alike.
pub fn parse_host_only_networks(text: &str) -> Vec<ObservedHostOnly> {
    records(text, &["Name"])
        .into_iter()
        .filter_map(|record| {
            let name = field(&record, "Name")?.to_string();
            let netmask = address(field(&record, "NetworkMask"));
            let lower = address(field(&record, "LowerIP"));
            let host = match (lower, netmask) {
                (Some(lower), Some(mask)) => {
                    Some(Ipv4Addr::from((u32::from(lower) & u32::from(mask)) + 1))
                }
                _ => None,
            };
            Some(ObservedHostOnly {
                network_name: field(&record, "VBoxNetworkName")
                    .map_or_else(|| format!("hostonly-{name}"), str::to_string),
                ip: host,
                netmask,
                name,
            })
        })
        .collect()
}

/// What `list hostinfo` says of the host (VBoxManageList.cpp, `listHostInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// `Operating system:` (`Linux`, `Darwin`, `Windows`).
    pub os: Option<String>,
    /// `Operating system version:`.
    pub os_version: Option<String>,
    /// `Memory size:` in MB.
    pub memory_mb: Option<u64>,
    /// `Memory available:` in MB.
    pub available_mb: Option<u64>,
}

/// `list hostinfo`.
pub fn parse_host_info(text: &str) -> HostInfo {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .map(|value| value.trim().to_string())
    };
    let megabytes = |key: &str| {
        value(key).and_then(|value| value.trim_end_matches("MByte").trim().parse().ok())
    };
    HostInfo {
        os: value("Operating system:"),
        os_version: value("Operating system version:"),
        memory_mb: megabytes("Memory size:"),
        available_mb: megabytes("Memory available:"),
    }
}

/// `list natnets` (6.1: `NetworkName:`/`DHCP Enabled:`; 7.x: `Name:`/`DHCP Server:`).
pub fn parse_nat_networks(text: &str) -> Vec<ObservedNatNetwork> {
    records(text, &["Name", "NetworkName"])
        .into_iter()
        .filter_map(|record| {
            let name = field(&record, "Name")
                .or_else(|| field(&record, "NetworkName"))?
                .to_string();
            let dhcp = field(&record, "DHCP Server").or_else(|| field(&record, "DHCP Enabled"))
                == Some("Yes");
            let mut forwards = Vec::new();
            let mut in_forwards = false;
            for (key, value) in &record {
                if key.is_empty() {
                    if in_forwards {
                        forwards.push(value.to_string());
                    }
                    continue;
                }
                in_forwards = false;
                if key.starts_with("Port-forwarding (ipv4)") {
                    in_forwards = true;
                }
            }
            Some(ObservedNatNetwork {
                name,
                cidr: field(&record, "Network").unwrap_or("").to_string(),
                dhcp,
                forwards,
            })
        })
        .collect()
}

/// `list dhcpservers` (6.1+ and ≤ 6.0 keys).
pub fn parse_dhcp_servers(text: &str) -> Vec<ObservedDhcp> {
    records(text, &["NetworkName"])
        .into_iter()
        .filter_map(|record| {
            Some(ObservedDhcp {
                network_name: field(&record, "NetworkName")?.to_string(),
                server: address(field(&record, "Dhcpd IP").or_else(|| field(&record, "IP"))),
                netmask: address(field(&record, "NetworkMask")),
                lower: address(
                    field(&record, "LowerIPAddress").or_else(|| field(&record, "lowerIPAddress")),
                ),
                upper: address(
                    field(&record, "UpperIPAddress").or_else(|| field(&record, "upperIPAddress")),
                ),
                enabled: field(&record, "Enabled") == Some("Yes"),
            })
        })
        .collect()
}

/// The default machine folder from `list systemproperties`.
/// The address of `dhcpserver findlease` output (`IP Address:  192.168.56.101`), unless the
/// lease has expired (`State:       expired`).
pub fn parse_lease(text: &str) -> Option<Ipv4Addr> {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key).map(str::trim))
    };
    if value("State:") == Some("expired") {
        return None;
    }
    value("IP Address:")?.parse().ok()
}

pub fn parse_machine_folder(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("Default machine folder:"))
        .map(|value| value.trim().to_string())
}

/// `Key: K, Value: V` lines of `getextradata … enumerate`.
pub fn parse_extradata(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Key: ")?;
            let (key, value) = rest.split_once(", Value: ")?;
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The version of `VBoxManage --version` (`7.0.20r163906`, `6.1.38_Debianr153438`, after
/// optional `WARNING:` lines).
pub fn parse_version(text: &str) -> Option<Version> {
    let line = text.lines().map(str::trim).find(|line| {
        !line.is_empty() && !line.starts_with("WARNING:") && !line.starts_with("Please")
    })?;
    let numbers = line.split(['_', 'r']).next()?;
    let mut parts = numbers.split('.').map(|part| part.parse::<u32>());
    Some(Version {
        major: parts.next()?.ok()?,
        minor: parts.next()?.ok()?,
        patch: parts.next().and_then(Result::ok).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_only_networks_are_read_with_the_hosts_address() {
        let text = "Name:            vagrantnet-vbox1\nGUID:            10000000-0000-0000-0000-000000000000\n\nState:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.61.100\nUpperIP:         192.168.61.199\nVBoxNetworkName: hostonly-vagrantnet-vbox1\n\n";
        let found = parse_host_only_networks(text);
        assert_eq!(
            found.len(),
            1,
            "the blank line after GUID does not split the record"
        );
        assert_eq!(found[0].name, "vagrantnet-vbox1");
        assert_eq!(found[0].ip, Some(Ipv4Addr::new(192, 168, 61, 1)));
        let info = parse_host_info(
            "Host Information:\n\nProcessor count: 2\nMemory size: 24031 MByte\nMemory available: 21870 MByte\nOperating system: Darwin\nOperating system version: 23.6.0\n",
        );
        assert_eq!(info.os.as_deref(), Some("Darwin"));
        assert_eq!(info.os_version.as_deref(), Some("23.6.0"));
        assert_eq!(
            (info.memory_mb, info.available_mb),
            (Some(24031), Some(21870))
        );
    }

    #[test]
    fn a_lease_is_read_unless_expired() {
        let lease = "IP Address:  192.168.56.101\nMAC Address: 08:00:27:bb:14:75\nState:       acked\nIssued:      2024-05-01T10:00:00Z (1714557600)\nExpire:      2024-05-01T10:10:00Z (1714558200)\nTTL:         600 sec, currently 550 sec left\n";
        assert_eq!(parse_lease(lease), Some(Ipv4Addr::new(192, 168, 56, 101)));
        assert_eq!(parse_lease(&lease.replace("acked", "expired")), None);
        assert_eq!(parse_lease(""), None);
    }

    #[test]
    fn vm_list_keeps_odd_names() {
        let vms = parse_vm_list(
            "\"lab-web1\" {2c1b6a4e-4c2d-4f8e-9a51-0c5b8d2f1e77}\n\"a \"quoted\" {name}\" {6294f16b-4f05-4430-afb9-773bdb237aec}\n\"<inaccessible>\" {11111111-2222-3333-4444-555555555555}\n",
        );
        assert_eq!(
            vms[0],
            (
                "lab-web1".to_string(),
                "2c1b6a4e-4c2d-4f8e-9a51-0c5b8d2f1e77".to_string()
            )
        );
        assert_eq!(vms[1].0, "a \"quoted\" {name}");
        assert_eq!(vms.len(), 3);
    }

    #[test]
    fn host_only_interfaces() {
        let text = "Name:            vboxnet0\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.56.1\nNetworkMask:     255.255.255.0\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\n\n";
        let found = parse_host_only(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ip, Some(Ipv4Addr::new(192, 168, 56, 1)));
        assert_eq!(found[0].network_name, "HostInterfaceNetworking-vboxnet0");
    }

    #[test]
    fn nat_networks_in_both_formats() {
        let v7 = "NAT Networks:\n\nName:         vm-net\nEnabled:      Yes\nNetwork:      192.168.10.0/24\nGateway:      192.168.10.1\nDHCP Server:  No\nIPv6:         No\nIPv6 Prefix:  fd17:625c:f037:2::/64\nIPv6 Default: No\nPort-forwarding (ipv4)\n        ssh-to-storage-1:tcp:[]:3323:[192.168.10.23]:22\nloopback mappings (ipv4)\n        127.0.0.1=2\n\n1 network found\n";
        let found = parse_nat_networks(v7);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "vm-net");
        assert!(!found[0].dhcp);
        assert_eq!(
            found[0].forwards,
            ["ssh-to-storage-1:tcp:[]:3323:[192.168.10.23]:22"]
        );
        let v6 = "NetworkName:    NatNetwork\nIP:             10.0.2.1\nNetwork:        10.0.2.0/24\nIPv6 Enabled:   No\nIPv6 Prefix:    fd17:625c:f037:2::/64\nDHCP Enabled:   Yes\nEnabled:        Yes\nloopback mappings (ipv4)\n        127.0.0.1=2\n\n";
        let found = parse_nat_networks(v6);
        assert_eq!(found[0].name, "NatNetwork");
        assert!(found[0].dhcp);
        assert!(found[0].forwards.is_empty());
    }

    #[test]
    fn dhcp_servers_and_versions() {
        let text = "NetworkName:    HostInterfaceNetworking-vboxnet0\nDhcpd IP:       192.168.56.100\nLowerIPAddress: 192.168.56.101\nUpperIPAddress: 192.168.56.254\nNetworkMask:    255.255.255.0\nEnabled:        Yes\nGlobal Configuration:\n    minLeaseTime:     default\n\n";
        let found = parse_dhcp_servers(text);
        assert_eq!(found[0].server, Some(Ipv4Addr::new(192, 168, 56, 100)));
        assert!(found[0].enabled);
        assert_eq!(
            parse_version("7.0.20r163906\n"),
            Some(Version {
                major: 7,
                minor: 0,
                patch: 20
            })
        );
        assert_eq!(
            parse_version(
                "WARNING: The vboxdrv kernel module is not loaded.\n6.1.38_Debianr153438\n"
            ),
            Some(Version {
                major: 6,
                minor: 1,
                patch: 38
            })
        );
        assert_eq!(
            parse_machine_folder("Default machine folder:          /home/me/VirtualBox VMs\n")
                .as_deref(),
            Some("/home/me/VirtualBox VMs")
        );
        assert_eq!(
            parse_extradata("Key: labctl/network/hostonly/vboxnet0, Value: exam3\n"),
            [(
                "labctl/network/hostonly/vboxnet0".to_string(),
                "exam3".to_string()
            )]
        );
    }
}
