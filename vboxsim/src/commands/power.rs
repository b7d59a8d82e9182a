//! `VBoxManage unregistervm <vm> [--delete|--delete-all]` and `discardstate <vm>`.

use crate::layers;
use crate::model::machine::PowerState;
use crate::vbox::ctx::{Ctx, is_locked};
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

pub fn unregistervm(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let usage_text = if ctx.emu.family == Family::V6_1 {
        usage::UNREGISTERVM_61
    } else {
        usage::UNREGISTERVM
    };
    let mut opts = vec![Opt::new("--delete", "delete", Arg::None)];
    if ctx.emu.family >= Family::V7_0 {
        opts.push(Opt::new("--delete-all", "deleteall", Arg::None));
    }
    let items = getopt::parse(args, &opts).map_err(|e| VBoxError::syntax(e.0, usage_text))?;
    let mut vm = None;
    let mut delete = false;
    for item in items {
        match item {
            Item::Positional(p) if vm.is_none() => vm = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage_text,
                ));
            }
            Item::Opt { .. } => delete = true,
        }
    }
    let Some(vm) = vm else {
        return Err(VBoxError::syntax("VM name required", usage_text));
    };
    const FILE: &str = "VBoxManageMisc.cpp";
    let _registry = ctx
        .store
        .registry_lock()
        .map_err(crate::vbox::ctx::internal)?;
    ctx.update_always(|state| {
        let idx = ctx.find(state, &vm, FILE)?;
        let name = state.machines[idx].name.clone();
        let locked_err = || {
            VBoxError::com(
                format!("Cannot unregister the machine '{name}' while it is locked"),
                vbox_error::VBOX_E_INVALID_OBJECT_STATE,
                "MachineWrap",
                "IMachine",
                vbox_error::context("Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))", 177, FILE),
            )
        };
        if state.faults.lock_writes > 0 {
            state.faults.lock_writes -= 1;
            return Err(locked_err());
        }
        if is_locked(&state.machines[idx]) || state.machines[idx].state.is_active() {
            return Err(locked_err());
        }
        let m = state.machines.remove(idx);
        if delete {
            let in_use = |layer: &String| {
                state.machines.iter().any(|o| {
                    o.disk.as_ref().is_some_and(|d| d.layers.contains(layer))
                        || o.snapshots.iter().any(|s| s.layers.contains(layer))
                })
            };
            if let Some(d) = &m.disk {
                let mut all_owned: Vec<String> = d.owned.clone();
                all_owned.sort();
                all_owned.dedup();
                for layer in all_owned.iter().filter(|l| !in_use(l)) {
                    let image = layer.strip_suffix(".layer").map(str::to_string);
                    layers::remove_layer(layer);
                    layers::remove_layer(&format!("{layer}.work"));
                    if let Some(img) = image {
                        let _ = std::fs::remove_file(img);
                    }
                }
            }
            let _ = std::fs::remove_file(&m.cfg_file);
            let _ = std::fs::remove_file(format!("{}-prev", m.cfg_file));
            let _ = std::fs::remove_dir_all(m.log_folder());
            let _ = std::fs::remove_dir_all(format!("{}/.vboxsim", m.vm_dir));
            let _ = std::fs::remove_file(format!("{}/{}.nvram", m.vm_dir, m.name));
            if let Some(file) = &m.saved_state {
                let _ = std::fs::remove_file(file);
            }
            let _ = std::fs::remove_dir(m.snapshot_folder());
            let _ = std::fs::remove_dir(&m.vm_dir);
        }
        Ok(delete)
    })
    .map(|delete| {
        // The VM leaves the registry first; deleting its files is what takes the time.
        if delete {
            ctx.progress(latency::UNREGISTER);
        } else {
            ctx.latency.sleep(latency::UNREGISTER);
        }
    })
}

pub fn discardstate(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let [vm] = args else {
        return Err(VBoxError::syntax(
            "Incorrect number of parameters",
            usage::DISCARDSTATE,
        ));
    };
    const FILE: &str = "VBoxManageMisc.cpp";
    ctx.update_always(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        ctx.take_write_lock(state, idx, FILE)?;
        let m = &mut state.machines[idx];
        if m.state != PowerState::Saved {
            return Err(VBoxError::com(
                format!(
                    "Cannot discard the saved state as the machine is not in the saved state (machine state: {})",
                    m.state.human()
                ),
                vbox_error::VBOX_E_INVALID_VM_STATE,
                "SessionMachine",
                "IMachine",
                vbox_error::context("DiscardSavedState(true)", 1029, FILE),
            ));
        }
        m.state = PowerState::PowerOff;
        m.state_change_ns = crate::model::ids::now_ns();
        if let Some(file) = m.saved_state.take() {
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    })
}
