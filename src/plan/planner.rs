//! The planner: the lab (desired) × the inventory (observed) → the actions `up` takes, each
//! with its reason. Pure: it reads only its inputs.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use sha2::Digest;

use super::action::{Action, NicAttachment, NicSetting, VmSettings};
use super::guest_setup::GuestSetup;
use super::mac_scheme::MacScheme;
use super::plan::{ActionId, Leftover, Plan};
use crate::hypervisor::inventory::{Attachment, Inventory, ObservedVm, PowerState};
use crate::lab::model::{ImageSource, Lab, MacAddress, NetworkKind, Vm};
use crate::lab::raw::{NicType, Protocol};
use crate::lab::source::Span;

/// What the user asked `up` to do.
#[derive(Debug, Clone, Default)]
pub struct Intent {
    /// Only these VMs (and what they need through `after`); None: the whole lab.
    pub targets: Option<Vec<String>>,
    /// Delete VMs of the lab that are no longer in the lab file.
    pub prune: bool,
    /// Steps still to run per VM (by content hash); a VM missing here runs all its steps.
    pub pending_steps: HashMap<String, usize>,
    /// The digest of the guest setup each existing VM last got (`GuestSetup::digest`); a VM
    /// missing here gets its guest set up.
    pub guest_setups: HashMap<String, String>,
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A VM with a lab VM's name exists and labctl did not create it for this lab.
    #[error(
        "VirtualBox already has a VM named `{vbox_name}` that labctl did not create for lab `{lab}`; labctl will not touch it"
    )]
    ForeignVm {
        /// Its name.
        vbox_name: String,
        /// The lab.
        lab: String,
        /// The lab VM that wants the name.
        span: Span,
    },
    /// The VM an image names does not exist.
    #[error("image `{image}` uses VM `{vm}`, which VirtualBox does not have")]
    MissingImageVm {
        /// Image key.
        image: String,
        /// VM name or UUID.
        vm: String,
        /// Where the image is.
        span: Span,
    },
    /// `up VM…` names a VM the lab does not have.
    #[error("the lab has no VM named `{name}`")]
    UnknownTarget {
        /// The name given.
        name: String,
    },
}

impl PlanError {
    /// Where in the lab file the problem is, if it is about the file.
    pub fn span(&self) -> Option<&Span> {
        match self {
            Self::ForeignVm { span, .. } | Self::MissingImageVm { span, .. } => Some(span),
            Self::UnknownTarget { .. } => None,
        }
    }
}

/// What the planner decided about one VM before actions are emitted.
struct VmDecision<'a> {
    vm: &'a Vm,
    observed: Option<&'a ObservedVm>,
    settings: VmSettings,
    drift: Vec<String>,
}

