//! Validation of `[vms]`: replicas, images, adapters, addresses, MACs, dependencies.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use super::{Validator, is_identifier};
use crate::lab::diagnostic::DiagnosticKind;
use crate::lab::model::{
    Image, MacAddress, MacError, Network, NetworkKind, Nic, NicForward, SshRoute, Step, Vm,
};
use crate::lab::raw::{NicType, Protocol, RawLab, RawNic, RawVm};
use crate::lab::spanned::Sp;
use crate::lab::suggest::did_you_mean;

/// VirtualBox's adapter slots with the default PIIX3 chipset.
pub(crate) const NIC_SLOTS: usize = 8;

/// An adapter as written, before replicas give it their own address and MAC.
struct NicPattern {
    slot: u8,
    network: String,
    ip: Option<(Ipv4Addr, Range<usize>)>,
    mac: Option<(MacAddress, Range<usize>)>,
    nic_type: Option<NicType>,
    cable: bool,
    forwards: Vec<NicForward>,
    range: Range<usize>,
}

/// The names VMs will have once replicas are expanded (for template checks).
pub(crate) fn expanded_names(raw: &RawLab) -> Vec<String> {
    raw.vms
        .iter()
        .flat_map(|(key, vm)| replica_names(key.get(), vm.get()))
        .collect()
}

/// The most replicas one group may have: each is a VM of its own on one machine.
const MAX_REPLICAS: u32 = 100;

/// The longest VM description: it travels on VBoxManage's command line.
const MAX_DESCRIPTION: usize = 4096;

pub(crate) fn replica_names(group: &str, vm: &RawVm) -> Vec<String> {
    match &vm.count {
        None => vec![group.to_string()],
        Some(count) => (1..=(*count.get()).min(MAX_REPLICAS))
            .map(|index| format!("{group}{index}"))
            .collect(),
    }
}

