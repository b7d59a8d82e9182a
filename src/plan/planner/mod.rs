//! The planner: the lab (desired) × the inventory (observed) → the actions `up` takes, each
//! with its reason. Pure: it reads only its inputs.
//!
//! One file per subject: `settings` (what each VM should be, and how it drifted), `networks`
//! (host-only interfaces, NAT networks, DHCP servers), `images` (appliances imported once and
//! their snapshots), `vm_actions` (each VM's clone → configure → boot → guest setup →
//! provision chain), `leftovers` (VMs no longer in the lab). A new action is one variant in
//! `action.rs`, one planning function here and one executing function in `exec::lab_runner`.

mod images;
mod leftovers;
mod networks;
mod settings;
mod vm_actions;

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::mac_scheme::MacScheme;
use super::plan::{ActionId, Plan};
use crate::hypervisor::inventory::{Inventory, ObservedVm};
use crate::lab::model::{Lab, MacAddress, NetworkKind, SshRoute, Vm};
use crate::lab::source::Span;

use super::action::VmSettings;
use images::{master_of, plan_images};
use leftovers::plan_leftovers;
use networks::plan_networks;
pub use settings::{SSH_FORWARD_RULE, vm_drift};
use settings::{desired_settings, drift, protocol_name, used_host_ports};

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
    /// The reservations labctl made on each lab network's DHCP server (by lab network). They
    /// cannot be read back from VirtualBox, so a run killed between creating a server and
    /// adding its reservations is caught up on by comparing the lab against this.
    pub dhcp_reservations: HashMap<String, HashMap<MacAddress, Ipv4Addr>>,
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
    /// Host-only networks of VirtualBox 7 on macOS hand out no fixed addresses, and a guest
    /// without Guest Additions does not say which address it got: labctl could never log in.
    #[error(
        "on VirtualBox 7 for macOS, host-only networks have no DHCP reservations: labctl cannot log in to `{vm}` over `{network}` before setting its address in the guest; put a plain NAT adapter first (labctl logs in through it, as Vagrant does, and sets the host-only address in the guest)"
    )]
    UnreachableOnHostOnlyNetwork {
        /// The lab VM.
        vm: String,
        /// The host-only network of its adapter 1.
        network: String,
        /// Where the VM is.
        span: Span,
    },
    /// A lab network found by its address is another lab's: sharing it must be asked for.
    #[error(
        "network `{network}` would reuse `{interface}`, which labctl created for lab `{owner}`: two labs on one network hand out each other's addresses and reach each other's VMs; give this lab another `cidr`, or name the interface (`name = \"{interface}\"`) to share it on purpose"
    )]
    ForeignNetwork {
        /// Lab network key.
        network: String,
        /// The host-only interface or network found.
        interface: String,
        /// The lab that created it.
        owner: String,
        /// Where the network is.
        span: Span,
    },
    /// A fixed address of the lab is reserved on the same DHCP server for another lab's VM.
    #[error(
        "`{vm}` wants {ip} on network `{network}`, which its DHCP server already hands out to a VM of lab `{owner}` (MAC {mac}): two VMs would answer at one address; give `{vm}` another `ip`"
    )]
    AddressReserved {
        /// The lab VM.
        vm: String,
        /// The address.
        ip: Ipv4Addr,
        /// Lab network key.
        network: String,
        /// The lab that reserved it.
        owner: String,
        /// The MAC it is reserved for.
        mac: MacAddress,
        /// Where the VM is.
        span: Span,
    },
    /// An appliance to import is not there (checked before anything is created).
    #[error("image `{image}`: the appliance `{path}` cannot be read ({why}); nothing was created")]
    MissingAppliance {
        /// Image key.
        image: String,
        /// The appliance's path.
        path: String,
        /// Why it cannot be read.
        why: String,
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
            Self::ForeignVm { span, .. }
            | Self::MissingImageVm { span, .. }
            | Self::UnreachableOnHostOnlyNetwork { span, .. }
            | Self::MissingAppliance { span, .. }
            | Self::AddressReserved { span, .. }
            | Self::ForeignNetwork { span, .. } => Some(span),
            Self::UnknownTarget { .. } => None,
        }
    }
}

