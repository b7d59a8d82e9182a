//! `VBoxManage clonevm <vm> [--snapshot] [--name] [--groups] [--basefolder] [--mode]
//! [--options link,keepallmacs,...] [--uuid] [--register]`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::layers;
use crate::model::ids;
use crate::model::machine::{Disk, Machine, PowerState};
use crate::model::nic::Attachment;
use crate::vbox::ctx::Ctx;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageMisc.cpp";

const OPTS: &[Opt] = &[
    Opt::new("--snapshot", "snapshot", Arg::Str),
    Opt::new("--name", "name", Arg::Str),
    Opt::new("--groups", "groups", Arg::Str),
    Opt::new("--basefolder", "basefolder", Arg::Str),
    Opt::new("--mode", "mode", Arg::Str),
    Opt::new("--options", "options", Arg::Str),
    Opt::new("--uuid", "uuid", Arg::Str),
    Opt::new("--register", "register", Arg::None),
];

fn clone_context() -> String {
    vbox_error::context(
        "CloneTo(trgMachine, enmMode, ComSafeArrayAsInParam(options), progress.asOutParam())",
        618,
        FILE,
    )
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::CLONEVM))?;
    let mut src = None;
    let (mut snapshot, mut name, mut groups, mut basefolder, mut uuid) =
        (None, None, None, None, None);
    let mut register = false;
    let (mut link, mut keep_all, mut keep_nat) = (false, false, false);
    for item in items {
        match item {
            Item::Positional(p) if src.is_none() => src = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::CLONEVM,
                ));
            }
            Item::Opt { id, value, .. } => {
                let v = value.unwrap_or_default();
                match id {
                    "snapshot" => snapshot = Some(v),
                    "name" => name = Some(v),
                    "groups" => groups = Some(v),
                    "basefolder" => basefolder = Some(ctx.local(&v)),
                    "mode"
                        if !matches!(
                            v.to_ascii_lowercase().as_str(),
                            "machine" | "machineandchildren" | "all"
                        ) =>
                    {
                        return Err(VBoxError::argument(format!("Invalid clone mode '{v}'")));
                    }
                    "options" => {
                        for o in v.split(',') {
                            match o.trim().to_ascii_lowercase().as_str() {
                                "link" => link = true,
                                "keepallmacs" => keep_all = true,
                                "keepnatmacs" => keep_nat = true,
                                "keepdisknames" | "keephwuuids" => {}
                                _ => {
                                    return Err(VBoxError::argument(format!(
                                        "Invalid clone options '{v}'"
                                    )));
                                }
                            }
                        }
                    }
                    "uuid" => {
                        uuid =
                            Some(ids::parse_uuid(&v).ok_or_else(|| {
                                VBoxError::argument(format!("Invalid UUID '{v}'"))
                            })?);
                    }
                    "register" => register = true,
                    _ => {}
                }
            }
        }
    }
    let Some(src) = src else {
        return Err(VBoxError::syntax(
            "Mandatory parameter missing: machine",
            usage::CLONEVM,
        ));
    };
    let groups: Vec<String> = match &groups {
        Some(g) => g
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => vec!["/".into()],
    };
    if let Some(bad) = groups.iter().find(|g| !g.starts_with('/')) {
        return Err(VBoxError::com(
            format!("Invalid machine group '{bad}'"),
            vbox_error::E_INVALIDARG,
            "VirtualBoxWrap",
            "IVirtualBox",
            vbox_error::context("CreateMachine(...)", 583, FILE),
        ));
    }
    let modelled = if link {
        latency::LINKED_CLONE
    } else {
        latency::FULL_CLONE_PER_GB
    };
    {
        let state = ctx.read()?;
        let idx = ctx.find(&state, &src, FILE)?;
        let source = &state.machines[idx];
        if let Some(s) = &snapshot {
            if source.snapshot_by_name_or_uuid(s).is_none() {
                return Err(snapshot_missing(s));
            }
        } else if link {
            return Err(link_needs_snapshot());
        }
    }
    let _registry = ctx
        .store
        .registry_lock()
        .map_err(crate::vbox::ctx::internal)?;
    ctx.progress(modelled);
    let cloned_name = ctx.update(|state| {
        let idx = ctx.find(state, &src, FILE)?;
        let source = state.machines[idx].clone();
        let snap = match &snapshot {
            Some(s) => Some(source.snapshot_by_name_or_uuid(s).cloned().ok_or_else(|| snapshot_missing(s))?),
            None => None,
        };
        if link && snap.is_none() {
            return Err(link_needs_snapshot());
        }
        let new_name = name.clone().unwrap_or_else(|| format!("{} Clone", source.name));
        let base = basefolder.clone().unwrap_or_else(|| ctx.machine_folder(state));
        let vm_dir = format!("{base}/{new_name}");
        let cfg_file = format!("{vm_dir}/{new_name}.vbox");
        if Path::new(&cfg_file).exists() {
            return Err(VBoxError::com(
                format!("Machine settings file '{}' already exists", ctx.shown(&cfg_file)),
                vbox_error::VBOX_E_FILE_ERROR,
                "VirtualBoxWrap",
                "IVirtualBox",
                vbox_error::context("CreateMachine(bstrSettingsFile.raw(), Bstr(pszTrgName).raw(), ComSafeArrayAsInParam(groups), NULL, Bstr(pszTrgBaseFolder).raw(), Bstr(pszTrgUuid).raw(), NULL, trgMachine.asOutParam())", 600, FILE),
            ));
        }
        let new_uuid = uuid.clone().unwrap_or_else(ids::new_uuid);
        if register && state.machines.iter().any(|m| m.uuid == new_uuid) {
            return Err(VBoxError::com(
                format!("Registered machine with UUID {{{new_uuid}}} ('{}') already exists", ctx.shown(&cfg_file)),
                vbox_error::VBOX_E_OBJECT_IN_USE,
                "VirtualBoxWrap",
                "IVirtualBox",
                vbox_error::context("RegisterMachine(trgMachine)", 631, FILE),
            ));
        }
        let hw_src = snap.as_ref().map(|s| s.hardware.clone()).unwrap_or_else(|| source.hw.clone());
        let mut hw = hw_src;
        for nic in hw.nics.iter_mut() {
            let keep = keep_all || (keep_nat && nic.attachment == Attachment::Nat);
            if !keep {
                nic.mac = ids::new_mac();
            }
        }
        std::fs::create_dir_all(format!("{vm_dir}/Logs")).map_err(|e| clone_failed(format!("Could not create the folder '{vm_dir}' ({e})")))?;
        let src_layers = match &snap {
            Some(s) => s.layers.clone(),
            None => source.disk.as_ref().map(|d| d.layers.clone()).unwrap_or_default(),
        };
        let disk = match &source.disk {
            None => None,
            Some(src_disk) if link => {
                let (file, layer) = layers::create_diff(&format!("{vm_dir}/Snapshots"), &ids::new_uuid(), &src_disk.file)
                    .map_err(clone_failed)?;
                let mut all = src_layers.clone();
                all.push(layer.clone());
                Some(Disk { file, uuid: ids::new_uuid(), layers: all, owned: vec![layer], controller: src_disk.controller.clone() })
            }
            Some(src_disk) => {
                let file = format!("{vm_dir}/{new_name}-disk001.vmdk");
                let top = layers::create_disk(&file, format!("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n# clone of {}\n", src_disk.file).as_bytes(), None)
                    .map_err(clone_failed)?;
                let mut copies = Vec::new();
                for (i, l) in src_layers.iter().enumerate() {
                    let dst = format!("{top}.{i}");
                    copy_tree(l, &dst).map_err(clone_failed)?;
                    copies.push(dst);
                }
                let mut all = copies.clone();
                all.push(top.clone());
                copies.push(top);
                Some(Disk { file, uuid: ids::new_uuid(), layers: all, owned: copies, controller: src_disk.controller.clone() })
            }
        };
        let now = ids::now_ns();
        let m = Machine {
            uuid: new_uuid.clone(),
            hardware_uuid: ids::new_uuid(),
            name: new_name.clone(),
            groups: groups.clone(),
            description: source.description.clone(),
            cfg_file,
            vm_dir,
            state: PowerState::PowerOff,
            state_change_ns: now,
            hw,
            disk,
            snapshots: Vec::new(),
            current_snapshot: None,
            extradata: source.extradata.clone(),
            guest_props: source.guest_props.clone(),
            guest_props_deleted: BTreeMap::new(),
            session: None,
            lock_until_ms: 0,
            boot_id: 0,
            appliance_user: source.appliance_user.clone(),
            nic_leases: Vec::new(),
        saved_state: None,
        };
        crate::settings_file::write(&m).map_err(clone_failed)?;
        if register {
            state.machines.push(m);
        }
        Ok(new_name)
    })?;
    println!("Machine has been successfully cloned as \"{cloned_name}\"");
    Ok(())
}

fn snapshot_missing(s: &str) -> VBoxError {
    VBoxError::com(
        format!("Could not find a snapshot named '{s}'"),
        vbox_error::VBOX_E_OBJECT_NOT_FOUND,
        "MachineWrap",
        "IMachine",
        vbox_error::context(
            "FindSnapshot(Bstr(pszSnapshotName).raw(), srcSnapshot.asOutParam())",
            593,
            FILE,
        ),
    )
}

fn link_needs_snapshot() -> VBoxError {
    VBoxError::com(
        "Linked clone can only be created from a snapshot",
        vbox_error::E_INVALIDARG,
        "MachineWrap",
        "IMachine",
        clone_context(),
    )
}

fn clone_failed(detail: String) -> VBoxError {
    VBoxError::com(
        detail,
        vbox_error::VBOX_E_FILE_ERROR,
        "MachineWrap",
        "IMachine",
        clone_context(),
    )
}

/// A full clone copies the layers; `cp -a` keeps ownership, modes, xattrs and overlay whiteouts.
fn copy_tree(src: &str, dst: &str) -> Result<(), String> {
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto", src, dst])
        .status()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cannot copy {src} to {dst}"))
    }
}