impl Validator<'_> {
    pub(crate) fn vms(
        &mut self,
        raw: &RawLab,
        images: &[Image],
        networks: &[Network],
        prefix: &str,
    ) -> Vec<Vm> {
        let defaults = raw.defaults.as_ref().map(Sp::get);
        let image_names: Vec<&str> = raw.images.keys().map(|key| key.get().as_str()).collect();
        let group_names: Vec<String> = raw.vms.keys().map(|key| key.get().clone()).collect();
        let vm_names = self.scope.vms.clone();
        let default_steps = defaults
            .and_then(|defaults| defaults.provision.as_ref())
            .map(|steps| self.steps(steps))
            .unwrap_or_default();

        let mut vms = Vec::new();
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let mut vbox_names: HashMap<String, Range<usize>> = HashMap::new();
        let mut addresses: HashMap<String, Range<usize>> = HashMap::new();
        let mut macs: HashMap<String, Range<usize>> = HashMap::new();

        for (key, raw_vm) in &raw.vms {
            let group = key.get().clone();
            let vm = raw_vm.get();
            if self.left_out_vms.contains(&group) {
                continue;
            }
            if !is_identifier(&group) {
                self.error(
                    DiagnosticKind::InvalidValue,
                    key.range(),
                    format!("invalid vm name `{group}`: use letters, digits, `-` and `_`, starting with a letter"),
                )
                .set_label("not a valid name");
            }
            let count = match &vm.count {
                Some(count) if *count.get() == 0 => {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        count.range(),
                        format!("`count` of vm `{group}` is 0: expected at least 1"),
                    )
                    .set_label("expected 1 or more");
                    continue;
                }
                Some(count) if *count.get() > MAX_REPLICAS => {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        count.range(),
                        format!(
                            "`count` of vm `{group}` is {}: at most {MAX_REPLICAS} replicas (each is a VM of its own)",
                            count.get()
                        ),
                    )
                    .set_label(format!("expected 1 to {MAX_REPLICAS}"));
                    continue;
                }
                Some(count) => *count.get(),
                None => 1,
            };
            if let Some(description) = &vm.description
                && description.len() > MAX_DESCRIPTION
            {
                // VirtualBox takes it on VBoxManage's command line, which the OS bounds.
                self.error(
                    DiagnosticKind::InvalidValue,
                    key.range(),
                    format!(
                        "the description of vm `{group}` is {} bytes: at most {MAX_DESCRIPTION}",
                        description.len()
                    ),
                )
                .set_label("description too long");
                continue;
            }
            let image = self.vm_image(
                &group,
                key.range(),
                vm,
                defaults.and_then(|d| d.image.as_ref()),
                &image_names,
            );
            let memory = vm
                .memory
                .as_ref()
                .or(defaults.and_then(|d| d.memory.as_ref()));
            let memory = match memory {
                Some(memory) if *memory.get() < 16 => {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        memory.range(),
                        format!(
                            "memory of {} MB is too little: VirtualBox needs at least 16 MB",
                            memory.get()
                        ),
                    )
                    .set_label("memory is in MB");
                    512
                }
                Some(memory) => *memory.get(),
                None => 512,
            };
            let cpus = vm.cpus.as_ref().or(defaults.and_then(|d| d.cpus.as_ref()));
            let cpus = match cpus {
                Some(cpus) if !(1..=64).contains(cpus.get()) => {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        cpus.range(),
                        format!("{} CPUs: expected 1 to 64", cpus.get()),
                    )
                    .set_label("expected 1 to 64");
                    1
                }
                Some(cpus) => *cpus.get(),
                None => 1,
            };
            let default_nic_type = defaults.and_then(|d| d.nic_type.as_ref()).map(|t| *t.get());
            let patterns = self.nic_patterns(&group, vm, networks, default_nic_type);
            let ssh = self.ssh_route(&group, key.range(), vm, &patterns, networks, images, &image);
            let bootstrap = ssh.as_ref().and_then(|ssh| {
                self.bootstrap_route(
                    &group,
                    key.range(),
                    ssh,
                    &patterns,
                    networks,
                    images,
                    &image,
                )
            });
            let after = self.after(vm, &vm_names, &group_names, raw);
            let mut steps: Vec<Step> = default_steps.clone();
            if let Some(own) = &vm.provision {
                steps.extend(self.steps(own));
            }

            for (offset, name) in replica_names(&group, vm).into_iter().enumerate() {
                let offset = offset as u32;
                let vbox_name = format!("{prefix}{name}");
                let what = if vm.count.is_some() {
                    format!("vm `{name}` (replica {} of `{group}`)", offset + 1)
                } else {
                    format!("vm `{name}`")
                };
                self.duplicate(
                    &mut names,
                    name.clone(),
                    key.range(),
                    format!("two VMs are named `{name}`"),
                );
                self.duplicate(
                    &mut vbox_names,
                    vbox_name.clone(),
                    key.range(),
                    format!("two VMs would be named `{vbox_name}` in VirtualBox"),
                );
                let nics = self.replica_nics(
                    &patterns,
                    offset,
                    &what,
                    networks,
                    &mut addresses,
                    &mut macs,
                );
                let for_replica = |route: &Option<SshRoute>| match route {
                    Some(SshRoute::Address { network, ip }) => {
                        let replica_ip = nics
                            .iter()
                            .find(|nic| &nic.network == network)
                            .and_then(|nic| nic.ip)
                            .unwrap_or(*ip);
                        Some(SshRoute::Address {
                            network: network.clone(),
                            ip: replica_ip,
                        })
                    }
                    other => other.clone(),
                };
                let Some(ssh) = for_replica(&ssh) else {
                    self.broken.vms.insert(name);
                    self.broken.vms.insert(group.clone());
                    continue;
                };
                let bootstrap = for_replica(&bootstrap);
                for (dependency, range) in &after {
                    self.after_spans
                        .insert((name.clone(), dependency.clone()), range.clone());
                }
                vms.push(Vm {
                    name,
                    vbox_name,
                    group: group.clone(),
                    index: offset + 1,
                    count,
                    image: image.clone(),
                    memory,
                    cpus,
                    nics,
                    after: after
                        .iter()
                        .map(|(dependency, _)| dependency.clone())
                        .collect(),
                    steps: steps.clone(),
                    ssh,
                    bootstrap,
                    description: vm.description.clone(),
                    span: self.span(key.range()),
                });
            }
        }
        vms
    }

    fn vm_image(
        &mut self,
        group: &str,
        key: Range<usize>,
        vm: &RawVm,
        default: Option<&Sp<String>>,
        images: &[&str],
    ) -> String {
        match vm.image.as_ref().or(default) {
            Some(image) => {
                if !images.contains(&image.get().as_str()) {
                    let help = did_you_mean(image.get(), images);
                    self.error(
                        DiagnosticKind::UnknownReference,
                        image.range(),
                        format!("unknown image `{}`", image.get()),
                    )
                    .set_label(help.unwrap_or_else(|| "no such image in [images]".into()));
                }
                image.get().clone()
            }
            None if images.len() == 1 => images[0].to_string(),
            None => {
                let message = if images.is_empty() {
                    format!("vm `{group}` has no image: add an `[images.NAME]` table")
                } else {
                    format!("vm `{group}` has no image: set `image` or `defaults.image`")
                };
                self.error(DiagnosticKind::MissingKey, key, message)
                    .set_label("which image is it cloned from?");
                String::new()
            }
        }
    }

    fn nic_patterns(
        &mut self,
        group: &str,
        vm: &RawVm,
        networks: &[Network],
        default_type: Option<NicType>,
    ) -> Vec<NicPattern> {
        let raw_nics = vm.nics.as_deref().unwrap_or_default();
        if raw_nics.len() > NIC_SLOTS {
            let extra = &raw_nics[NIC_SLOTS];
            self.error(
                DiagnosticKind::NicCount,
                extra.range(),
                format!(
                    "vm `{group}` has {} NICs, but VirtualBox has {NIC_SLOTS} adapter slots",
                    raw_nics.len()
                ),
            )
            .set_label(format!("NIC {} of at most {NIC_SLOTS}", NIC_SLOTS + 1));
        }
        let network_names: Vec<&str> = networks
            .iter()
            .map(|network| network.name.as_str())
            .collect();
        let mut patterns = Vec::new();
        for (index, raw_nic) in raw_nics.iter().take(NIC_SLOTS).enumerate() {
            let nic = raw_nic.get();
            let Some(network) = networks
                .iter()
                .find(|network| &network.name == nic.net.get())
            else {
                if self.broken.networks.contains(nic.net.get()) {
                    continue;
                }
                let help = did_you_mean(nic.net.get(), &network_names);
                self.error(
                    DiagnosticKind::UnknownReference,
                    nic.net.range(),
                    format!(
                        "vm `{group}` is attached to unknown network `{}`",
                        nic.net.get()
                    ),
                )
                .set_label(help.unwrap_or_else(|| "no such network in [networks]".into()));
                continue;
            };
            let ip = self.nic_ip(group, nic, network);
            let mac = nic
                .mac
                .as_ref()
                .and_then(|text| self.mac(text))
                .map(|mac| (mac, nic.mac.as_ref().map_or(0..0, Sp::range)));
            let forwards = self.nic_forwards(nic, network);
            patterns.push(NicPattern {
                slot: index as u8 + 1,
                network: network.name.clone(),
                ip,
                mac,
                nic_type: nic.nic_type.as_ref().map(|t| *t.get()).or(default_type),
                cable: nic.cable.as_ref().is_none_or(|cable| *cable.get()),
                forwards,
                range: raw_nic.range(),
            });
        }
        patterns
    }

    fn nic_ip(
        &mut self,
        group: &str,
        nic: &RawNic,
        network: &Network,
    ) -> Option<(Ipv4Addr, Range<usize>)> {
        let text = nic.ip.as_ref()?;
        let address = self.address(text, "address")?;
        let problem = match &network.kind {
            NetworkKind::Nat => Some(
                "plain NAT gives every VM 10.0.2.15; a fixed `ip` needs a host-only, NAT or internal network",
            ),
            NetworkKind::Internal { cidr: None, .. } => {
                Some("give the internal network a `cidr` to use fixed addresses on it")
            }
            NetworkKind::HostOnly { dhcp: None, .. }
            | NetworkKind::NatNetwork { dhcp: None, .. } => Some(
                "fixed addresses are handed out by the network's DHCP server, and this network has `dhcp = false`",
            ),
            _ => None,
        };
        if let Some(problem) = problem {
            self.error(
                DiagnosticKind::Conflict,
                text.range(),
                format!(
                    "vm `{group}` cannot have a fixed address on network `{}`",
                    network.name
                ),
            )
            .set_label("not possible on this network")
            .set_help(Some(problem.to_string()));
            return None;
        }
        Some((address, text.range()))
    }

    /// Parses a MAC address with a located error.
    pub(crate) fn mac(&mut self, text: &Sp<String>) -> Option<MacAddress> {
        match MacAddress::parse(text.get()) {
            Ok(mac) => Some(mac),
            Err(MacError::Format) => {
                self.error(
                    DiagnosticKind::Mac,
                    text.range(),
                    format!("invalid MAC address `{}`: expected 12 hexadecimal digits, e.g. `080027A1B2C3` or `08:00:27:a1:b2:c3`", text.get()),
                )
                .set_label("not 12 hex digits");
                None
            }
            Err(MacError::Multicast) => {
                self.error(
                    DiagnosticKind::Mac,
                    text.range(),
                    format!("invalid MAC address `{}`: the multicast bit is set, and VirtualBox only accepts unicast MACs", text.get()),
                )
                .set_label("the second hex digit must be even (0, 2, 4, 6, 8, A, C, E)");
                None
            }
        }
    }

    fn nic_forwards(&mut self, nic: &RawNic, network: &Network) -> Vec<NicForward> {
        let Some(forwards) = &nic.forwards else {
            return Vec::new();
        };
        if !matches!(network.kind, NetworkKind::Nat) {
            if let Some(first) = forwards.first() {
                self.error(
                    DiagnosticKind::Conflict,
                    first.range(),
                    format!(
                        "NIC port forwards need a plain `nat` network, but `{}` is `{}`",
                        network.name,
                        network.kind_name()
                    ),
                )
                .set_label("only plain NAT adapters forward ports")
                .set_help(Some(
                    "NAT networks take their port forwards in `[networks.NAME] forwards`".into(),
                ));
            }
            return Vec::new();
        }
        let mut result = Vec::new();
        for forward in forwards {
            let forward = forward.get();
            if let Some(vm) = &forward.vm {
                self.error(
                    DiagnosticKind::Conflict,
                    vm.range(),
                    "`vm` does not apply to a NIC's port forward: it forwards to its own VM",
                )
                .set_label("remove this");
            }
            let host_ip = forward
                .host_ip
                .as_ref()
                .and_then(|text| self.address(text, "host address"));
            result.push(NicForward {
                name: forward.name.as_ref().map_or_else(
                    || format!("port{}", forward.guest_port.get()),
                    |name| name.get().clone(),
                ),
                proto: forward
                    .proto
                    .as_ref()
                    .map_or(Protocol::Tcp, |proto| *proto.get()),
                host_ip,
                host_port: *forward.host_port.get(),
                guest_port: *forward.guest_port.get(),
            });
        }
        result
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; a struct would only rename the arguments"
    )]
    fn ssh_route(
        &mut self,
        group: &str,
        key: Range<usize>,
        vm: &RawVm,
        patterns: &[NicPattern],
        networks: &[Network],
        images: &[Image],
        image: &str,
    ) -> Option<SshRoute> {
        let kind_of = |name: &str| {
            networks
                .iter()
                .find(|network| network.name == name)
                .map(|network| &network.kind)
        };
        let ssh_port = images
            .iter()
            .find(|candidate| candidate.name == image)
            .map_or(22, |image| image.login.port);
        let route_for = |pattern: &NicPattern| -> Option<SshRoute> {
            match kind_of(&pattern.network)? {
                NetworkKind::HostOnly { dhcp, .. } => match (pattern.ip.as_ref(), dhcp) {
                    (Some((ip, _)), _) => Some(SshRoute::Address {
                        network: pattern.network.clone(),
                        ip: *ip,
                    }),
                    (None, Some(_)) => Some(SshRoute::Leased {
                        network: pattern.network.clone(),
                        slot: pattern.slot,
                    }),
                    (None, None) => None,
                },
                NetworkKind::Nat => Some(SshRoute::Forward {
                    slot: pattern.slot,
                    host_port: pattern
                        .forwards
                        .iter()
                        .find(|forward| forward.guest_port == ssh_port)
                        .map(|forward| forward.host_port),
                }),
                _ => None,
            }
        };
        let on_broken_network = vm
            .nics
            .iter()
            .flatten()
            .any(|nic| self.broken.networks.contains(nic.get().net.get()));
        if let Some(wanted) = &vm.ssh_net {
            let Some(pattern) = patterns
                .iter()
                .find(|pattern| &pattern.network == wanted.get())
            else {
                if on_broken_network {
                    return None;
                }
                let attached: Vec<&str> = patterns
                    .iter()
                    .map(|pattern| pattern.network.as_str())
                    .collect();
                let help = did_you_mean(wanted.get(), &attached);
                self.error(
                    DiagnosticKind::UnknownReference,
                    wanted.range(),
                    format!(
                        "`ssh_net` names network `{}`, which vm `{group}` has no NIC on",
                        wanted.get()
                    ),
                )
                .set_label(help.unwrap_or_else(|| "not one of this VM's networks".into()));
                return None;
            };
            let route = route_for(pattern);
            if route.is_none() {
                self.error(
                    DiagnosticKind::Conflict,
                    wanted.range(),
                    format!("the host cannot reach vm `{group}` over network `{}`", wanted.get()),
                )
                .set_label("use a host-only network (fixed `ip` or DHCP) or a plain NAT adapter")
                .set_help(Some("VirtualBox's host only reaches guests directly on host-only networks; NAT networks and internal networks need a port forward".into()));
            }
            return route;
        }
        let host_only = patterns.iter().filter(|pattern| {
            matches!(
                kind_of(&pattern.network),
                Some(NetworkKind::HostOnly { .. })
            )
        });
        let nat = patterns
            .iter()
            .filter(|pattern| matches!(kind_of(&pattern.network), Some(NetworkKind::Nat)));
        let route = host_only
            .clone()
            .filter(|pattern| pattern.ip.is_some())
            .chain(host_only)
            .chain(nat)
            .find_map(route_for);
        if route.is_none()
            && !on_broken_network
            && (vm.nics.as_ref().is_none_or(Vec::is_empty) || !patterns.is_empty())
        {
            self.error(
                DiagnosticKind::Conflict,
                key,
                format!("labctl cannot reach vm `{group}` over SSH"),
            )
            .set_label("needs a host-only NIC (with a fixed `ip` or DHCP) or a plain NAT NIC")
            .set_help(Some("add e.g. `nics = [{ net = \"lab\", ip = \"192.168.56.10\" }]` with a host-only network `lab`".into()));
        }
        route
    }

    /// How labctl reaches the VM before its guest is set up: over adapter 1, the only adapter
    /// an appliance configures by itself (by DHCP). None when that is the SSH route itself.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; a struct would only rename the arguments"
    )]
    fn bootstrap_route(
        &mut self,
        group: &str,
        key: Range<usize>,
        ssh: &SshRoute,
        patterns: &[NicPattern],
        networks: &[Network],
        images: &[Image],
        image: &str,
    ) -> Option<SshRoute> {
        let first = patterns.iter().find(|pattern| pattern.slot == 1)?;
        let on_first = match ssh {
            SshRoute::Address { network, .. } | SshRoute::Leased { network, .. } => {
                *network == first.network
            }
            SshRoute::Forward { slot, .. } => *slot == 1,
        };
        if on_first {
            return None;
        }
        let kind = networks
            .iter()
            .find(|network| network.name == first.network)
            .map(|network| &network.kind);
        let ssh_port = images
            .iter()
            .find(|candidate| candidate.name == image)
            .map_or(22, |image| image.login.port);
        match kind {
            Some(NetworkKind::HostOnly { dhcp: Some(_), .. }) => Some(match first.ip.as_ref() {
                Some((ip, _)) => SshRoute::Address {
                    network: first.network.clone(),
                    ip: *ip,
                },
                None => SshRoute::Leased {
                    network: first.network.clone(),
                    slot: 1,
                },
            }),
            Some(NetworkKind::Nat) => Some(SshRoute::Forward {
                slot: 1,
                host_port: first
                    .forwards
                    .iter()
                    .find(|forward| forward.guest_port == ssh_port)
                    .map(|forward| forward.host_port),
            }),
            Some(kind) => {
                let what = match kind {
                    NetworkKind::HostOnly { .. } => "a host-only network without DHCP",
                    NetworkKind::NatNetwork { .. } => "a NAT network, which the host cannot reach",
                    _ => "an internal network, which the host cannot reach",
                };
                self.error(
                    DiagnosticKind::Conflict,
                    key,
                    format!(
                        "labctl cannot log in to vm `{group}` to set up its other adapters: adapter 1 is on `{}`, {what}",
                        first.network
                    ),
                )
                .set_label("an appliance brings up adapter 1 only, by DHCP")
                .set_help(Some("put a host-only network with DHCP, or a plain NAT network, first in `nics`".into()));
                None
            }
            None => None,
        }
    }

    fn after(
        &mut self,
        vm: &RawVm,
        vm_names: &[String],
        groups: &[String],
        raw: &RawLab,
    ) -> Vec<(String, Range<usize>)> {
        let mut after: Vec<(String, Range<usize>)> = Vec::new();
        for dependency in vm.after.iter().flatten() {
            let name = dependency.get();
            if let Some((key, group)) = raw.vms.iter().find(|(key, _)| key.get() == name) {
                after.extend(
                    replica_names(key.get(), group.get())
                        .into_iter()
                        .map(|name| (name, dependency.range())),
                );
            } else if vm_names.contains(name) {
                after.push((name.clone(), dependency.range()));
            } else if !self.broken.vms.contains(name) {
                let candidates: Vec<&String> = vm_names.iter().chain(groups).collect();
                let help = did_you_mean(name, candidates);
                self.error(
                    DiagnosticKind::UnknownReference,
                    dependency.range(),
                    format!("`after` names unknown vm `{name}`"),
                )
                .set_label(help.unwrap_or_else(|| "no such VM or replica group".into()));
            }
        }
        after.dedup_by(|a, b| a.0 == b.0);
        after
    }

    fn replica_nics(
        &mut self,
        patterns: &[NicPattern],
        offset: u32,
        what: &str,
        networks: &[Network],
        addresses: &mut HashMap<String, Range<usize>>,
        macs: &mut HashMap<String, Range<usize>>,
    ) -> Vec<Nic> {
        let mut nics = Vec::new();
        for pattern in patterns {
            let network = networks
                .iter()
                .find(|network| network.name == pattern.network)
                .expect("patterns only name known networks");
            let ip = pattern.ip.as_ref().and_then(|(base, range)| {
                let address = u32::from(*base).checked_add(offset).map(Ipv4Addr::from)?;
                self.replica_address(address, range.clone(), what, network)?;
                self.duplicate(
                    addresses,
                    format!("{}/{address}", network.name),
                    range.clone(),
                    format!(
                        "address {address} ({what}) is used twice on network `{}`",
                        network.name
                    ),
                );
                Some(address)
            });
            let mac = pattern.mac.as_ref().and_then(|(base, range)| {
                let Some(mac) = base.offset(offset) else {
                    self.error(
                        DiagnosticKind::Mac,
                        range.clone(),
                        format!("MAC of {what} runs past the end of its 24-bit block"),
                    )
                    .set_label("pick a lower starting MAC");
                    return None;
                };
                self.duplicate(
                    macs,
                    mac.to_vbox(),
                    range.clone(),
                    format!("MAC {mac} ({what}) is used twice"),
                );
                Some(mac)
            });
            nics.push(Nic {
                slot: pattern.slot,
                network: pattern.network.clone(),
                ip,
                mac,
                nic_type: pattern.nic_type,
                cable: pattern.cable,
                forwards: pattern.forwards.clone(),
                span: self.span(pattern.range.clone()),
            });
        }
        nics
    }

    /// Checks a VM's fixed address against everything else on its network.
    fn replica_address(
        &mut self,
        address: Ipv4Addr,
        range: Range<usize>,
        what: &str,
        network: &Network,
    ) -> Option<()> {
        let cidr = network.cidr()?;
        self.usable(
            cidr,
            address,
            range.clone(),
            &format!("the address of {what},"),
            &network.name,
        )?;
        let reserved = match &network.kind {
            NetworkKind::HostOnly { host, .. } => Some((*host, "the host's address")),
            NetworkKind::NatNetwork { gateway, .. } => {
                Some((*gateway, "the NAT network's gateway"))
            }
            _ => None,
        };
        if let Some((reserved, role)) = reserved
            && reserved == address
        {
            self.error(
                DiagnosticKind::Address,
                range,
                format!(
                    "the address of {what}, {address}, is {role} on network `{}`",
                    network.name
                ),
            )
            .set_label(role.to_string());
            return None;
        }
        if let Some(dhcp) = network.dhcp() {
            if dhcp.server == address {
                self.error(
                    DiagnosticKind::Address,
                    range,
                    format!("the address of {what}, {address}, is the DHCP server's address on network `{}`", network.name),
                )
                .set_label("taken by the DHCP server");
                return None;
            }
            if dhcp.leases(address) {
                self.error(
                    DiagnosticKind::Address,
                    range,
                    format!(
                        "the address of {what}, {address}, is inside the DHCP range {}-{} of network `{}`",
                        dhcp.lower, dhcp.upper, network.name
                    ),
                )
                .set_label("the DHCP server could lease it to another machine")
                .set_help(Some("pick an address outside the range, or move the range with `dhcp_range`".into()));
                return None;
            }
        }
        Some(())
    }
}