/// What the planner decided about one VM before actions are emitted.
pub(super) struct VmDecision<'a> {
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
        if inventory.host_only_networks
            && let SshRoute::Address { network, .. } | SshRoute::Leased { network, .. } =
                vm.bootstrap.as_ref().unwrap_or(&vm.ssh)
            && matches!(
                lab.network(network).map(|network| &network.kind),
                Some(NetworkKind::HostOnly { .. })
            )
        {
            return Err(PlanError::UnreachableOnHostOnlyNetwork {
                vm: vm.name.clone(),
                network: network.clone(),
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

    refuse_foreign_networks(lab, inventory, &decisions)?;
    refuse_reserved_addresses(lab, inventory, &decisions)?;
    let mut plan = Plan::default();
    let networks = plan_networks(lab, inventory, intent, &decisions, &mut plan);
    let images = plan_images(lab, inventory, &decisions, &mut plan)?;
    let mut ready: HashMap<&str, ActionId> = HashMap::new();
    for decision in &decisions {
        if let Some(last) =
            vm_actions::plan_vm(lab, intent, decision, &networks, &images, &ready, &mut plan)
        {
            ready.insert(decision.vm.name.as_str(), last);
        }
    }

    plan_leftovers(lab, inventory, intent, &mut plan);
    Ok(plan)
}

/// On a network shared with another lab (named on purpose), a fixed address that lab reserved
/// for one of its VMs cannot be this lab's too: refused before anything is created.
fn refuse_reserved_addresses(
    lab: &Lab,
    inventory: &Inventory,
    decisions: &[VmDecision<'_>],
) -> Result<(), PlanError> {
    for decision in decisions {
        for nic in &decision.vm.nics {
            let Some(ip) = nic.ip else { continue };
            let server = match lab.network(&nic.network).map(|network| &network.kind) {
                Some(NetworkKind::HostOnly { .. }) => inventory
                    .host_only_for(lab, &nic.network)
                    .map(|found| found.network_name.clone()),
                Some(NetworkKind::NatNetwork { vbox_name, .. }) => Some(vbox_name.clone()),
                _ => None,
            };
            let Some(server) = server else { continue };
            if let Some(taken) = inventory.reservations.iter().find(|reservation| {
                reservation.network == server && reservation.ip == ip && reservation.lab != lab.name
            }) {
                return Err(PlanError::AddressReserved {
                    vm: decision.vm.name.clone(),
                    ip,
                    network: nic.network.clone(),
                    owner: taken.lab.clone(),
                    mac: taken.mac,
                    span: decision.vm.span.clone(),
                });
            }
        }
    }
    Ok(())
}

/// A host-only network the lab does not name is found by its address; when that one is another
/// lab's, this lab would share it without asking.
fn refuse_foreign_networks(
    lab: &Lab,
    inventory: &Inventory,
    decisions: &[VmDecision<'_>],
) -> Result<(), PlanError> {
    let kind = if inventory.host_only_networks {
        "hostonlynet"
    } else {
        "hostonly"
    };
    for network in &lab.networks {
        let used = decisions.iter().any(|decision| {
            decision
                .vm
                .nics
                .iter()
                .any(|nic| nic.network == network.name)
        });
        let NetworkKind::HostOnly {
            interface: None,
            host,
            ..
        } = &network.kind
        else {
            continue;
        };
        if !used {
            continue;
        }
        if let Some(found) = inventory.host_only_with(*host)
            && let Some(owner) = inventory.network_owner(kind, &found.name)
            && owner != lab.name
        {
            return Err(PlanError::ForeignNetwork {
                network: network.name.clone(),
                interface: found.name.clone(),
                owner: owner.to_string(),
                span: network.span.clone(),
            });
        }
    }
    Ok(())
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
