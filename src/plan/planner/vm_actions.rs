//! Each VM's chain of actions: clone → configure → boot → wait for SSH → guest setup →
//! provision, each only when needed, with the dependencies that order them.

use std::collections::HashMap;

use super::super::action::Action;
use super::super::guest_setup::GuestSetup;
use super::super::plan::{ActionId, Plan};
use super::*;
use crate::hypervisor::inventory::PowerState;
use crate::lab::model::Lab;

/// Plans one VM's actions; returns the action after which it is ready (for `after`).
pub(super) fn plan_vm<'a>(
    lab: &'a Lab,
    intent: &Intent,
    decision: &VmDecision<'a>,
    networks: &networks::NetworkActions<'a>,
    images: &HashMap<&str, ActionId>,
    ready: &HashMap<&str, ActionId>,
    plan: &mut Plan,
) -> Option<ActionId> {
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
            } else if observed.state == PowerState::Stuck {
                // A guru meditation keeps the session: only a power-off ends it.
                last = Some(plan.push(
                    Action::PowerOffVm {
                        vm: vm.name.clone(),
                        vbox_name: vm.vbox_name.clone(),
                    },
                    "it is stuck (guru meditation)",
                    Vec::new(),
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
    let setup = GuestSetup::for_vm(
        lab,
        vm,
        &decision.settings.nics,
        networks.host_only_reservations,
    );
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
        last = Some(
            plan.push(
                Action::Provision {
                    vm: vm.name.clone(),
                    steps,
                    names: vm.steps[vm.steps.len().saturating_sub(steps)..]
                        .iter()
                        .map(|step| step.name.clone())
                        .collect(),
                },
                reason,
                deps,
            ),
        );
    }
    last
}
