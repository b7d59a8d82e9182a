//! Validation of `[networks]`: address ranges, DHCP settings, VirtualBox's host-only limits.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::Ipv4Net;

use super::{Validator, is_identifier};
use crate::lab::diagnostic::{Diagnostic, DiagnosticKind};
use crate::lab::model::{Dhcp, Network, NetworkForward, NetworkKind, Vm};
use crate::lab::raw::{NetworkType, Protocol, RawLab, RawNetwork};
use crate::lab::spanned::Sp;

/// VirtualBox 6.1.28+ only lets host-only interfaces use this range unless
/// `/etc/vbox/networks.conf` allows more.
pub(crate) const HOST_ONLY_ALLOWED: &str = "192.168.56.0/21";

impl NetworkType {
    /// The word used in the lab file.
    pub fn key(self) -> &'static str {
        match self {
            Self::Hostonly => "hostonly",
            Self::Natnetwork => "natnetwork",
            Self::Nat => "nat",
            Self::Internal => "internal",
        }
    }
}

impl Validator<'_> {
    pub(crate) fn networks(&mut self, raw: &RawLab, lab_name: &str) -> Vec<Network> {
        let mut networks = Vec::new();
        let mut vbox_names: HashMap<String, Range<usize>> = HashMap::new();
        for (key, network) in &raw.networks {
            let name = key.get().clone();
            if !is_identifier(&name) {
                self.error(
                    DiagnosticKind::InvalidValue,
                    key.range(),
                    format!("invalid network name `{name}`: use letters, digits, `-` and `_`, starting with a letter"),
                )
                .set_label("not a valid name");
            }
            let raw_network = network.get();
            let Some(kind) = self.network_kind(&name, raw_network, lab_name) else {
                self.broken.networks.insert(name);
                continue;
            };
            let identity = match &kind {
                NetworkKind::HostOnly { interface, .. } => interface
                    .as_ref()
                    .map(|interface| ("host-only interface", interface.clone())),
                NetworkKind::NatNetwork { vbox_name, .. } => {
                    Some(("NAT network", vbox_name.clone()))
                }
                NetworkKind::Internal { vbox_name, .. } => {
                    Some(("internal network", vbox_name.clone()))
                }
                NetworkKind::Nat => None,
            };
            if let Some((what, vbox_name)) = identity {
                let range = raw_network.name.as_ref().map_or(key.range(), Sp::range);
                self.duplicate(
                    &mut vbox_names,
                    format!("{what}:{vbox_name}"),
                    range,
                    format!("two networks use the {what} `{vbox_name}`"),
                );
            }
            networks.push(Network {
                name,
                kind,
                span: self.span(key.range()),
            });
        }
        self.overlaps(raw, &networks);
        networks
    }

    fn network_kind(
        &mut self,
        name: &str,
        raw: &RawNetwork,
        lab_name: &str,
    ) -> Option<NetworkKind> {
        let kind = *raw.kind.get();
        self.keys_not_for_kind(raw, kind);
        match kind {
            NetworkType::Hostonly => {
                let cidr = self.cidr(name, raw, true)?;
                let host = match &raw.host {
                    Some(host) => {
                        let address = self.address(host, "host address")?;
                        self.usable(cidr, address, host.range(), "the host address", name)?;
                        address
                    }
                    None => first_host(cidr),
                };
                let allowed: Ipv4Net = HOST_ONLY_ALLOWED.parse().expect("constant is a valid CIDR");
                if !allowed.contains(&cidr) {
                    let range = raw.cidr.as_ref().map_or(0..0, Sp::range);
                    let diagnostic = Diagnostic::warning(
                        DiagnosticKind::HostOnlyRange,
                        self.span(range),
                        format!("host-only network `{name}` ({cidr}) is outside VirtualBox's default allowed range {HOST_ONLY_ALLOWED}"),
                    )
                    .with_label(format!("outside {HOST_ONLY_ALLOWED}"))
                    .with_help(format!(
                        "VirtualBox 6.1.28+ on Linux and macOS refuses it unless /etc/vbox/networks.conf allows it, e.g. with the line `* {cidr}`"
                    ));
                    self.push(diagnostic);
                }
                let dhcp = self.dhcp(name, raw, cidr, host, 100);
                Some(NetworkKind::HostOnly {
                    interface: raw.name.as_ref().map(|name| name.get().clone()),
                    cidr,
                    host,
                    dhcp,
                })
            }
            NetworkType::Natnetwork => {
                let cidr = self.cidr(name, raw, true)?;
                let gateway = first_host(cidr);
                let dhcp = self.dhcp(name, raw, cidr, gateway, 3);
                Some(NetworkKind::NatNetwork {
                    vbox_name: raw
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{lab_name}-{name}"), |name| name.get().clone()),
                    cidr,
                    gateway,
                    dhcp,
                    forwards: Vec::new(),
                })
            }
            NetworkType::Nat => Some(NetworkKind::Nat),
            NetworkType::Internal => {
                let cidr = if raw.cidr.is_some() {
                    Some(self.cidr(name, raw, false)?)
                } else {
                    None
                };
                Some(NetworkKind::Internal {
                    vbox_name: raw
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{lab_name}-{name}"), |name| name.get().clone()),
                    cidr,
                })
            }
        }
    }

    /// Reports keys that the network's kind does not use.
    fn keys_not_for_kind(&mut self, raw: &RawNetwork, kind: NetworkType) {
        let present: [(&str, Option<Range<usize>>); 6] = [
            ("host", raw.host.as_ref().map(Sp::range)),
            ("dhcp", raw.dhcp.as_ref().map(Sp::range)),
            ("dhcp_server", raw.dhcp_server.as_ref().map(Sp::range)),
            ("dhcp_range", raw.dhcp_range.as_ref().map(Sp::range)),
            (
                "forwards",
                raw.forwards
                    .as_ref()
                    .and_then(|list| list.first().map(Sp::range)),
            ),
            ("cidr", raw.cidr.as_ref().map(Sp::range)),
        ];
        let allowed: &[&str] = match kind {
            NetworkType::Hostonly => &["host", "dhcp", "dhcp_server", "dhcp_range", "cidr"],
            NetworkType::Natnetwork => &["dhcp", "dhcp_server", "dhcp_range", "forwards", "cidr"],
            NetworkType::Nat => &[],
            NetworkType::Internal => &["cidr"],
        };
        for (key, range) in present {
            let Some(range) = range else { continue };
            if allowed.contains(&key) {
                continue;
            }
            let hint = match (kind, key) {
                (NetworkType::Nat, "forwards") => {
                    "plain NAT port forwards belong to the VM's NIC: `nics = [{ net = \"…\", forwards = [...] }]`"
                }
                (NetworkType::Nat, _) => {
                    "plain NAT gives every VM its own private 10.0.2.0/24; it has no settings"
                }
                (_, "forwards") => {
                    "port forwards belong to `natnetwork` networks or to plain `nat` NICs"
                }
                _ => "only host-only and NAT networks have a host address and a DHCP server",
            };
            self.error(
                DiagnosticKind::Conflict,
                range,
                format!("`{key}` does not apply to a `{}` network", kind.key()),
            )
            .set_label("not used by this kind of network")
            .set_help(Some(hint.to_string()));
        }
        if raw.name.is_some() && kind == NetworkType::Nat {
            let range = raw.name.as_ref().map_or(0..0, Sp::range);
            self.error(
                DiagnosticKind::Conflict,
                range,
                "`name` does not apply to a `nat` network",
            )
            .set_label("plain NAT has no VirtualBox name");
        }
    }

    /// Parses and checks `cidr`.
    fn cidr(&mut self, name: &str, raw: &RawNetwork, required: bool) -> Option<Ipv4Net> {
        let Some(text) = &raw.cidr else {
            if required {
                self.error(
                    DiagnosticKind::MissingKey,
                    raw.kind.range(),
                    format!("network `{name}` needs a `cidr`, e.g. `cidr = \"192.168.56.0/24\"`"),
                )
                .set_label(format!(
                    "a `{}` network has an address range",
                    raw.kind.get().key()
                ));
            }
            return None;
        };
        let Ok(cidr) = text.get().parse::<Ipv4Net>() else {
            self.error(
                DiagnosticKind::InvalidValue,
                text.range(),
                format!(
                    "invalid cidr `{}`: expected an IPv4 network such as 192.168.56.0/24",
                    text.get()
                ),
            )
            .set_label("not an IPv4 network");
            return None;
        };
        if cidr.addr() != cidr.network() {
            self.error(
                DiagnosticKind::InvalidValue,
                text.range(),
                format!("cidr `{cidr}` has host bits set"),
            )
            .set_label(format!("did you mean `{}`?", cidr.trunc()))
            .set_help(Some(format!(
                "a `cidr` names the network by its first address; the host's own address on it is `host = \"{}\"`",
                cidr.addr()
            )));
            return None;
        }
        if cidr.prefix_len() > 30 {
            self.error(
                DiagnosticKind::InvalidValue,
                text.range(),
                format!("network `{cidr}` is too small: VMs need a /30 or larger"),
            )
            .set_label("too small");
            return None;
        }
        Some(cidr)
    }

    /// Checks that `address` is a usable address of `cidr` (not its network or broadcast).
    pub(crate) fn usable(
        &mut self,
        cidr: Ipv4Net,
        address: Ipv4Addr,
        range: Range<usize>,
        what: &str,
        network: &str,
    ) -> Option<()> {
        let problem = if !cidr.contains(&address) {
            format!("{what} {address} is outside network `{network}` ({cidr})")
        } else if address == cidr.network() {
            format!("{what} {address} is the network address of `{network}` ({cidr})")
        } else if address == cidr.broadcast() {
            format!("{what} {address} is the broadcast address of `{network}` ({cidr})")
        } else {
            return Some(());
        };
        self.error(DiagnosticKind::Address, range, problem)
            .set_label(format!(
                "expected an address from {} to {}",
                first_host(cidr),
                last_host(cidr)
            ));
        None
    }

    /// The DHCP server of a network, with defaults filled in; None when off or invalid.
    fn dhcp(
        &mut self,
        name: &str,
        raw: &RawNetwork,
        cidr: Ipv4Net,
        reserved: Ipv4Addr,
        server_offset: u32,
    ) -> Option<Dhcp> {
        if raw.dhcp.as_ref().is_some_and(|on| !*on.get()) {
            for key in [&raw.dhcp_server, &raw.dhcp_range].into_iter().flatten() {
                self.error(
                    DiagnosticKind::Conflict,
                    key.range(),
                    format!("network `{name}` sets DHCP settings but `dhcp = false`"),
                )
                .set_label("unused while DHCP is off");
            }
            return None;
        }
        let defaults = default_dhcp(cidr, server_offset);
        let server = match &raw.dhcp_server {
            Some(text) => {
                let address = self.address(text, "DHCP server address")?;
                self.usable(cidr, address, text.range(), "the DHCP server address", name)?;
                if address == reserved {
                    self.error(
                        DiagnosticKind::Address,
                        text.range(),
                        format!("the DHCP server address {address} is already the host's or gateway's address on `{name}`"),
                    )
                    .set_label("taken");
                    return None;
                }
                address
            }
            None => defaults.server,
        };
        let (lower, upper) = match &raw.dhcp_range {
            Some(text) => {
                let Some((first, last)) = text.get().split_once('-') else {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        text.range(),
                        format!("invalid DHCP range `{}`: expected `FIRST-LAST`, e.g. `192.168.56.101-192.168.56.254`", text.get()),
                    )
                    .set_label("expected FIRST-LAST");
                    return None;
                };
                let inner = |part: &str| Sp::new(part.trim().to_string(), text.range());
                let lower = self.address(&inner(first), "DHCP range start")?;
                let upper = self.address(&inner(last), "DHCP range end")?;
                self.usable(cidr, lower, text.range(), "the DHCP range start", name)?;
                self.usable(cidr, upper, text.range(), "the DHCP range end", name)?;
                if lower > upper {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        text.range(),
                        format!("DHCP range `{}` ends before it starts", text.get()),
                    )
                    .set_label("FIRST must not be after LAST");
                    return None;
                }
                (lower, upper)
            }
            None => (defaults.lower, defaults.upper),
        };
        let dhcp = Dhcp {
            server,
            lower,
            upper,
        };
        if dhcp.leases(server) || dhcp.leases(reserved) {
            let range = raw
                .dhcp_range
                .as_ref()
                .or(raw.dhcp_server.as_ref())
                .map_or(raw.kind.range(), Sp::range);
            self.error(
                DiagnosticKind::Address,
                range,
                format!("the DHCP range {lower}-{upper} of `{name}` contains the DHCP server's or the host's own address"),
            )
            .set_label("overlaps a reserved address");
            return None;
        }
        Some(dhcp)
    }

    fn overlaps(&mut self, raw: &RawLab, networks: &[Network]) {
        for (index, network) in networks.iter().enumerate() {
            let Some(cidr) = network.cidr() else { continue };
            for earlier in &networks[..index] {
                let Some(other) = earlier.cidr() else {
                    continue;
                };
                if cidr.contains(&other.network()) || other.contains(&cidr.network()) {
                    let range = raw
                        .networks
                        .iter()
                        .find(|(key, _)| key.get() == &network.name)
                        .and_then(|(_, value)| value.get().cidr.as_ref().map(Sp::range))
                        .unwrap_or(network.span.range.clone());
                    let first = earlier.span.clone();
                    self.error(
                        DiagnosticKind::Address,
                        range,
                        format!(
                            "network `{}` ({cidr}) overlaps network `{}` ({other})",
                            network.name, earlier.name
                        ),
                    )
                    .set_label("overlapping addresses")
                    .add_note(first, "the other network");
                }
            }
        }
    }

    /// Resolves NAT network port forwards now that VMs and their addresses are known.
    pub(crate) fn network_forwards(&mut self, raw: &RawLab, networks: &mut [Network], vms: &[Vm]) {
        for network in networks.iter_mut() {
            let NetworkKind::NatNetwork { forwards, .. } = &mut network.kind else {
                continue;
            };
            let Some((_, raw_network)) = raw
                .networks
                .iter()
                .find(|(key, _)| key.get() == &network.name)
            else {
                continue;
            };
            for forward in raw_network.get().forwards.iter().flatten() {
                let forward = forward.get();
                let Some(vm_name) = &forward.vm else {
                    self.error(
                        DiagnosticKind::MissingKey,
                        forward.host_port.range(),
                        format!(
                            "port forward of NAT network `{}` needs `vm`, the VM it forwards to",
                            network.name
                        ),
                    )
                    .set_label("forwarded to which VM?");
                    continue;
                };
                let Some(vm) = vms.iter().find(|vm| &vm.name == vm_name.get()) else {
                    if self.broken.vms.contains(vm_name.get()) {
                        continue;
                    }
                    let names: Vec<&str> = vms.iter().map(|vm| vm.name.as_str()).collect();
                    let help = crate::lab::suggest::did_you_mean(vm_name.get(), &names);
                    self.error(
                        DiagnosticKind::UnknownReference,
                        vm_name.range(),
                        format!("port forward goes to unknown vm `{}`", vm_name.get()),
                    )
                    .set_label(help.unwrap_or_else(|| "no such VM".into()));
                    continue;
                };
                let Some(guest_ip) = vm.nic_on(&network.name).and_then(|nic| nic.ip) else {
                    self.error(
                        DiagnosticKind::Conflict,
                        vm_name.range(),
                        format!("vm `{}` needs a fixed `ip` on NAT network `{}` to receive a port forward", vm.name, network.name),
                    )
                    .set_label("no fixed address on this network");
                    continue;
                };
                let host_ip = forward
                    .host_ip
                    .as_ref()
                    .and_then(|text| self.address(text, "host address"));
                let proto = forward
                    .proto
                    .as_ref()
                    .map_or(Protocol::Tcp, |proto| *proto.get());
                forwards.push(NetworkForward {
                    name: forward.name.as_ref().map_or_else(
                        || format!("{}-{}", vm.name, forward.guest_port.get()),
                        |name| name.get().clone(),
                    ),
                    proto,
                    host_ip,
                    host_port: *forward.host_port.get(),
                    vm: vm.name.clone(),
                    guest_ip,
                    guest_port: *forward.guest_port.get(),
                });
            }
        }
    }
}

/// The first usable address of a network.
pub(crate) fn first_host(cidr: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(cidr.network()) + 1)
}

/// The last usable address of a network.
pub(crate) fn last_host(cidr: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(cidr.broadcast()) - 1)
}

/// labctl's DHCP defaults: for a /24 or larger the server at `.server_offset` (VirtualBox's
/// own default for vboxnet0 is `.100`) and leases from `.101` to `.254` of the first /24,
/// which leaves `.2`–`.99` (and, in larger networks, everything past the first /24) for fixed
/// addresses; for smaller networks the upper half.
fn default_dhcp(cidr: Ipv4Net, server_offset: u32) -> Dhcp {
    let network = u32::from(cidr.network());
    let broadcast = u32::from(cidr.broadcast());
    let size = broadcast - network + 1;
    if size >= 256 {
        Dhcp {
            server: Ipv4Addr::from(network + server_offset),
            lower: Ipv4Addr::from(network + 101),
            upper: Ipv4Addr::from((network + 254).min(broadcast - 1)),
        }
    } else {
        let middle = network + size / 2;
        Dhcp {
            server: Ipv4Addr::from(middle),
            lower: Ipv4Addr::from(middle + 1),
            upper: Ipv4Addr::from(broadcast - 1),
        }
    }
}
