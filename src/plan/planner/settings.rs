//! What each VM should be (memory, CPUs, NICs with MACs and port forwards) and how an existing
//! VM differs from it.

use std::collections::BTreeSet;

use sha2::Digest;

use super::super::action::{NicAttachment, NicSetting, VmSettings};
use super::super::mac_scheme::MacScheme;
use crate::hypervisor::inventory::{Attachment, Inventory, ObservedVm};
use crate::lab::model::{Lab, NetworkKind, Vm};
use crate::lab::raw::{NicType, Protocol};

pub(super) fn nic_type_name(nic_type: NicType) -> &'static str {
    match nic_type {
        NicType::Am79C970A => "Am79C970A",
        NicType::Am79C973 => "Am79C973",
        NicType::I82540EM => "82540EM",
        NicType::I82543GC => "82543GC",
        NicType::I82545EM => "82545EM",
        NicType::Virtio => "virtio",
    }
}

pub(super) fn protocol_name(proto: Protocol) -> &'static str {
    match proto {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// Name of the NAT port-forward rule labctl adds for SSH when the lab does not name one.
pub const SSH_FORWARD_RULE: &str = "labctl-ssh";

/// Host ports already forwarded by any VM or NAT network, and by the lab's own rules.
pub(super) fn used_host_ports(lab: &Lab, inventory: &Inventory) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = inventory
        .vms
        .iter()
        .flat_map(|vm| vm.nics.iter().flat_map(|nic| nic.forwards.iter()))
        .filter_map(|rule| rule.split(',').nth(3).and_then(|port| port.parse().ok()))
        .collect();
    ports.extend(
        inventory
            .nat_networks
            .iter()
            .flat_map(|network| network.forwards.iter())
            .filter_map(|rule| {
                rule.split(':')
                    .nth(3)
                    .and_then(|port| port.parse::<u16>().ok())
            }),
    );
    ports.extend(lab.networks.iter().flat_map(|network| match &network.kind {
        crate::lab::model::NetworkKind::NatNetwork { forwards, .. } => {
            forwards.iter().map(|forward| forward.host_port).collect()
        }
        _ => Vec::new(),
    }));
    ports.extend(lab.vms.iter().flat_map(|vm| {
        vm.nics
            .iter()
            .flat_map(|nic| nic.forwards.iter().map(|forward| forward.host_port))
    }));
    ports
}

/// The host port forwarded to a VM's SSH server: the one it has, else the same every run
/// (a hash of lab and VM in 20000–29999), skipping ports in use.
pub(super) fn ssh_forward_port(
    lab: &Lab,
    vm: &Vm,
    observed: Option<&ObservedVm>,
    slot: u8,
    ports: &mut BTreeSet<u16>,
) -> u16 {
    let prefix = format!("{SSH_FORWARD_RULE},");
    let existing = observed
        .and_then(|observed| observed.nic(slot))
        .and_then(|nic| nic.forwards.iter().find(|rule| rule.starts_with(&prefix)))
        .and_then(|rule| rule.split(',').nth(3))
        .and_then(|port| port.parse().ok());
    if let Some(port) = existing {
        return port;
    }
    let digest = sha2::Sha256::digest(format!("{}\0{}", lab.name, vm.name).as_bytes());
    let mut port = 20000 + (u16::from_be_bytes([digest[0], digest[1]]) % 10000);
    while !ports.insert(port) {
        port = if port >= 29999 { 20000 } else { port + 1 };
    }
    port
}

pub(super) fn desired_settings(
    lab: &Lab,
    vm: &Vm,
    observed: Option<&ObservedVm>,
    macs: &mut MacScheme,
    ports: &mut BTreeSet<u16>,
) -> VmSettings {
    let mut nics = Vec::new();
    for nic in &vm.nics {
        let Some(network) = lab.network(&nic.network) else {
            continue;
        };
        let attachment = match &network.kind {
            NetworkKind::HostOnly { .. } => NicAttachment::HostOnly {
                network: network.name.clone(),
            },
            NetworkKind::NatNetwork { vbox_name, .. } => NicAttachment::NatNetwork {
                name: vbox_name.clone(),
            },
            NetworkKind::Nat => NicAttachment::Nat,
            NetworkKind::Internal { vbox_name, .. } => NicAttachment::Internal {
                name: vbox_name.clone(),
            },
        };
        let mac = nic
            .mac
            .or_else(|| {
                observed
                    .and_then(|observed| observed.nic(nic.slot))
                    .and_then(|observed| observed.mac)
            })
            .unwrap_or_else(|| macs.assign(&lab.name, &vm.name, nic.slot));
        let mut forwards: Vec<String> = nic
            .forwards
            .iter()
            .map(|forward| {
                format!(
                    "{},{},{},{},,{}",
                    forward.name,
                    protocol_name(forward.proto),
                    forward.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    forward.host_port,
                    forward.guest_port
                )
            })
            .collect();
        let forwarded_ssh = [Some(&vm.ssh), vm.bootstrap.as_ref()]
            .into_iter()
            .flatten()
            .any(|route| {
                matches!(route, crate::lab::model::SshRoute::Forward { slot, host_port: None } if *slot == nic.slot)
            });
        if forwarded_ssh {
            let port = ssh_forward_port(lab, vm, observed, nic.slot, ports);
            let guest_port = lab.image(&vm.image).map_or(22, |image| image.login.port);
            forwards.push(format!(
                "{SSH_FORWARD_RULE},tcp,127.0.0.1,{port},,{guest_port}"
            ));
        }
        nics.push(NicSetting {
            slot: nic.slot,
            attachment,
            mac,
            cable: nic.cable,
            nic_type: nic
                .nic_type
                .map(|nic_type| nic_type_name(nic_type).to_string()),
            forwards,
        });
    }
    let wanted: BTreeSet<u8> = nics.iter().map(|nic| nic.slot).collect();
    let disable = match observed {
        Some(observed) => observed
            .nics
            .iter()
            .filter(|nic| nic.attachment != Attachment::None && !wanted.contains(&nic.slot))
            .map(|nic| nic.slot)
            .collect(),
        None => (1..=8u8).filter(|slot| !wanted.contains(slot)).collect(),
    };
    VmSettings {
        memory: vm.memory,
        cpus: vm.cpus,
        nics,
        disable,
        description: vm.description.clone().unwrap_or_else(|| {
            format!("VM `{}` of lab `{}`, managed by labctl", vm.name, lab.name)
        }),
    }
}

