//! `VBoxManage snapshot <vm> take|list|restore|restorecurrent|delete|edit`.

use crate::layers;
use crate::model::ids;
use crate::model::machine::PowerState;
use crate::model::snapshot::Snapshot;
use crate::vbox::ctx::{Ctx, is_locked};
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageSnapshot.cpp";

/// After the VM lookup every failure of this handler is exit 1, syntax errors included.
fn fail(message: impl Into<String>) -> VBoxError {
    VBoxError::failure(message)
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    if args.len() < 2 {
        return Err(VBoxError::syntax("Not enough parameters", usage::SNAPSHOT));
    }
    let vm = &args[0];
    let sub = args[1].as_str();
    let rest = &args[2..];
    let state = ctx.read()?;
    ctx.find(&state, vm, FILE)?;
    match sub {
        "take" => take(ctx, vm, rest),
        "list" => list(ctx, vm, rest),
        "restore" | "restorecurrent" => restore(ctx, vm, sub, rest),
        "delete" => delete(ctx, vm, rest),
        "edit" => edit(ctx, vm, rest),
        other => Err(fail(format!("Invalid parameter '{other}'"))),
    }
}

const TAKE_OPTS: &[Opt] = &[
    Opt::new("--description", "description", Arg::Str),
    Opt::new("-d", "description", Arg::Str),
    Opt::new("--live", "live", Arg::None),
    Opt::new("--pause", "pause", Arg::None),
    Opt::new("--uniquename", "unique", Arg::Str),
];

fn take(ctx: &Ctx, vm: &str, args: &[String]) -> Result<(), VBoxError> {
    let Some(name) = args.first().cloned() else {
        return Err(fail("Missing snapshot name"));
    };
    let items = getopt::parse(&args[1..], TAKE_OPTS).map_err(|e| fail(e.0))?;
    let mut description = String::new();
    let mut unique = false;
    for item in items {
        match item {
            Item::Opt {
                id: "description",
                value,
                ..
            } => description = value.unwrap_or_default(),
            Item::Opt {
                id: "unique",
                value,
                ..
            } => {
                let v = value.unwrap_or_default().to_ascii_lowercase();
                for flag in v.split(',') {
                    match flag.trim() {
                        "number" => unique = true,
                        "timestamp" | "space" | "force" => {}
                        _ => return Err(fail(format!("Invalid unique name description '{v}'"))),
                    }
                }
            }
            Item::Opt { .. } => {}
            Item::Positional(p) => return Err(fail(format!("Invalid parameter '{p}'"))),
        }
    }
    ctx.latency.sleep(latency::SNAPSHOT / 2.0);
    let uuid = ctx.update(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let m = &mut state.machines[idx];
        let mut final_name = name.clone();
        if unique {
            let mut n = 2;
            while m.snapshots.iter().any(|s| s.name == final_name) {
                final_name = format!("{name}{n}");
                n += 1;
            }
        }
        let uuid = ids::new_uuid();
        let folder = m.snapshot_folder();
        let mut frozen = m
            .disk
            .as_ref()
            .map(|d| d.layers.clone())
            .unwrap_or_default();
        let live = matches!(m.state, PowerState::Running | PowerState::Paused);
        if let Some(disk) = m.disk.as_mut() {
            let (file, layer) = layers::create_diff(&folder, &ids::new_uuid(), &disk.file)
                .map_err(snapshot_failed)?;
            if live {
                // A running guest writes into its top layer through an overlay mount that
                // cannot be swapped under it: the snapshot keeps a copy of that layer as of
                // now, and the guest goes on writing in its own (VirtualBox's live snapshot).
                if let Some(top) = frozen.pop() {
                    layers::copy_layer(&top, &layer).map_err(snapshot_failed)?;
                }
                frozen.push(layer.clone());
            } else {
                disk.file = file;
                disk.layers.push(layer.clone());
            }
            disk.owned.push(layer);
        }
        m.snapshots.push(Snapshot {
            uuid: uuid.clone(),
            name: final_name,
            description: description.clone(),
            parent: m.current_snapshot.clone(),
            taken_ns: ids::now_ns(),
            hardware: m.hw.clone(),
            layers: frozen,
        });
        m.current_snapshot = Some(uuid.clone());
        crate::settings_file::write(m).map_err(snapshot_failed)?;
        Ok(uuid)
    })?;
    ctx.progress(latency::SNAPSHOT / 2.0);
    println!("Snapshot taken. UUID: {uuid}");
    Ok(())
}

