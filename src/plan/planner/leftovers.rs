//! VMs of the lab that the lab file no longer has: listed, or deleted with `--prune`.

use super::super::action::Action;
use super::super::plan::{Leftover, Plan};
use super::*;
use crate::hypervisor::inventory::Inventory;
use crate::lab::model::Lab;

pub(super) fn plan_leftovers(lab: &Lab, inventory: &Inventory, intent: &Intent, plan: &mut Plan) {
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
