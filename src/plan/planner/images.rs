//! Images: each appliance imported once as a master VM, with the snapshot linked clones are
//! made from.

use std::collections::{BTreeSet, HashMap};

use super::super::action::Action;
use super::super::plan::{ActionId, Plan};
use super::*;
use crate::hypervisor::inventory::Inventory;
use crate::lab::model::{ImageSource, Lab};

pub(super) fn master_of(lab: &Lab, image: &str) -> String {
    match lab.image(image).map(|image| &image.source) {
        Some(ImageSource::Vm(vm)) => vm.clone(),
        _ => lab.master_name(image),
    }
}

pub(super) fn plan_images<'a>(
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
