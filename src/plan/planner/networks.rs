//! Networks: host-only interfaces (created or re-addressed), NAT networks (created or
//! updated), and their DHCP servers with the lab's reservations.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::super::action::Action;
use super::super::plan::{ActionId, Plan};
use super::*;
use crate::hypervisor::inventory::Inventory;
use crate::lab::model::{Lab, MacAddress, NetworkKind};

/// Action ids after which a network (and its DHCP server) is ready.
pub(super) struct NetworkActions<'a> {
    pub(super) ready: HashMap<&'a str, ActionId>,
    pub(super) dhcp: HashMap<&'a str, ActionId>,
    /// Host-only networks have DHCP reservations (not so with VirtualBox 7 on macOS).
    pub(super) host_only_reservations: bool,
}

pub(super) fn plan_networks<'a>(
    lab: &'a Lab,
    inventory: &Inventory,
    intent: &Intent,
    decisions: &[VmDecision<'_>],
    plan: &mut Plan,
) -> NetworkActions<'a> {
    let mut actions = NetworkActions {
        ready: HashMap::new(),
        dhcp: HashMap::new(),
        host_only_reservations: !inventory.host_only_networks,
    };
    let used: BTreeSet<&str> = decisions
        .iter()
        .flat_map(|decision| decision.vm.nics.iter().map(|nic| nic.network.as_str()))
        .collect();
    for network in lab
        .networks
        .iter()
        .filter(|network| used.contains(network.name.as_str()))
    {
        // The lab's reservations on this network; `missing_only`: those labctl has not made
        // (or made with another address).
        let applied = intent.dhcp_reservations.get(&network.name);
        let fixed = |missing_only: bool| -> Vec<(MacAddress, Ipv4Addr)> {
            decisions
                .iter()
                .flat_map(|decision| {
                    decision
                        .vm
                        .nics
                        .iter()
                        .filter(|nic| nic.network == network.name)
                        .filter_map(|nic| {
                            let ip = nic.ip?;
                            let mac = decision
                                .settings
                                .nics
                                .iter()
                                .find(|setting| setting.slot == nic.slot)?
                                .mac;
                            Some((mac, ip))
                        })
                })
                .filter(|(mac, ip)| {
                    !missing_only || applied.and_then(|applied| applied.get(mac)) != Some(ip)
                })
                .collect()
        };
        match &network.kind {
            NetworkKind::HostOnly {
                interface,
                cidr,
                host,
                dhcp,
            } => {
                let existing = match interface {
                    Some(name) => inventory
                        .host_only
                        .iter()
                        .find(|candidate| &candidate.name == name),
                    None => inventory.host_only_with(*host),
                };
                match existing {
                    None => {
                        let id = plan.push(
                            Action::CreateHostOnly {
                                network: network.name.clone(),
                                cidr: *cidr,
                                host: *host,
                            },
                            "absent",
                            Vec::new(),
                        );
                        actions.ready.insert(network.name.as_str(), id);
                    }
                    Some(found)
                        if found.ip != Some(*host) || found.netmask != Some(cidr.netmask()) =>
                    {
                        let id = plan.push(
                            Action::SetHostOnlyAddress {
                                network: network.name.clone(),
                                interface: found.name.clone(),
                                host: *host,
                                netmask: cidr.netmask(),
                            },
                            format!(
                                "host address {} → {host}",
                                found
                                    .ip
                                    .map_or_else(|| "none".to_string(), |ip| ip.to_string())
                            ),
                            Vec::new(),
                        );
                        actions.ready.insert(network.name.as_str(), id);
                    }
                    Some(_) => {}
                }
                // Host-only networks (VirtualBox 7 on macOS) have vmnet's DHCP, made with the
                // network from the lab's range, and no DHCP server to configure.
                if let Some(dhcp) = dhcp.filter(|_| !inventory.host_only_networks) {
                    // Creating a host-only interface makes no DHCP server, so a missing one is
                    // always added (also when a killed run created the interface but not it).
                    let observed =
                        existing.and_then(|found| inventory.dhcp_of(&found.network_name));
                    push_dhcp(
                        plan,
                        &mut actions,
                        network.name.as_str(),
                        dhcp,
                        cidr.netmask(),
                        observed,
                        true,
                        &fixed,
                    );
                }
            }
            NetworkKind::NatNetwork {
                vbox_name,
                cidr,
                dhcp,
                forwards,
                ..
            } => {
                let rules: Vec<String> = forwards
                    .iter()
                    .map(|forward| {
                        format!(
                            "{}:{}:[{}]:{}:[{}]:{}",
                            forward.name,
                            protocol_name(forward.proto),
                            forward.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                            forward.host_port,
                            forward.guest_ip,
                            forward.guest_port
                        )
                    })
                    .collect();
                let existing = inventory
                    .nat_networks
                    .iter()
                    .find(|candidate| &candidate.name == vbox_name);
                match existing {
                    None => {
                        let id = plan.push(
                            Action::CreateNatNetwork {
                                network: network.name.clone(),
                                name: vbox_name.clone(),
                                cidr: *cidr,
                                dhcp: dhcp.is_some(),
                                forwards: rules,
                            },
                            "absent",
                            Vec::new(),
                        );
                        actions.ready.insert(network.name.as_str(), id);
                    }
                    Some(found) => {
                        let have: BTreeSet<&str> =
                            found.forwards.iter().map(String::as_str).collect();
                        let want: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
                        let add: Vec<String> = want
                            .difference(&have)
                            .map(|rule| rule.to_string())
                            .collect();
                        let remove: Vec<String> = have
                            .difference(&want)
                            .map(|rule| rule.split(':').next().unwrap_or_default().to_string())
                            .collect();
                        if found.dhcp != dhcp.is_some() || !add.is_empty() || !remove.is_empty() {
                            let mut reasons = Vec::new();
                            if found.dhcp != dhcp.is_some() {
                                reasons.push(format!(
                                    "DHCP {}",
                                    if dhcp.is_some() {
                                        "off → on"
                                    } else {
                                        "on → off"
                                    }
                                ));
                            }
                            if !add.is_empty() || !remove.is_empty() {
                                reasons.push("port forwards differ".to_string());
                            }
                            let id = plan.push(
                                Action::UpdateNatNetwork {
                                    network: network.name.clone(),
                                    name: vbox_name.clone(),
                                    dhcp: dhcp.is_some(),
                                    add,
                                    remove,
                                },
                                reasons.join(", "),
                                Vec::new(),
                            );
                            actions.ready.insert(network.name.as_str(), id);
                        }
                    }
                }
                if let Some(dhcp) = dhcp {
                    // `natnetwork add --dhcp on` makes no DHCP server: VirtualBox makes one at the
                    // network's first start and then keeps it (NATNetworkImpl.cpp, `start`). So
                    // labctl adds it with the lab's settings when there is none, and the network
                    // starts with it.
                    let observed = inventory.dhcp_of(vbox_name);
                    push_dhcp(
                        plan,
                        &mut actions,
                        network.name.as_str(),
                        *dhcp,
                        cidr.netmask(),
                        observed,
                        true,
                        &fixed,
                    );
                }
            }
            NetworkKind::Nat | NetworkKind::Internal { .. } => {}
        }
    }
    actions
}

