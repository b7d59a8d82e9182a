//! `VBoxManage import <ova|ovf> [-n] [--options ...] [--vsys N ...]`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::appliance::ovf::{Ovf, VirtualSystem};
use crate::appliance::vmdk;
use crate::commands::list::os_description;
use crate::layers;
use crate::model::ids;
use crate::model::machine::{Disk, Hardware, Machine, NIC_SLOTS, PowerState};
use crate::model::nic::{Attachment, Nic};
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const OPTS: &[Opt] = &[
    Opt::new("--dry-run", "dry", Arg::None),
    Opt::new("-n", "dry", Arg::None),
    Opt::new("--options", "options", Arg::Str),
    Opt::new("-o", "options", Arg::Str),
    Opt::new("--vsys", "vsys", Arg::U32),
    Opt::new("--vmname", "vmname", Arg::Str),
    Opt::new("--ostype", "ostype", Arg::Str),
    Opt::new("--description", "description", Arg::Str),
    Opt::new("--cpus", "cpus", Arg::U32),
    Opt::new("--memory", "memory", Arg::U32),
    Opt::new("--basefolder", "basefolder", Arg::Str),
    Opt::new("--settingsfile", "settingsfile", Arg::Str),
    Opt::new("--group", "group", Arg::Str),
    Opt::new("--eula", "eula", Arg::Str),
    Opt::new("--unit", "unit", Arg::U32),
    Opt::new("--ignore", "ignore", Arg::None),
    Opt::new("--disk", "disk", Arg::Str),
    Opt::new("--controller", "controller", Arg::U32),
    Opt::new("--port", "port", Arg::U32),
    Opt::new("--scsitype", "scsitype", Arg::Str),
];

/// What the user changed for one virtual system.
#[derive(Default, Clone)]
struct Overrides {
    vmname: Option<String>,
    ostype: Option<String>,
    description: Option<String>,
    cpus: Option<u32>,
    memory: Option<u32>,
    basefolder: Option<String>,
    settingsfile: Option<String>,
    group: Option<String>,
    ignored: Vec<u32>,
    disks: BTreeMap<u32, String>,
}

/// One numbered line of the description, as the dry run prints it.
struct Entry {
    text: String,
    hints: Vec<String>,
}

