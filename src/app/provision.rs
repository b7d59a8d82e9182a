//! `labctl provision`: runs the provisioning steps of running VMs that have not run with their
//! current content (every step with `--force`), in `after` order, VMs in parallel.

use std::collections::HashMap;
use std::time::Duration;

use super::lab_session::LabSession;
use super::up::{RunSettings, pending_steps, run_plan};
use super::{Ui, select_vms};
use crate::cli::ProvisionArgs;
use crate::error::Error;
use crate::exec::RuntimeContext;
use crate::exit_code;
use crate::plan::{Action, ActionId, Plan};

/// `labctl provision [FILE] [VM…] [--force]`.
pub(crate) fn provision(ui: &Ui, args: &ProvisionArgs) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &[]);
    let session = LabSession::open(ui, &lab_arg, Some("provision"))?;
    let lab = &session.lab;
    let chosen = if names.is_empty() {
        lab.vms.iter().collect()
    } else {
        select_vms(lab, &names)?
    };
    let inventory = session.inventory(false)?;
    let context = RuntimeContext::from_inventory(lab, &inventory);
    for vm in &chosen {
        let running = inventory
            .vm_named(&vm.vbox_name)
            .filter(|observed| observed.owned_by(&lab.name))
            .is_some_and(|observed| observed.state.is_on());
        if !running {
            return Err(Error::Refused(format!(
                "`{}` is not running: bring it up first (`labctl up {}`)",
                vm.name, vm.name
            )));
        }
    }
    let applied = session.state.applied_steps();
    if args.force {
        for vm in &chosen {
            if let Some(uuid) = context.uuids.get(&vm.name) {
                applied.set(uuid, None).map_err(|source| Error::File {
                    action: "update",
                    path: session.state.dir().to_path_buf(),
                    source,
                })?;
            }
        }
    }
    let pending = pending_steps(lab, &context, &applied);
    let mut plan = Plan::default();
    let mut ids: HashMap<&str, ActionId> = HashMap::new();
    for vm in lab
        .vms
        .iter()
        .filter(|vm| chosen.iter().any(|c| c.name == vm.name))
    {
        let count = pending.get(&vm.name).copied().unwrap_or(vm.steps.len());
        if count == 0 {
            continue;
        }
        let after = vm
            .after
            .iter()
            .filter_map(|name| ids.get(name.as_str()).copied())
            .collect();
        let reason = if args.force {
            "--force: every step runs again".to_string()
        } else {
            format!(
                "{count} step{} not run with their current content",
                if count == 1 { "" } else { "s" }
            )
        };
        let id = plan.push(
            Action::Provision {
                vm: vm.name.clone(),
                steps: vm.steps.len(),
                names: vm.steps.iter().map(|step| step.name.clone()).collect(),
            },
            reason,
            after,
        );
        ids.insert(vm.name.as_str(), id);
    }
    if plan.is_empty() {
        ui.out(&format!(
            "lab `{}`: every step has run with its current content; nothing to do (--force runs them again)\n",
            lab.name
        ));
        return Ok(exit_code::OK);
    }
    run_plan(
        ui,
        &session,
        &plan,
        context,
        &RunSettings {
            command: "provision",
            jobs: usize::from(args.jobs),
            fail_fast: args.fail_fast,
            boot_timeout: Duration::from_secs(120),
        },
    )
}
