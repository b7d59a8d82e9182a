//! `VBoxManage setextradata|getextradata <vm>|global` and `setproperty machinefolder`.

use crate::vbox::ctx::Ctx;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageMisc.cpp";

pub fn set(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let (target, key, value) = match args {
        [t, k] => (t, k, None),
        [t, k, v] => (t, k, Some(v.clone())),
        _ => return Err(VBoxError::syntax("Not enough parameters", usage::EXTRADATA)),
    };
    if target == "global" {
        // A fault is consumed even though the command fails.
        ctx.update_always(|state| {
            if state.faults.global_extradata_fail > 0 {
                state.faults.global_extradata_fail -= 1;
                return Err(VBoxError::com(
                    format!(
                        "Could not save the settings file '{}' (VERR_DISK_FULL)",
                        ctx.store.home.join("VirtualBox.xml").display()
                    ),
                    vbox_error::VBOX_E_FILE_ERROR,
                    "VirtualBoxWrap",
                    "IVirtualBox",
                    vbox_error::context("RTEXITCODE handleSetExtraData(HandlerArg *)", 2529, FILE),
                ));
            }
            Ok(())
        })?;
    }
    ctx.update(|state| {
        let map = if target == "global" {
            &mut state.extradata
        } else {
            let idx = ctx.find(state, target, FILE)?;
            &mut state.machines[idx].extradata
        };
        match value.filter(|v| !v.is_empty()) {
            Some(v) => map.insert(key.clone(), v),
            None => map.remove(key),
        };
        if target != "global"
            && let Some(idx) = state.find(target)
        {
            let _ = crate::settings_file::write(&state.machines[idx]);
        }
        Ok(())
    })
}

pub fn get(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let [target, key] = args else {
        return Err(VBoxError::syntax(
            "Incorrect number of parameters",
            usage::EXTRADATA,
        ));
    };
    let state = ctx.read()?;
    let map = if target == "global" {
        &state.extradata
    } else {
        &state.machines[ctx.find(&state, target, FILE)?].extradata
    };
    if key == "enumerate" {
        for (k, v) in map {
            println!("Key: {k}, Value: {v}");
        }
    } else {
        match map.get(key) {
            Some(v) => println!("Value: {v}"),
            None => println!("No value set!"),
        }
    }
    Ok(())
}

pub fn setproperty(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    match args {
        [p, v] if p == "machinefolder" => ctx.update(|state| {
            state.machine_folder = if v == "default" {
                None
            } else {
                Some(ctx.local(v))
            };
            Ok(())
        }),
        [p, _]
            if matches!(
                p.as_str(),
                "hwvirtexclusive"
                    | "vrdeauthlibrary"
                    | "websrvauthlibrary"
                    | "loghistorycount"
                    | "language"
                    | "proxymode"
                    | "proxyurl"
            ) =>
        {
            Ok(())
        }
        [p, _] => Err(VBoxError::syntax(
            format!("Invalid parameter '{p}'"),
            usage::SETPROPERTY,
        )),
        _ => Err(VBoxError::syntax(
            "Incorrect number of parameters",
            usage::SETPROPERTY,
        )),
    }
}
