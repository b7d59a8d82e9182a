//! `labctl snapshot save|restore|list`: snapshots of the lab's VMs, taken and restored
//! together. labctl remembers which steps had run at each snapshot, so that provisioning after a
//! restore runs what the restored disks have not seen.

use std::time::Duration;

use super::Ui;
use super::lab_session::LabSession;
use crate::cli::TargetArgs;
use crate::error::Error;
use crate::exit_code;
use crate::hypervisor::inventory::ObservedVm;
use crate::state::JsonStore;

fn targets<'a>(
    session: &LabSession,
    inventory: &'a crate::hypervisor::Inventory,
    names: &[String],
) -> Vec<(String, &'a ObservedVm)> {
    session
        .lab
        .vms
        .iter()
        .filter(|vm| names.is_empty() || names.contains(&vm.name) || names.contains(&vm.group))
        .filter_map(|vm| {
            let observed = inventory.vm_named(&vm.vbox_name)?;
            observed
                .owned_by(&session.lab.name)
                .then(|| (vm.name.clone(), observed))
        })
        .collect()
}

fn saved_steps(session: &LabSession) -> JsonStore<Vec<String>> {
    JsonStore::open(session.state.dir().join("snapshot-steps.json"))
}

/// `labctl snapshot save NAME [FILE] [VM…]`.
pub(crate) fn save(ui: &Ui, args: &TargetArgs, name: &str) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &args.images);
    let session = LabSession::open(ui, &lab_arg, Some("snapshot save"))?;
    let inventory = session.inventory(false)?;
    let vms = targets(&session, &inventory, &names);
    if vms.is_empty() {
        return Err(Error::Refused(format!(
            "lab `{}` has no VM to snapshot (run `labctl up` first)",
            session.lab.name
        )));
    }
    if let Some((vm, _)) = vms
        .iter()
        .find(|(_, observed)| observed.snapshots.iter().any(|existing| existing == name))
    {
        return Err(Error::Refused(format!(
            "`{vm}` already has a snapshot named `{name}`: choose another name"
        )));
    }
    let applied = session.state.applied_steps();
    let saved = saved_steps(&session);
    for (vm, observed) in &vms {
        session.vbox.take_snapshot(&observed.uuid, name)?;
        let _ = saved.set(
            &format!("{}/{name}", observed.uuid),
            Some(applied.get(&observed.uuid).unwrap_or_default()),
        );
        ui.out(&format!("{vm}: snapshot `{name}` taken\n"));
    }
    Ok(exit_code::OK)
}

/// `labctl snapshot restore NAME [FILE] [VM…]`.
pub(crate) fn restore(ui: &Ui, args: &TargetArgs, name: &str) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &args.images);
    let session = LabSession::open(ui, &lab_arg, Some("snapshot restore"))?;
    let inventory = session.inventory(false)?;
    let vms = targets(&session, &inventory, &names);
    if let Some((vm, _)) = vms
        .iter()
        .find(|(_, observed)| !observed.snapshots.iter().any(|existing| existing == name))
    {
        return Err(Error::Refused(format!(
            "`{vm}` has no snapshot named `{name}`"
        )));
    }
    let applied = session.state.applied_steps();
    let saved = saved_steps(&session);
    for (vm, observed) in &vms {
        let was_on = observed.state.is_on();
        if was_on {
            session.vbox.power_off(&observed.uuid)?;
        }
        session
            .vbox
            .wait_unlocked(&observed.uuid, Duration::from_secs(30))?;
        session.vbox.restore_snapshot(&observed.uuid, name)?;
        let _ = applied.set(
            &observed.uuid,
            saved.get(&format!("{}/{name}", observed.uuid)),
        );
        if was_on {
            session.vbox.start(&observed.uuid)?;
        }
        ui.out(&format!(
            "{vm}: restored to `{name}`{}\n",
            if was_on { " and started again" } else { "" }
        ));
    }
    Ok(exit_code::OK)
}

/// `labctl snapshot list [FILE] [VM…]`.
pub(crate) fn list(ui: &Ui, args: &TargetArgs) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &args.images);
    let session = LabSession::open(ui, &lab_arg, None)?;
    let inventory = session.inventory(false)?;
    let vms = targets(&session, &inventory, &names);
    if ui.json {
        let value: serde_json::Map<String, serde_json::Value> = vms
            .iter()
            .map(|(vm, observed)| (vm.clone(), serde_json::json!(observed.snapshots)))
            .collect();
        ui.json_out(&value);
        return Ok(exit_code::OK);
    }
    for (vm, observed) in vms {
        ui.out(&format!(
            "{vm:<12} {}\n",
            if observed.snapshots.is_empty() {
                "-".to_string()
            } else {
                observed.snapshots.join(", ")
            }
        ));
    }
    Ok(exit_code::OK)
}