/// Plans `up` of `lab` given what VirtualBox has.
pub fn plan_up(lab: &Lab, inventory: &Inventory, intent: &Intent) -> Result<Plan, PlanError> {
    let selected = select(lab, intent.targets.as_deref())?;
    let mut macs = MacScheme::new(
        inventory.macs().chain(
            lab.vms
                .iter()
                .flat_map(|vm| vm.nics.iter().filter_map(|nic| nic.mac)),
        ),
    );

    let mut ports = used_host_ports(lab, inventory);
    let mut decisions = Vec::new();
    for vm in lab
        .vms
        .iter()
        .filter(|vm| selected.contains(vm.name.as_str()))
    {
        let observed = inventory.vm_named(&vm.vbox_name);
        if let Some(observed) = observed
            && !observed.owned_by(&lab.name)
        {
            return Err(PlanError::ForeignVm {
                vbox_name: vm.vbox_name.clone(),
                lab: lab.name.clone(),
                span: vm.span.clone(),
            });
        }
        let settings = desired_settings(lab, vm, observed, &mut macs, &mut ports);
        let drift = observed
            .map(|observed| drift(lab, inventory, observed, &settings))
            .unwrap_or_default();
        decisions.push(VmDecision {
            vm,
            observed,
            settings,
            drift,
        });
    }

    let mut plan = Plan::default();
    let networks = plan_networks(lab, inventory, &decisions, &mut plan);
    let images = plan_images(lab, inventory, &decisions, &mut plan)?;

    let mut ready: HashMap<&str, ActionId> = HashMap::new();
    for decision in &decisions {
        let vm = decision.vm;
        let mut network_deps: Vec<ActionId> = vm
            .nics
            .iter()
            .filter_map(|nic| networks.ready.get(nic.network.as_str()).copied())
            .collect();
        let dhcp_deps: Vec<ActionId> = vm
            .nics
            .iter()
            .filter_map(|nic| networks.dhcp.get(nic.network.as_str()).copied())
            .collect();
        let after_deps: Vec<ActionId> = vm
            .after
            .iter()
            .filter_map(|name| ready.get(name.as_str()).copied())
            .collect();
        let pending = intent
            .pending_steps
            .get(&vm.name)
            .copied()
            .unwrap_or(vm.steps.len());

        let mut last: Option<ActionId> = None;
        let mut boots = false;
        match decision.observed {
            None => {
                let mut deps = Vec::new();
                deps.extend(images.get(vm.image.as_str()).copied());
                let clone = plan.push(
                    Action::CloneVm {
                        vm: vm.name.clone(),
                        vbox_name: vm.vbox_name.clone(),
                        image: vm.image.clone(),
                        master: master_of(lab, &vm.image),
                        snapshot: lab
                            .image(&vm.image)
                            .map_or_else(String::new, |image| image.snapshot.clone()),
                    },
                    "absent",
                    deps,
                );
                network_deps.push(clone);
                let configure = plan.push(
                    Action::ConfigureVm {
                        vm: vm.name.clone(),
                        vbox_name: vm.vbox_name.clone(),
                        settings: decision.settings.clone(),
                    },
                    "new VM",
                    network_deps,
                );
                last = Some(configure);
                boots = true;
            }
            Some(observed) => {
                if !decision.drift.is_empty() {
                    let reason = decision.drift.join(", ");
                    let mut deps = network_deps;
                    if observed.state.is_on() {
                        deps.push(plan.push(
                            Action::PowerOffVm {
                                vm: vm.name.clone(),
                                vbox_name: vm.vbox_name.clone(),
                            },
                            format!("must be off to apply: {reason}"),
                            Vec::new(),
                        ));
                    }
                    last = Some(plan.push(
                        Action::ConfigureVm {
                            vm: vm.name.clone(),
                            vbox_name: vm.vbox_name.clone(),
                            settings: decision.settings.clone(),
                        },
                        reason,
                        deps,
                    ));
                    boots = true;
                } else if observed.state != PowerState::Running {
                    boots = true;
                }
            }
        }
        if boots {
            let mut deps: Vec<ActionId> = last.into_iter().collect();
            deps.extend(dhcp_deps.iter().copied());
            deps.extend(after_deps.iter().copied());
            let reason = match decision.observed {
                None => "new VM".to_string(),
                Some(_) if !decision.drift.is_empty() => "reconfigured".to_string(),
                Some(observed) => format!("it is {}", observed.state.as_str()),
            };
            let start = plan.push(
                Action::StartVm {
                    vm: vm.name.clone(),
                    vbox_name: vm.vbox_name.clone(),
                },
                reason,
                deps,
            );
            let wait = plan.push(
                Action::WaitForSsh {
                    vm: vm.name.clone(),
                },
                "just started",
                vec![start],
            );
            last = Some(wait);
        }
        let setup = GuestSetup::for_vm(lab, vm, &decision.settings.nics);
        let setup_reason = match (decision.observed, intent.guest_setups.get(&vm.name)) {
            (None, _) => Some("new VM"),
            (Some(_), None) => Some("never set up"),
            (Some(_), Some(done)) if *done != setup.digest() => Some("the lab changed it"),
            _ => None,
        };
        if let Some(reason) = setup_reason {
            let mut deps: Vec<ActionId> = last.into_iter().collect();
            deps.extend(dhcp_deps.iter().copied());
            last = Some(plan.push(
                Action::ConfigureGuest {
                    vm: vm.name.clone(),
                    setup,
                },
                reason,
                deps,
            ));
        }
        let steps = if decision.observed.is_none() {
            vm.steps.len()
        } else {
            pending
        };
        if steps > 0 {
            let mut deps: Vec<ActionId> = last.into_iter().collect();
            deps.extend(after_deps.iter().copied());
            let reason = if decision.observed.is_none() {
                "new VM".to_string()
            } else if steps == vm.steps.len() {
                "no step has run with its current content".to_string()
            } else {
                format!("{steps} of {} steps changed or never ran", vm.steps.len())
            };
            last = Some(plan.push(
                Action::Provision {
                    vm: vm.name.clone(),
                    steps,
                },
                reason,
                deps,
            ));
        }
        if let Some(last) = last {
            ready.insert(vm.name.as_str(), last);
        }
    }

    plan_leftovers(lab, inventory, intent, &mut plan);
    Ok(plan)
}