fn snapshot_failed(detail: String) -> VBoxError {
    VBoxError::Com {
        message: vec!["Failed to take snapshot".into(), detail],
        code: vbox_error::VBOX_E_FILE_ERROR,
        component: "SessionMachine",
        interface: "IMachine",
        context: vbox_error::context(
            "TakeSnapshot(Bstr(pszName).raw(), Bstr(pszDescription).raw(), fPause, bstrSnapshotId.asOutParam(), progress.asOutParam())",
            631,
            FILE,
        ),
        exit: 1,
    }
}

fn list(ctx: &Ctx, vm: &str, args: &[String]) -> Result<(), VBoxError> {
    let mut mr = false;
    for a in args {
        match a.as_str() {
            "--machinereadable" => mr = true,
            "--details" => {}
            other => return Err(fail(format!("Unknown option: {other}"))),
        }
    }
    let state = ctx.read()?;
    let m = &state.machines[ctx.find(&state, vm, FILE)?];
    if m.snapshots.is_empty() {
        println!("This machine does not have any snapshots");
        return Err(VBoxError::Exit(1));
    }
    if mr {
        print!(
            "{}",
            crate::commands::snapshot_listing::snapshot_machine_readable(m)
        );
    } else {
        print!("{}", crate::commands::snapshot_listing::human_tree(m));
    }
    Ok(())
}

fn not_found_snapshot(name: &str) -> VBoxError {
    VBoxError::com(
        format!("Could not find a snapshot named '{name}'"),
        vbox_error::VBOX_E_OBJECT_NOT_FOUND,
        "MachineWrap",
        "IMachine",
        vbox_error::context(
            "FindSnapshot(Bstr(a->argv[2]).raw(), pSnapshot.asOutParam())",
            761,
            FILE,
        ),
    )
}

fn restore(ctx: &Ctx, vm: &str, sub: &str, args: &[String]) -> Result<(), VBoxError> {
    let target = if sub == "restore" {
        match args {
            [name] => Some(name.clone()),
            [] => return Err(fail("Missing snapshot name")),
            _ => return Err(fail("Expecting snapshot name only")),
        }
    } else {
        if !args.is_empty() {
            return Err(fail("Invalid parameter"));
        }
        None
    };
    let (name, uuid) = ctx.update(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let m = &mut state.machines[idx];
        let snap = match &target {
            Some(t) => m.snapshot_by_name_or_uuid(t).cloned().ok_or_else(|| not_found_snapshot(t))?,
            None => {
                let cur = m.current_snapshot.clone().ok_or_else(|| fail("This machine does not have any snapshots"))?;
                m.snapshot_by_name_or_uuid(&cur).cloned().ok_or_else(|| fail("This machine does not have any snapshots"))?
            }
        };
        if is_locked(m) || m.state.is_active() {
            return Err(VBoxError::Com {
                message: vec![format!(
                    "Cannot restore snapshot of the machine '{}' while it is {} (must be powered off or saved)",
                    m.name,
                    m.state.human()
                )],
                code: vbox_error::VBOX_E_INVALID_VM_STATE,
                component: "SessionMachine",
                interface: "IMachine",
                context: vbox_error::context("RestoreSnapshot(pSnapshot, progress.asOutParam())", 815, FILE),
                exit: 1,
            });
        }
        println!("Restoring snapshot '{}' ({})", snap.name, snap.uuid);
        m.hw = snap.hardware.clone();
        if let Some(disk) = m.disk.as_mut() {
            let old_top = disk.layers.last().cloned();
            let old_file = disk.file.clone();
            let (file, layer) = layers::create_diff(&format!("{}/Snapshots", m.vm_dir), &ids::new_uuid(), &disk.file)
                .map_err(fail)?;
            // The state after the snapshot is discarded: its differencing layer goes, unless a
            // later snapshot froze it.
            let frozen_later = m.snapshots.iter().any(|s| old_top.as_ref().is_some_and(|t| s.layers.contains(t)));
            if let Some(top) = old_top.filter(|_| !frozen_later) {
                layers::remove_disk(&old_file);
                layers::remove_layer(&top);
                layers::remove_layer(&format!("{top}.work"));
                disk.owned.retain(|l| *l != top);
            }
            disk.layers = snap.layers.clone();
            disk.layers.push(layer.clone());
            disk.owned.push(layer);
            disk.file = file;
        }
        if m.state == crate::model::machine::PowerState::Aborted {
            m.state = crate::model::machine::PowerState::PowerOff;
        }
        m.current_snapshot = Some(snap.uuid.clone());
        crate::settings_file::write(m).map_err(fail)?;
        Ok((snap.name, snap.uuid))
    })?;
    let _ = (name, uuid);
    ctx.progress(latency::SNAPSHOT);
    Ok(())
}