#[expect(
    clippy::too_many_arguments,
    reason = "a private helper of plan_networks"
)]
pub(super) fn push_dhcp<'a>(
    plan: &mut Plan,
    actions: &mut NetworkActions<'a>,
    network: &'a str,
    dhcp: crate::lab::model::Dhcp,
    netmask: Ipv4Addr,
    observed: Option<&crate::hypervisor::inventory::ObservedDhcp>,
    create: bool,
    fixed: &dyn Fn(bool) -> Vec<(MacAddress, Ipv4Addr)>,
) {
    let mut reasons = Vec::new();
    match observed {
        None => reasons.push(if create {
            "absent".to_string()
        } else {
            "settings not applied yet".to_string()
        }),
        Some(observed) => {
            if observed.server != Some(dhcp.server) || observed.netmask != Some(netmask) {
                reasons.push(format!(
                    "server {} → {}",
                    observed
                        .server
                        .map_or_else(|| "none".to_string(), |ip| ip.to_string()),
                    dhcp.server
                ));
            }
            if observed.lower != Some(dhcp.lower) || observed.upper != Some(dhcp.upper) {
                reasons.push(format!("range → {}-{}", dhcp.lower, dhcp.upper));
            }
            if !observed.enabled {
                reasons.push("disabled → enabled".to_string());
            }
        }
    }
    let settings_change = !reasons.is_empty();
    let fixed = fixed(!settings_change);
    if !settings_change && fixed.is_empty() {
        return;
    }
    if !fixed.is_empty() && !settings_change {
        reasons.push(format!(
            "fixed address{} not yet reserved",
            if fixed.len() == 1 { "" } else { "es" }
        ));
    }
    let deps: Vec<ActionId> = actions.ready.get(network).copied().into_iter().collect();
    let id = plan.push(
        Action::ConfigureDhcp {
            network: network.to_string(),
            create: observed.is_none() && create,
            dhcp,
            netmask,
            fixed,
        },
        reasons.join(", "),
        deps,
    );
    actions.dhcp.insert(network, id);
}