/// How an existing VM differs from the lab file (empty when it does not).
pub fn vm_drift(lab: &Lab, inventory: &Inventory, vm: &Vm, observed: &ObservedVm) -> Vec<String> {
    let mut macs = MacScheme::new(inventory.macs());
    let mut ports = used_host_ports(lab, inventory);
    let settings = desired_settings(lab, vm, Some(observed), &mut macs, &mut ports);
    drift(lab, inventory, observed, &settings)
}

/// The VMs to act on: the targets and everything they wait for.
fn select<'a>(lab: &'a Lab, targets: Option<&[String]>) -> Result<BTreeSet<&'a str>, PlanError> {
    let Some(targets) = targets else {
        return Ok(lab.vms.iter().map(|vm| vm.name.as_str()).collect());
    };
    let mut selected = BTreeSet::new();
    let mut queue: Vec<&'a Vm> = Vec::new();
    for target in targets {
        let group = lab.group(target);
        if !group.is_empty() {
            queue.extend(group);
        } else if let Some(vm) = lab.vm(target) {
            queue.push(vm);
        } else {
            return Err(PlanError::UnknownTarget {
                name: target.clone(),
            });
        }
    }
    while let Some(vm) = queue.pop() {
        if selected.insert(vm.name.as_str()) {
            queue.extend(vm.after.iter().filter_map(|name| lab.vm(name)));
        }
    }
    Ok(selected)
}

fn master_of(lab: &Lab, image: &str) -> String {
    match lab.image(image).map(|image| &image.source) {
        Some(ImageSource::Vm(vm)) => vm.clone(),
        _ => lab.master_name(image),
    }
}

fn nic_type_name(nic_type: NicType) -> &'static str {
    match nic_type {
        NicType::Am79C970A => "Am79C970A",
        NicType::Am79C973 => "Am79C973",
        NicType::I82540EM => "82540EM",
        NicType::I82543GC => "82543GC",
        NicType::I82545EM => "82545EM",
        NicType::Virtio => "virtio",
    }
}