/// Differences between what a VM has and what the lab wants, as short phrases.
pub(super) fn drift(
    lab: &Lab,
    inventory: &Inventory,
    observed: &ObservedVm,
    settings: &VmSettings,
) -> Vec<String> {
    let mut drift = Vec::new();
    if observed.memory != settings.memory {
        drift.push(format!(
            "memory {} → {} MB",
            observed.memory, settings.memory
        ));
    }
    if observed.cpus != settings.cpus {
        drift.push(format!("CPUs {} → {}", observed.cpus, settings.cpus));
    }
    for nic in &settings.nics {
        let current = observed.nic(nic.slot);
        let want = match &nic.attachment {
            NicAttachment::Nat => Some(Attachment::Nat),
            NicAttachment::HostOnly { network } => inventory
                .host_only_for(lab, network)
                .map(|found| Attachment::HostOnly(found.name.clone())),
            NicAttachment::NatNetwork { name } => Some(Attachment::NatNetwork(name.clone())),
            NicAttachment::Internal { name } => Some(Attachment::Internal(name.clone())),
        };
        let have = current.map(|nic| &nic.attachment);
        if want.as_ref() != have {
            let shown = |attachment: Option<&Attachment>| match attachment {
                None | Some(Attachment::None) => "disabled".to_string(),
                Some(Attachment::Nat) => "nat".to_string(),
                Some(Attachment::Null) => "not attached".to_string(),
                Some(Attachment::HostOnly(name)) => format!("host-only {name}"),
                Some(Attachment::NatNetwork(name)) => format!("NAT network {name}"),
                Some(Attachment::Internal(name)) => format!("internal {name}"),
                Some(Attachment::Bridged(name)) => format!("bridged {name}"),
                Some(Attachment::Other(name)) => name.clone(),
            };
            let wanted = want.as_ref().map_or_else(
                || "a new host-only interface".to_string(),
                |want| shown(Some(want)),
            );
            drift.push(format!("NIC {} {} → {}", nic.slot, shown(have), wanted));
            continue;
        }
        let Some(current) = current else { continue };
        if current.mac != Some(nic.mac) {
            drift.push(format!(
                "NIC {} MAC {} → {}",
                nic.slot,
                current
                    .mac
                    .map_or_else(|| "none".to_string(), |mac| mac.to_string()),
                nic.mac
            ));
        }
        if current.cable != nic.cable {
            drift.push(format!(
                "NIC {} cable {}",
                nic.slot,
                if nic.cable {
                    "connected"
                } else {
                    "disconnected"
                }
            ));
        }
        if let Some(nic_type) = &nic.nic_type
            && current.nic_type.as_deref() != Some(nic_type)
        {
            drift.push(format!(
                "NIC {} type {} → {nic_type}",
                nic.slot,
                current.nic_type.as_deref().unwrap_or("default")
            ));
        }
        if matches!(nic.attachment, NicAttachment::Nat) {
            let have: BTreeSet<&str> = current.forwards.iter().map(String::as_str).collect();
            let want: BTreeSet<&str> = nic.forwards.iter().map(String::as_str).collect();
            if have != want {
                drift.push(format!("NIC {} port forwards", nic.slot));
            }
        }
    }
    for slot in &settings.disable {
        drift.push(format!("NIC {slot} enabled → disabled"));
    }
    drift
}

/// How an existing VM differs from the lab file (empty when it does not).
pub fn vm_drift(lab: &Lab, inventory: &Inventory, vm: &Vm, observed: &ObservedVm) -> Vec<String> {
    let mut macs = MacScheme::new(inventory.macs());
    let mut ports = used_host_ports(lab, inventory);
    let settings = desired_settings(lab, vm, Some(observed), &mut macs, &mut ports);
    drift(lab, inventory, observed, &settings)
}