/// The appliance as read: descriptor, its absolute path, and the disk files' bytes.
struct Package {
    ovf: Ovf,
    shown_path: String,
    files: BTreeMap<String, Vec<u8>>,
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::IMPORT))?;
    let mut file = None;
    let mut dry = false;
    let (mut keep_all, mut keep_nat) = (false, false);
    let mut systems: BTreeMap<u32, Overrides> = BTreeMap::new();
    let mut vsys: Option<u32> = None;
    let mut unit: Option<u32> = None;
    for item in items {
        match item {
            Item::Positional(p) if file.is_none() => file = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::IMPORT,
                ));
            }
            Item::Opt { id: "dry", .. } => dry = true,
            Item::Opt {
                id: "options",
                value,
                ..
            } => {
                for o in value
                    .unwrap_or_default()
                    .split(',')
                    .filter(|o| !o.is_empty())
                {
                    match o.to_ascii_lowercase().as_str() {
                        "keepallmacs" => keep_all = true,
                        "keepnatmacs" => keep_nat = true,
                        "importtovdi" => {}
                        _ => {
                            return Err(VBoxError::syntax(
                                format!("Unknown option: {o}"),
                                usage::IMPORT,
                            ));
                        }
                    }
                }
                if keep_all && keep_nat {
                    return Err(VBoxError::syntax(
                        "Options keepallmacs and keepnatmacs are mutually exclusive",
                        usage::IMPORT,
                    ));
                }
            }
            Item::Opt {
                id: "vsys", value, ..
            } => {
                let n = getopt::parse_u32(&value.unwrap_or_default()).unwrap_or(0);
                vsys = Some(n);
                unit = None;
                systems.entry(n).or_default();
            }
            Item::Opt {
                id, name, value, ..
            } => {
                let Some(n) = vsys else {
                    return Err(VBoxError::syntax(
                        format!("Option \"{name}\" requires preceding --vsys or --cloud option."),
                        usage::IMPORT,
                    ));
                };
                let o = systems.entry(n).or_default();
                let v = value.unwrap_or_default();
                match id {
                    "vmname" => o.vmname = Some(v),
                    "ostype" => o.ostype = Some(v),
                    "description" => o.description = Some(v),
                    "cpus" => {
                        let c = getopt::parse_u32(&v).unwrap_or(0);
                        if !(1..=64).contains(&c) {
                            return Err(VBoxError::syntax(
                                format!("Invalid argument format: {v}"),
                                usage::IMPORT,
                            ));
                        }
                        o.cpus = Some(c);
                    }
                    "memory" => o.memory = getopt::parse_u32(&v),
                    "basefolder" => o.basefolder = Some(absolute(&ctx.local(&v))),
                    "settingsfile" => o.settingsfile = Some(absolute(&ctx.local(&v))),
                    "group" => o.group = Some(v),
                    "unit" => unit = getopt::parse_u32(&v),
                    "ignore" | "disk" | "controller" | "port" => {
                        let Some(u) = unit else {
                            return Err(VBoxError::syntax(
                                format!("Option \"{name}\" requires preceding --unit argument."),
                                usage::IMPORT,
                            ));
                        };
                        if id == "ignore" {
                            o.ignored.push(u);
                        } else if id == "disk" {
                            o.disks.insert(u, absolute(&ctx.local(&v)));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let Some(file) = file else {
        return Err(VBoxError::syntax(
            "Not enough arguments for \"import\" command.",
            usage::IMPORT,
        ));
    };
    let package = read_package(ctx, &file)?;
    if let Some((&n, _)) = systems
        .iter()
        .find(|(n, _)| **n as usize >= package.ovf.systems.len())
    {
        return Err(VBoxError::syntax(
            format!(
                "Invalid index {n} with -vsys option; the OVF contains only {} virtual system(s).",
                package.ovf.systems.len()
            ),
            usage::IMPORT,
        ));
    }
    let state = ctx.read()?;
    let default_base = ctx.machine_folder(&state);
    let mut plans = Vec::new();
    println!("Disks:");
    for d in &package.ovf.disks {
        println!(
            "  {}\t{}\t-1\thttp://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\t{}\t-1\t-1\t",
            d.id, d.capacity, d.href
        );
    }
    println!();
    for (n, vs) in package.ovf.systems.iter().enumerate() {
        let o = systems.get(&(n as u32)).cloned().unwrap_or_default();
        let plan = describe(ctx, n, vs, &o, &default_base, &state, &package);
        println!("Virtual system {n}:");
        for (i, e) in plan.entries.iter().enumerate() {
            println!("{i:2}: {}", e.text);
            for h in &e.hints {
                println!("    {h}");
            }
        }
        plans.push(plan);
    }
    if dry {
        return Ok(());
    }
    for plan in &plans {
        if Path::new(&plan.settings_file).exists() {
            return Err(import_failed(format!(
                "Machine settings file '{}' already exists",
                ctx.shown(&plan.settings_file)
            )));
        }
        if let Some(d) = plan.disks.iter().find(|d| Path::new(&d.1).exists()) {
            return Err(import_failed(format!(
                "Cannot create the hard disk '{}': the file already exists (VERR_ALREADY_EXISTS)",
                ctx.shown(&d.1)
            )));
        }
    }
    let gb = package
        .ovf
        .disks
        .iter()
        .map(|d| {
            if d.populated > 0 {
                d.populated
            } else {
                d.capacity.min(1 << 30)
            }
        })
        .sum::<u64>() as f64
        / (1u64 << 30) as f64;
    let seconds = (latency::IMPORT_PER_GB * gb).max(1.0);
    let _registry = ctx
        .store
        .registry_lock()
        .map_err(crate::vbox::ctx::internal)?;
    ctx.progress(seconds);
    ctx.update(|state| {
        for (n, plan) in plans.iter().enumerate() {
            let vs = &package.ovf.systems[n];
            let m = build_machine(plan, vs, &package, keep_all, keep_nat)?;
            state.machines.push(m);
        }
        Ok(())
    })?;
    println!("Successfully imported the appliance.");
    Ok(())
}

fn import_failed(detail: String) -> VBoxError {
    VBoxError::Com {
        message: vec!["Appliance import failed".into(), detail],
        code: vbox_error::VBOX_E_FILE_ERROR,
        component: "ApplianceWrap",
        interface: "IAppliance",
        context: vbox_error::context(
            "RTEXITCODE handleImportAppliance(HandlerArg*)",
            1398,
            "VBoxManageAppliance.cpp",
        ),
        exit: 1,
    }
}

fn absolute(p: &str) -> String {
    let path = Path::new(p);
    if path.is_absolute() {
        p.to_string()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path).display().to_string())
            .unwrap_or_else(|_| p.to_string())
    }
}

fn read_package(ctx: &Ctx, file: &str) -> Result<Package, VBoxError> {
    let abs = absolute(&ctx.local(file));
    let shown_abs = ctx.shown(&abs);
    let read_failed = |detail: String, code: vbox_error::ComCode| {
        eprintln!("0%...");
        eprintln!("Progress state: {}", code.name);
        VBoxError::Com {
            message: vec!["Appliance read failed".into(), detail],
            code,
            component: "ApplianceWrap",
            interface: "IAppliance",
            context: vbox_error::context(
                "RTEXITCODE handleImportAppliance(HandlerArg*)",
                1238,
                "VBoxManageAppliance.cpp",
            ),
            exit: 1,
        }
    };
    let bytes = std::fs::read(&abs).map_err(|_| {
        read_failed(
            format!("Could not open the file '{shown_abs}' (VERR_FILE_NOT_FOUND)"),
            vbox_error::VBOX_E_FILE_ERROR,
        )
    })?;
    let mut files = BTreeMap::new();
    let (xml, shown) = if abs.to_ascii_lowercase().ends_with(".ova") {
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut xml = None;
        let mut ovf_name = String::new();
        let entries = archive.entries().map_err(|e| {
            read_failed(
                format!("Could not read OVA '{shown_abs}': {e}"),
                vbox_error::VBOX_E_IPRT_ERROR,
            )
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                read_failed(
                    format!("Could not read OVA '{shown_abs}': {e}"),
                    vbox_error::VBOX_E_IPRT_ERROR,
                )
            })?;
            let name = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let mut data = Vec::new();
            let _ = entry.read_to_end(&mut data);
            if xml.is_none() && name.to_ascii_lowercase().ends_with(".ovf") {
                xml = Some(String::from_utf8_lossy(&data).to_string());
                ovf_name = name;
            } else {
                files.insert(name, data);
            }
        }
        let Some(xml) = xml else {
            return Err(read_failed(
                format!("Could not find an OVF descriptor in '{shown_abs}' (VERR_NOT_FOUND)"),
                vbox_error::VBOX_E_FILE_ERROR,
            ));
        };
        (xml, ctx.shown(&format!("{abs}/{ovf_name}")))
    } else {
        let dir = Path::new(&abs)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let xml = String::from_utf8_lossy(&bytes).to_string();
        if let Ok(ovf) = Ovf::parse(&xml) {
            for d in &ovf.disks {
                if let Ok(data) = std::fs::read(dir.join(&d.href)) {
                    files.insert(d.href.clone(), data);
                }
            }
        }
        (xml, shown_abs.clone())
    };
    ctx.progress(0.5);
    eprintln!("Interpreting {shown}...");
    let ovf = Ovf::parse(&xml).map_err(|e| {
        read_failed(
            format!("Error reading \"{shown_abs}\": {e}"),
            vbox_error::VBOX_E_FILE_ERROR,
        )
    })?;
    if ovf.systems.is_empty() {
        return Err(read_failed(
            format!("Error reading \"{shown_abs}\": no VirtualSystem"),
            vbox_error::VBOX_E_FILE_ERROR,
        ));
    }
    eprintln!("OK.");
    Ok(Package {
        ovf,
        shown_path: shown,
        files,
    })
}