fn protocol_name(proto: Protocol) -> &'static str {
    match proto {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// Name of the NAT port-forward rule labctl adds for SSH when the lab does not name one.
pub const SSH_FORWARD_RULE: &str = "labctl-ssh";

/// Host ports already forwarded by any VM or NAT network, and by the lab's own rules.
fn used_host_ports(lab: &Lab, inventory: &Inventory) -> BTreeSet<u16> {
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
    ports.extend(lab.vms.iter().flat_map(|vm| {
        vm.nics
            .iter()
            .flat_map(|nic| nic.forwards.iter().map(|forward| forward.host_port))
    }));
    ports
}

/// The host port forwarded to a VM's SSH server: the one it has, else the same every run
/// (a hash of lab and VM in 20000–29999), skipping ports in use.
fn ssh_forward_port(
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

fn desired_settings(
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
fn drift(
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
            NicAttachment::HostOnly { network } => {
                host_only_interface(lab, inventory, network).map(Attachment::HostOnly)
            }
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

/// The host-only interface that serves lab network `network`, if VirtualBox has it.
fn host_only_interface(lab: &Lab, inventory: &Inventory, network: &str) -> Option<String> {
    let NetworkKind::HostOnly {
        interface, host, ..
    } = &lab.network(network)?.kind
    else {
        return None;
    };
    match interface {
        Some(name) => inventory
            .host_only
            .iter()
            .find(|candidate| &candidate.name == name)
            .map(|found| found.name.clone()),
        None => inventory
            .host_only_with(*host)
            .map(|found| found.name.clone()),
    }
}

/// Action ids after which a network (and its DHCP server) is ready.
struct NetworkActions<'a> {
    ready: HashMap<&'a str, ActionId>,
    dhcp: HashMap<&'a str, ActionId>,
}

fn plan_networks<'a>(
    lab: &'a Lab,
    inventory: &Inventory,
    decisions: &[VmDecision<'_>],
    plan: &mut Plan,
) -> NetworkActions<'a> {
    let mut actions = NetworkActions {
        ready: HashMap::new(),
        dhcp: HashMap::new(),
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
        let fixed = |changed_only: bool| -> Vec<(MacAddress, Ipv4Addr)> {
            decisions
                .iter()
                .filter(|decision| {
                    !changed_only || decision.observed.is_none() || !decision.drift.is_empty()
                })
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
                if let Some(dhcp) = dhcp {
                    // Creating a host-only interface makes no DHCP server, so a missing one is
                    // always added (also when a killed run created the interface but not it).
                    let observed =
                        existing.and_then(|found| inventory.dhcp_of(&found.network_name));
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
fn push_dhcp<'a>(
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
            "fixed address{} for new or changed VMs",
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

fn plan_images<'a>(
    lab: &'a Lab,
    inventory: &Inventory,
    decisions: &[VmDecision<'_>],
    plan: &mut Plan,
) -> Result<HashMap<&'a str, ActionId>, PlanError> {
    let mut ready = HashMap::new();
    let needed: BTreeSet<&str> = decisions
        .iter()
        .filter(|decision| decision.observed.is_none())
        .map(|decision| decision.vm.image.as_str())
        .collect();
    for image in lab
        .images
        .iter()
        .filter(|image| needed.contains(image.name.as_str()))
    {
        let (master, import) = match &image.source {
            ImageSource::Appliance(path) => {
                let name = lab.master_name(&image.name);
                match inventory.vm_named(&name) {
                    Some(found) if !found.owned_by(&lab.name) => {
                        return Err(PlanError::ForeignVm {
                            vbox_name: name,
                            lab: lab.name.clone(),
                            span: image.span.clone(),
                        });
                    }
                    Some(found) => (Some(found), None),
                    None => {
                        let id = plan.push(
                            Action::ImportAppliance {
                                image: image.name.clone(),
                                master: name,
                                path: path.clone(),
                            },
                            "no master VM yet: imported once, shared by linked clones",
                            Vec::new(),
                        );
                        (None, Some(id))
                    }
                }
            }
            ImageSource::Vm(vm) => {
                let found = inventory
                    .vms
                    .iter()
                    .find(|candidate| &candidate.name == vm || &candidate.uuid == vm);
                match found {
                    None => {
                        return Err(PlanError::MissingImageVm {
                            image: image.name.clone(),
                            vm: vm.clone(),
                            span: image.span.clone(),
                        });
                    }
                    Some(found) => (Some(found), None),
                }
            }
        };
        let has_snapshot = master.is_some_and(|master| master.snapshots.contains(&image.snapshot));
        let last = if has_snapshot {
            import
        } else {
            Some(plan.push(
                Action::TakeSnapshot {
                    image: image.name.clone(),
                    master: master_of(lab, &image.name),
                    snapshot: image.snapshot.clone(),
                },
                "linked clones are made from a snapshot",
                import.into_iter().collect(),
            ))
        };
        if let Some(last) = last {
            ready.insert(image.name.as_str(), last);
        }
    }
    Ok(ready)
}

fn plan_leftovers(lab: &Lab, inventory: &Inventory, intent: &Intent, plan: &mut Plan) {
    for observed in &inventory.vms {
        let Some(owner) = &observed.owner else {
            continue;
        };
        if owner.lab != lab.name
            || owner.role.starts_with("master:")
            || lab.vm(&owner.role).is_some()
        {
            continue;
        }
        let pruned = intent.prune && intent.targets.is_none();
        if pruned {
            let mut deps = Vec::new();
            if observed.state.is_on() {
                deps.push(plan.push(
                    Action::PowerOffVm {
                        vm: owner.role.clone(),
                        vbox_name: observed.name.clone(),
                    },
                    "removed from the lab file (--prune)",
                    Vec::new(),
                ));
            }
            plan.push(
                Action::DeleteVm {
                    vm: owner.role.clone(),
                    vbox_name: observed.name.clone(),
                },
                "removed from the lab file (--prune)",
                deps,
            );
        }
        plan.leftovers.push(Leftover {
            vbox_name: observed.name.clone(),
            role: owner.role.clone(),
            pruned,
        });
    }
}