fn delete(ctx: &Ctx, vm: &str, args: &[String]) -> Result<(), VBoxError> {
    let target = match args {
        [name] => name.clone(),
        [] => return Err(fail("Missing snapshot name")),
        _ => return Err(fail("Expecting snapshot name only")),
    };
    ctx.update(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let snap = state.machines[idx]
            .snapshot_by_name_or_uuid(&target)
            .cloned()
            .ok_or_else(|| not_found_snapshot(&target))?;
        let dependents = state
            .machines
            .iter()
            .enumerate()
            .filter(|(i, other)| {
                *i != idx
                    && other
                        .disk
                        .as_ref()
                        .is_some_and(|d| snap.layers.iter().any(|l| d.layers.contains(l)))
            })
            .count();
        let m = &mut state.machines[idx];
        println!("Deleting snapshot '{}' ({})", snap.name, snap.uuid);
        if dependents > 0 {
            let file = m.disk.as_ref().map(|d| d.file.clone()).unwrap_or_default();
            return Err(VBoxError::Com {
                message: vec![format!(
                    "Hard disk '{file}' has more than one child hard disk ({})",
                    dependents + 1
                )],
                code: vbox_error::VBOX_E_INVALID_OBJECT_STATE,
                component: "SessionMachine",
                interface: "IMachine",
                context: vbox_error::context(
                    "DeleteSnapshot(bstrSnapGuid.raw(), pProgress.asOutParam())",
                    848,
                    FILE,
                ),
                exit: 1,
            });
        }
        for s in m.snapshots.iter_mut() {
            if s.parent.as_deref() == Some(snap.uuid.as_str()) {
                s.parent = snap.parent.clone();
            }
        }
        m.snapshots.retain(|s| s.uuid != snap.uuid);
        if m.current_snapshot.as_deref() == Some(snap.uuid.as_str()) {
            m.current_snapshot = snap.parent.clone();
        }
        crate::settings_file::write(m).map_err(fail)?;
        Ok(())
    })?;
    ctx.progress(latency::SNAPSHOT);
    Ok(())
}

fn edit(ctx: &Ctx, vm: &str, args: &[String]) -> Result<(), VBoxError> {
    let Some(target) = args.first().cloned() else {
        return Err(fail("Missing snapshot name"));
    };
    let opts = [
        Opt::new("--name", "name", Arg::Str),
        Opt::new("-n", "name", Arg::Str),
        Opt::new("--description", "description", Arg::Str),
        Opt::new("-d", "description", Arg::Str),
    ];
    let items = getopt::parse(&args[1..], &opts).map_err(|e| fail(e.0))?;
    ctx.update(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let m = &mut state.machines[idx];
        let uuid = if target == "--current" {
            m.current_snapshot
                .clone()
                .ok_or_else(|| fail("This machine does not have any snapshots"))?
        } else {
            m.snapshot_by_name_or_uuid(&target)
                .map(|s| s.uuid.clone())
                .ok_or_else(|| not_found_snapshot(&target))?
        };
        let s = m
            .snapshots
            .iter_mut()
            .find(|s| s.uuid == uuid)
            .ok_or_else(|| not_found_snapshot(&target))?;
        for item in &items {
            match item {
                Item::Opt {
                    id: "name", value, ..
                } => s.name = value.clone().unwrap_or_default(),
                Item::Opt {
                    id: "description",
                    value,
                    ..
                } => s.description = value.clone().unwrap_or_default(),
                Item::Positional(p) => return Err(fail(format!("Invalid parameter '{p}'"))),
                _ => {}
            }
        }
        Ok(())
    })
}