/// The resolved import of one virtual system.
struct Plan {
    entries: Vec<Entry>,
    name: String,
    ostype: String,
    description: String,
    cpus: u32,
    memory: u32,
    group: String,
    settings_file: String,
    vm_dir: String,
    nics: Vec<(String, u32)>,
    /// (source href, target path) of each imported disk.
    disks: Vec<(String, String)>,
}

fn nic_config(subtype: &str) -> u32 {
    match subtype.to_ascii_lowercase().as_str() {
        "pcnet32" => 2,
        "e1000" => 3,
        "virtio" | "virtionet" => 6,
        _ => 3,
    }
}

fn connection_type(c: &str) -> &'static str {
    match c.to_ascii_lowercase().as_str() {
        "hostonly" => "HostOnly",
        "bridged" => "Bridged",
        "internal" => "Internal",
        "generic" => "Generic",
        _ => "NAT",
    }
}

fn describe(
    ctx: &Ctx,
    n: usize,
    vs: &VirtualSystem,
    o: &Overrides,
    default_base: &str,
    state: &crate::model::state::State,
    package: &Package,
) -> Plan {
    let _ = &package.shown_path;
    let mut entries: Vec<Entry> = Vec::new();
    let hint = |s: String| vec![s];
    let ostype = o.ostype.clone().unwrap_or_else(|| {
        if vs.os_type.is_empty() {
            "Other".into()
        } else {
            vs.os_type.clone()
        }
    });
    entries.push(match &o.ostype {
        Some(t) => Entry { text: format!("OS type specified with --ostype: \"{t}\""), hints: vec![] },
        None => Entry {
            text: format!("Suggested OS type: \"{ostype}\""),
            hints: hint(format!(
                "(change with \"--vsys {n} --ostype <type>\"; use \"list ostypes\" to list all possible values)"
            )),
        },
    });
    let base_name = if vs.id.is_empty() {
        "vm".to_string()
    } else {
        vs.id.clone()
    };
    let name = match &o.vmname {
        Some(v) => v.clone(),
        None => {
            let mut candidate = base_name.clone();
            let mut k = 1;
            while state.machines.iter().any(|m| m.name == candidate) {
                candidate = format!("{base_name}_{k}");
                k += 1;
            }
            candidate
        }
    };
    entries.push(match &o.vmname {
        Some(v) => Entry {
            text: format!("VM name specified with --vmname: \"{v}\""),
            hints: vec![],
        },
        None => Entry {
            text: format!("Suggested VM name \"{name}\""),
            hints: hint(format!("(change with \"--vsys {n} --vmname <name>\")")),
        },
    });
    let group = o.group.clone().unwrap_or_else(|| "/".into());
    entries.push(match &o.group {
        Some(g) => Entry {
            text: format!("VM group specified with --group: \"{g}\""),
            hints: vec![],
        },
        None => Entry {
            text: "Suggested VM group \"/\"".into(),
            hints: hint(format!("(change with \"--vsys {n} --group <group>\")")),
        },
    });
    let base = o
        .basefolder
        .clone()
        .unwrap_or_else(|| default_base.to_string());
    let settings_file = o
        .settingsfile
        .clone()
        .unwrap_or_else(|| format!("{base}/{name}/{name}.vbox"));
    entries.push(match &o.settingsfile {
        Some(s) => Entry {
            text: format!(
                "VM settings file name specified with --settingsfile: \"{}\"",
                ctx.shown(s)
            ),
            hints: vec![],
        },
        None => Entry {
            text: format!(
                "Suggested VM settings file name \"{}\"",
                ctx.shown(&settings_file)
            ),
            hints: hint(format!(
                "(change with \"--vsys {n} --settingsfile <filename>\")"
            )),
        },
    });
    entries.push(match &o.basefolder {
        Some(b) => Entry {
            text: format!(
                "VM base folder specified with --basefolder: \"{}\"",
                ctx.shown(b)
            ),
            hints: vec![],
        },
        None => Entry {
            text: format!("Suggested VM base folder \"{}\"", ctx.shown(&base)),
            hints: hint(format!("(change with \"--vsys {n} --basefolder <path>\")")),
        },
    });
    let description = o
        .description
        .clone()
        .unwrap_or_else(|| vs.description.clone());
    if let Some(d) = &o.description {
        entries.push(Entry {
            text: format!("Description specified with --description: \"{d}\""),
            hints: vec![],
        });
    } else if !vs.description.is_empty() {
        entries.push(Entry {
            text: format!("Description \"{}\"", vs.description),
            hints: hint(format!("(change with \"--vsys {n} --description <desc>\")")),
        });
    }
    let ovf_cpus = vs
        .items
        .iter()
        .find(|i| i.resource_type == 3)
        .map(|i| i.quantity as u32)
        .unwrap_or(1)
        .max(1);
    let cpus = o.cpus.unwrap_or(ovf_cpus);
    entries.push(match o.cpus {
        Some(c) => Entry {
            text: format!("No. of CPUs specified with --cpus: {c}"),
            hints: vec![],
        },
        None => Entry {
            text: format!("Number of CPUs: {cpus}"),
            hints: hint(format!("(change with \"--vsys {n} --cpus <n>\")")),
        },
    });
    let ovf_mem = vs
        .items
        .iter()
        .find(|i| i.resource_type == 4)
        .map(|i| {
            let u = i.units.to_ascii_lowercase();
            if u.contains("2^30") || u == "gigabytes" {
                i.quantity * 1024
            } else if u == "byte" || u == "bytes" {
                i.quantity >> 20
            } else {
                i.quantity
            }
        })
        .unwrap_or(128) as u32;
    let memory = o.memory.unwrap_or(ovf_mem);
    entries.push(match o.memory {
        Some(m) => Entry {
            text: format!("Guest memory specified with --memory: {m} MB"),
            hints: vec![],
        },
        None => Entry {
            text: format!("Guest memory: {memory} MB"),
            hints: hint(format!("(change with \"--vsys {n} --memory <MB>\")")),
        },
    });
    let mut nics = Vec::new();
    for (slot, it) in vs
        .items
        .iter()
        .filter(|i| i.resource_type == 10)
        .enumerate()
    {
        let t = connection_type(&it.connection);
        let cfg = nic_config(&it.subtype);
        entries.push(Entry {
            text: format!(
                "Network adapter: orig {}, config {cfg}, extra slot={slot};type={t}",
                if it.connection.is_empty() {
                    "NAT"
                } else {
                    &it.connection
                }
            ),
            hints: vec![],
        });
        nics.push((t.to_string(), cfg));
    }
    let mut controllers: Vec<(String, usize)> = Vec::new();
    for it in vs
        .items
        .iter()
        .filter(|i| matches!(i.resource_type, 5 | 6 | 20))
    {
        let idx = entries.len();
        let label = match it.resource_type {
            5 => format!(
                "IDE controller, type {}",
                if it.subtype.is_empty() {
                    "PIIX4"
                } else {
                    &it.subtype
                }
            ),
            6 => format!(
                "SCSI controller, type {}",
                if it.subtype.is_empty() {
                    "LsiLogic"
                } else {
                    &it.subtype
                }
            ),
            _ => format!(
                "SATA controller, type {}",
                if it.subtype.is_empty() {
                    "AHCI"
                } else {
                    &it.subtype
                }
            ),
        };
        let ignored = o.ignored.contains(&(idx as u32));
        entries.push(Entry {
            text: if ignored {
                format!("{label} -- disabled")
            } else {
                label
            },
            hints: if ignored {
                vec![]
            } else {
                hint(format!(
                    "(disable with \"--vsys {n} --unit {idx} --ignore\")"
                ))
            },
        });
        controllers.push((it.instance_id.clone(), idx));
    }
    let vm_dir = Path::new(&settings_file)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut disks = Vec::new();
    for it in vs.items.iter().filter(|i| i.resource_type == 17) {
        let disk_id = it
            .host_resource
            .trim_start_matches("ovf:")
            .trim_start_matches("/disk/")
            .to_string();
        let Some(d) = package.ovf.disks.iter().find(|d| d.id == disk_id) else {
            continue;
        };
        let idx = entries.len();
        let ctl = controllers
            .iter()
            .find(|(id, _)| *id == it.parent)
            .map(|(_, i)| *i)
            .unwrap_or(0);
        let port = if it.address_on_parent.is_empty() {
            "0".to_string()
        } else {
            it.address_on_parent.clone()
        };
        let given = o.disks.get(&(idx as u32)).cloned();
        let target = given
            .clone()
            .unwrap_or_else(|| format!("{vm_dir}/{}", d.href));
        let shown_target = ctx.shown(&target);
        let place = if ctx.emu.family == Family::V6_1 {
            format!("controller={ctl};channel={port}")
        } else {
            format!("controller={ctl};port={port}")
        };
        if o.ignored.contains(&(idx as u32)) {
            entries.push(Entry {
                text: format!(
                    "Hard disk image: source image={}, target path={shown_target}, {place} -- disabled",
                    d.href
                ),
                hints: vec![],
            });
            continue;
        }
        let text = match &given {
            Some(_) => format!(
                "Hard disk image specified with --disk: source image={}, target path={shown_target}, {place}",
                d.href
            ),
            None => format!(
                "Hard disk image: source image={}, target path={shown_target}, {place}",
                d.href
            ),
        };
        let hints = if given.is_some() {
            vec![]
        } else if ctx.emu.family == Family::V6_1 {
            vec![
                format!("(change target path with \"--vsys {n} --unit {idx} --disk path\";"),
                format!("disable with \"--vsys {n} --unit {idx} --ignore\")"),
            ]
        } else {
            vec![
                format!("(change target path with \"--vsys {n} --unit {idx} --disk path\";"),
                format!("change controller with \"--vsys {n} --unit {idx} --controller <index>\";"),
                format!("change controller port with \"--vsys {n} --unit {idx} --port <n>\";"),
                format!("disable with \"--vsys {n} --unit {idx} --ignore\")"),
            ]
        };
        entries.push(Entry { text, hints });
        disks.push((d.href.clone(), target));
    }
    let _ = os_description;
    Plan {
        entries,
        name,
        ostype,
        description,
        cpus,
        memory,
        group,
        settings_file,
        vm_dir,
        nics,
        disks,
    }
}

fn build_machine(
    plan: &Plan,
    vs: &VirtualSystem,
    package: &Package,
    keep_all: bool,
    keep_nat: bool,
) -> Result<Machine, VBoxError> {
    std::fs::create_dir_all(&plan.vm_dir).map_err(|e| {
        import_failed(format!(
            "Could not create the folder '{}' ({e})",
            plan.vm_dir
        ))
    })?;
    let mut nics: Vec<Nic> = (0..NIC_SLOTS).map(|_| Nic::disabled()).collect();
    for (slot, (t, cfg)) in plan.nics.iter().enumerate().take(NIC_SLOTS) {
        let nic = &mut nics[slot];
        nic.attachment = match t.as_str() {
            "HostOnly" => Attachment::Hostonly,
            "Bridged" => Attachment::Bridged,
            "Internal" => Attachment::Intnet,
            "Generic" => Attachment::Generic,
            _ => Attachment::Nat,
        };
        nic.nictype = match cfg {
            1 => "Am79C970A",
            2 => "Am79C973",
            4 => "82543GC",
            5 => "82545EM",
            6 => "virtio",
            _ => "82540EM",
        }
        .into();
        let recorded = vs
            .macs
            .iter()
            .find(|(s, _)| *s as usize == slot)
            .and_then(|(_, m)| ids::parse_mac(m));
        if let Some(mac) = recorded
            && (keep_all || (keep_nat && nic.attachment == Attachment::Nat))
        {
            nic.mac = mac;
        }
    }
    let mut disk = None;
    for (href, target) in &plan.disks {
        let image = package.files.get(href).cloned().unwrap_or_default();
        let seed = vmdk::read_stream_optimized(&image)
            .map(|(_, data)| data)
            .filter(|d| d.len() > 262 && &d[257..262] == b"ustar");
        let seed = seed.map(|mut d| {
            // The tar ends with zero blocks; the trailing zero padding of the last grain is harmless.
            d.truncate(d.len());
            d
        });
        let layer = layers::create_disk(target, &image, seed.as_deref()).map_err(import_failed)?;
        if disk.is_none() {
            disk = Some(Disk {
                file: target.clone(),
                uuid: ids::new_uuid(),
                layers: vec![layer.clone()],
                owned: vec![layer],
                controller: "SATA".into(),
            });
        }
    }
    let now = ids::now_ns();
    let uuid = ids::new_uuid();
    let appliance_user = vs
        .properties
        .iter()
        .find(|(k, _)| k == "vboxsim.login.user")
        .map(|(_, v)| v.clone());
    let mut settings = BTreeMap::new();
    settings.insert("rtcuseutc".to_string(), "off".to_string());
    let _ = std::fs::create_dir_all(format!("{}/Logs", plan.vm_dir));
    let m = Machine {
        uuid: uuid.clone(),
        hardware_uuid: uuid,
        name: plan.name.clone(),
        groups: vec![plan.group.clone()],
        description: plan.description.clone(),
        cfg_file: plan.settings_file.clone(),
        vm_dir: plan.vm_dir.clone(),
        state: PowerState::PowerOff,
        state_change_ns: now,
        hw: Hardware {
            ostype: plan.ostype.clone(),
            memory: plan.memory,
            cpus: plan.cpus,
            nics,
            settings,
        },
        disk,
        snapshots: Vec::new(),
        current_snapshot: None,
        extradata: BTreeMap::new(),
        guest_props: BTreeMap::new(),
        guest_props_deleted: BTreeMap::new(),
        session: None,
        lock_until_ms: 0,
        boot_id: 0,
        appliance_user,
        nic_leases: Vec::new(),
        saved_state: None,
    };
    crate::settings_file::write(&m).map_err(import_failed)?;
    Ok(m)
}
