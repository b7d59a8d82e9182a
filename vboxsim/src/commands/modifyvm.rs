//! `VBoxManage modifyvm <vm> <options…>`: all options applied to a copy and saved together,
//! only if every one succeeded (an out-of-range NIC index only prints an error, as in VirtualBox).

use std::net::Ipv4Addr;

use crate::model::ids;
use crate::model::machine::{Machine, NIC_SLOTS};
use crate::model::nic::{Attachment, NIC_TYPES, NatRule};
use crate::model::state::State;
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageModifyVM.cpp";

/// (old spelling, 7.x canonical spelling or "", id, value kind, indexed).
const TABLE: &[(&str, &str, &str, Arg, bool)] = &[
    ("--name", "", "name", Arg::Str, false),
    ("--groups", "", "groups", Arg::Str, false),
    ("--description", "", "description", Arg::Str, false),
    ("--ostype", "--os-type", "ostype", Arg::Str, false),
    ("--memory", "", "memory", Arg::U32, false),
    ("--cpus", "", "cpus", Arg::U32, false),
    ("--vram", "", "vram", Arg::U32, false),
    (
        "--cpuexecutioncap",
        "--cpu-execution-cap",
        "cpuexecutioncap",
        Arg::U32,
        false,
    ),
    (
        "--rtcuseutc",
        "--rtc-use-utc",
        "rtcuseutc",
        Arg::OnOff,
        false,
    ),
    ("--ioapic", "", "ioapic", Arg::OnOff, false),
    ("--acpi", "", "acpi", Arg::OnOff, false),
    ("--pae", "", "pae", Arg::OnOff, false),
    ("--hpet", "", "hpet", Arg::OnOff, false),
    ("--x2apic", "", "x2apic", Arg::OnOff, false),
    ("--apic", "", "apic", Arg::OnOff, false),
    ("--longmode", "--long-mode", "longmode", Arg::OnOff, false),
    ("--hwvirtex", "", "hwvirtex", Arg::OnOff, false),
    (
        "--nestedpaging",
        "--nested-paging",
        "nestedpaging",
        Arg::OnOff,
        false,
    ),
    (
        "--largepages",
        "--large-pages",
        "largepages",
        Arg::OnOff,
        false,
    ),
    ("--vtxvpid", "--vtx-vpid", "vtxvpid", Arg::OnOff, false),
    ("--vtxux", "--vtx-ux", "vtxux", Arg::OnOff, false),
    ("--nested-hw-virt", "", "nested-hw-virt", Arg::OnOff, false),
    (
        "--pagefusion",
        "--page-fusion",
        "pagefusion",
        Arg::OnOff,
        false,
    ),
    (
        "--accelerate3d",
        "--accelerate-3d",
        "accelerate3d",
        Arg::OnOff,
        false,
    ),
    ("--vrde", "", "vrde", Arg::OnOff, false),
    ("--usb", "--usb-ohci", "usb", Arg::OnOff, false),
    ("--usbehci", "--usb-ehci", "ehci", Arg::OnOff, false),
    ("--usbxhci", "--usb-xhci", "xhci", Arg::OnOff, false),
    ("--audioin", "--audio-in", "audio_in", Arg::OnOff, false),
    ("--audioout", "--audio-out", "audio_out", Arg::OnOff, false),
    ("--audio", "--audio-driver", "audio", Arg::Str, false),
    (
        "--paravirtprovider",
        "--paravirt-provider",
        "paravirtprovider",
        Arg::Str,
        false,
    ),
    ("--chipset", "", "chipset", Arg::Str, false),
    ("--firmware", "", "firmware", Arg::Str, false),
    (
        "--graphicscontroller",
        "--graphics-controller",
        "graphicscontroller",
        Arg::Str,
        false,
    ),
    (
        "--clipboard",
        "--clipboard-mode",
        "clipboard",
        Arg::Str,
        false,
    ),
    (
        "--draganddrop",
        "--drag-and-drop",
        "draganddrop",
        Arg::Str,
        false,
    ),
    ("--mouse", "", "hidpointing", Arg::Str, false),
    ("--keyboard", "", "hidkeyboard", Arg::Str, false),
    (
        "--biosbootmenu",
        "--bios-boot-menu",
        "bootmenu",
        Arg::Str,
        false,
    ),
    (
        "--defaultfrontend",
        "--default-frontend",
        "defaultfrontend",
        Arg::Str,
        false,
    ),
    ("--boot", "", "boot", Arg::Str, true),
    ("--uart", "", "uart", Arg::Str, true),
    ("--nic", "", "nic", Arg::Str, true),
    ("--nictype", "--nic-type", "nictype", Arg::Str, true),
    (
        "--cableconnected",
        "--cable-connected",
        "cable",
        Arg::OnOff,
        true,
    ),
    ("--macaddress", "--mac-address", "mac", Arg::Str, true),
    (
        "--hostonlyadapter",
        "--host-only-adapter",
        "hostonly",
        Arg::Str,
        true,
    ),
    (
        "--host-only-net",
        "--hostonlynet",
        "hostonlynet",
        Arg::Str,
        true,
    ),
    ("--intnet", "", "intnet", Arg::Str, true),
    (
        "--nat-network",
        "--natnetwork",
        "natnetwork",
        Arg::Str,
        true,
    ),
    ("--natnet", "--nat-net", "natnet", Arg::Str, true),
    ("--natpf", "--nat-pf", "natpf", Arg::Str, true),
    (
        "--natdnsproxy",
        "--nat-dns-proxy",
        "natdnsproxy",
        Arg::OnOff,
        true,
    ),
    (
        "--natdnshostresolver",
        "--nat-dns-host-resolver",
        "natdnshostresolver",
        Arg::OnOff,
        true,
    ),
    (
        "--natdnspassdomain",
        "--nat-dns-pass-domain",
        "natdnspassdomain",
        Arg::OnOff,
        true,
    ),
    ("--nicspeed", "--nic-speed", "nicspeed", Arg::U32, true),
    (
        "--nicpromisc",
        "--nic-promisc",
        "nicpromisc",
        Arg::Str,
        true,
    ),
    (
        "--bridgeadapter",
        "--bridge-adapter",
        "bridge",
        Arg::Str,
        true,
    ),
    (
        "--nicbootprio",
        "--nic-boot-prio",
        "nicbootprio",
        Arg::U32,
        true,
    ),
    ("--nictrace", "--nic-trace", "nictrace", Arg::OnOff, true),
];

/// Allowed values of enumerated settings (case-insensitive).
fn allowed_values(id: &str) -> Option<&'static [&'static str]> {
    Some(match id {
        "paravirtprovider" => &["none", "default", "legacy", "minimal", "hyperv", "kvm"],
        "chipset" => &["piix3", "ich9"],
        "firmware" => &["bios", "efi", "efi32", "efi64"],
        "graphicscontroller" => &["none", "vboxvga", "vmsvga", "vboxsvga"],
        "clipboard" => &["disabled", "hosttoguest", "guesttohost", "bidirectional"],
        "draganddrop" => &["disabled", "hosttoguest", "guesttohost", "bidirectional"],
        "hidpointing" => &[
            "ps2",
            "usb",
            "usbtablet",
            "usbmultitouch",
            "usbmtscreenpluspad",
        ],
        "hidkeyboard" => &["ps2", "usb"],
        "bootmenu" => &["disabled", "menuonly", "messageandmenu"],
        "audio" => &["none", "null", "default", "oss", "alsa", "pulse"],
        "boot" => &["none", "floppy", "dvd", "disk", "net"],
        "nicpromisc" => &["deny", "allow-vms", "allow-all"],
        _ => return None,
    })
}

fn options(family: Family) -> Vec<Opt> {
    let mut v = Vec::new();
    for (old, new, id, arg, indexed) in TABLE {
        let mut push = |name: &'static str| {
            v.push(if *indexed {
                Opt::indexed(name, id, *arg)
            } else {
                Opt::new(name, id, *arg)
            });
        };
        push(old);
        if family >= Family::V7_0 && !new.is_empty() {
            push(new);
        }
    }
    v
}

fn com(
    message: String,
    code: vbox_error::ComCode,
    component: &'static str,
    iface: &'static str,
    call: &str,
) -> VBoxError {
    VBoxError::com(
        message,
        code,
        component,
        iface,
        vbox_error::context(call, 1100, FILE),
    )
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let usage_text = if ctx.emu.family == Family::V6_1 {
        usage::MODIFYVM_61
    } else {
        usage::MODIFYVM
    };
    if args.len() < 2 {
        return Err(VBoxError::syntax("Not enough parameters", usage_text));
    }
    let vm = args[0].clone();
    let opts = options(ctx.emu.family);
    let items = getopt::parse(&args[1..], &opts);
    ctx.latency.sleep(latency::MODIFYVM);
    ctx.update_always(|state| {
        let idx = ctx.find(state, &vm, FILE)?;
        ctx.take_write_lock(state, idx, FILE)?;
        let items = items.map_err(|e| VBoxError::syntax(e.0, usage_text))?;
        let mut m = state.machines[idx].clone();
        let old_dir = m.vm_dir.clone();
        let mut pending_delete: Option<u32> = None;
        for item in items {
            match item {
                Item::Positional(p) if pending_delete.is_some() => {
                    let n = pending_delete.take().unwrap_or(1);
                    let nic = &mut m.hw.nics[n as usize - 1];
                    if !nic.nat_rules.iter().any(|r| r.name == p) {
                        return Err(com(
                            "A NAT rule with this name does not exist".to_string(),
                            vbox_error::E_INVALIDARG,
                            "NATEngineWrap",
                            "INATEngine",
                            "RemoveRedirect(Bstr(ValueUnion.psz).raw())",
                        ));
                    }
                    nic.nat_rules.retain(|r| r.name != p);
                }
                Item::Positional(p) => {
                    return Err(VBoxError::syntax(
                        format!("Invalid parameter '{p}'"),
                        usage_text,
                    ));
                }
                Item::Opt {
                    id,
                    name,
                    index,
                    value,
                } => {
                    let v = value.unwrap_or_default();
                    pending_delete = None;
                    if let Some(n) = index
                        && (n == 0 || n as usize > NIC_SLOTS)
                    {
                        eprintln!("{}: error: Invalid NIC number {n}", ctx.prog);
                        continue;
                    }
                    if id == "natpf" && v == "delete" {
                        pending_delete = index;
                        continue;
                    }
                    apply(ctx, state, &mut m, id, name, index, &v)?;
                }
            }
        }
        if pending_delete.is_some() {
            return Err(VBoxError::syntax(
                "Missing argument to '--natpf delete'",
                usage_text,
            ));
        }
        if m.name != state.machines[idx].name {
            rename(state, &mut m, &old_dir)?;
        }
        crate::settings_file::write(&m).map_err(|e| {
            com(
                e,
                vbox_error::VBOX_E_FILE_ERROR,
                "SessionMachine",
                "IMachine",
                "SaveSettings()",
            )
        })?;
        state.machines[idx] = m;
        Ok(())
    })
}

fn apply(
    ctx: &Ctx,
    state: &State,
    m: &mut Machine,
    id: &str,
    name: &str,
    index: Option<u32>,
    v: &str,
) -> Result<(), VBoxError> {
    let case_insensitive = ctx.emu.family >= Family::V7_0;
    let slot = index.unwrap_or(1) as usize - 1;
    match id {
        "name" => {
            if v.is_empty() {
                return Err(com(
                    "Invalid machine name: ''".into(),
                    vbox_error::E_INVALIDARG,
                    "SessionMachine",
                    "IMachine",
                    "COMSETTER(Name)(Bstr(ValueUnion.psz).raw())",
                ));
            }
            m.name = v.to_string();
        }
        "groups" => {
            let groups: Vec<String> = v
                .split(',')
                .map(|g| g.trim().to_string())
                .filter(|g| !g.is_empty())
                .collect();
            if let Some(bad) = groups
                .iter()
                .find(|g| !g.starts_with('/') || g.ends_with('/') && g.len() > 1)
            {
                return Err(com(
                    format!("Invalid machine group '{bad}'"),
                    vbox_error::E_INVALIDARG,
                    "SessionMachine",
                    "IMachine",
                    "COMSETTER(Groups)(ComSafeArrayAsInParam(groups))",
                ));
            }
            m.groups = if groups.is_empty() {
                vec!["/".into()]
            } else {
                groups
            };
        }
        "description" => m.description = v.to_string(),
        "ostype" => {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(com(
                    format!("Guest OS type '{v}' is invalid"),
                    vbox_error::E_INVALIDARG,
                    "SessionMachine",
                    "IMachine",
                    "COMSETTER(OSTypeId)(bstrOsTypeId.raw())",
                ));
            }
            m.hw.ostype = v.to_string();
        }
        "memory" => {
            let mb = getopt::parse_u32(v).unwrap_or(0);
            if !(4..=2_097_152).contains(&mb) {
                return Err(com(
                    format!("Invalid RAM size: {mb} MB (must be in range [4, 2097152] MB)"),
                    vbox_error::E_INVALIDARG,
                    "SessionMachine",
                    "IMachine",
                    "COMSETTER(MemorySize)(ValueUnion.u32)",
                ));
            }
            m.hw.memory = mb;
        }
        "cpus" => {
            let n = getopt::parse_u32(v).unwrap_or(0);
            if !(1..=64).contains(&n) {
                return Err(com(
                    format!("Invalid virtual CPU count: {n} (must be in range [1, 64])"),
                    vbox_error::E_INVALIDARG,
                    "SessionMachine",
                    "IMachine",
                    "COMSETTER(CPUCount)(ValueUnion.u32)",
                ));
            }
            m.hw.cpus = n;
        }
        "vram" | "cpuexecutioncap" => {
            m.hw.settings.insert(
                id.to_string(),
                getopt::parse_u32(v).unwrap_or(0).to_string(),
            );
        }
        "boot" | "uart" => {
            let n = index.unwrap_or(1);
            let limit = 4;
            if n == 0 || n > limit {
                return Err(VBoxError::argument(format!("Invalid {id} number {n}")));
            }
            if id == "boot" {
                let lv = v.to_ascii_lowercase();
                if !allowed_values("boot").unwrap_or(&[]).contains(&lv.as_str()) {
                    return Err(VBoxError::argument(format!("Invalid boot device '{v}'")));
                }
                m.hw.settings.insert(format!("boot{n}"), lv);
            } else {
                m.hw.settings.insert(format!("uart{n}"), v.to_string());
            }
        }
        "nic" => {
            let att = Attachment::parse(v, case_insensitive)
                // `hostonlynet` exists only with the vmnet backend (VirtualBox 7 on macOS).
                .filter(|att| *att != Attachment::HostonlyNet || state.host().has_vmnet(&ctx.emu))
                .ok_or_else(|| {
                    VBoxError::failure(format!("Invalid type '{v}' specfied for NIC {}", slot + 1))
                })?;
            m.hw.nics[slot].attachment = att;
        }
        "nictype" => {
            let t = NIC_TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(v))
                .ok_or_else(|| {
                    VBoxError::failure(format!(
                        "Invalid NIC type '{v}' specified for NIC {}",
                        slot + 1
                    ))
                })?;
            m.hw.nics[slot].nictype = (*t).to_string();
        }
        "cable" => m.hw.nics[slot].cable = getopt::parse_on_off(v).unwrap_or(true),
        "mac" => {
            m.hw.nics[slot].mac = if v.is_empty() || v.eq_ignore_ascii_case("auto") {
                ids::new_mac()
            } else {
                ids::parse_mac(v).ok_or_else(|| {
                    com(
                        "Invalid MAC address format".into(),
                        vbox_error::E_INVALIDARG,
                        "NetworkAdapterWrap",
                        "INetworkAdapter",
                        "COMSETTER(MACAddress)(Bstr(ValueUnion.psz).raw())",
                    )
                })?
            };
        }
        "hostonly" => {
            let value = if v == "none" {
                String::new()
            } else {
                v.to_string()
            };
            if !value.is_empty() && state.hostonly(&value).is_none() {
                eprintln!(
                    "{}: warning: Interface \"{value}\" doesn't seem to exist",
                    ctx.prog
                );
            }
            m.hw.nics[slot].hostonly_adapter = value;
        }
        "hostonlynet" => m.hw.nics[slot].hostonly_network = v.to_string(),
        "intnet" => m.hw.nics[slot].intnet = v.to_string(),
        "natnetwork" => m.hw.nics[slot].nat_network = v.to_string(),
        "bridge" => {
            m.hw.nics[slot].bridge_adapter = if v == "none" {
                String::new()
            } else {
                v.to_string()
            }
        }
        "natnet" => {
            if v == "default" {
                m.hw.nics[slot].natnet = "nat".into();
            } else if crate::net::cidr::parse_cidr(v).is_some() {
                m.hw.nics[slot].natnet = v.to_string();
            } else {
                return Err(com(
                    format!("Invalid network '{v}'"),
                    vbox_error::E_INVALIDARG,
                    "NATEngineWrap",
                    "INATEngine",
                    "COMSETTER(Network)(Bstr(ValueUnion.psz).raw())",
                ));
            }
        }
        "natpf" => {
            let rule = NatRule::parse(v)
                .ok_or_else(|| VBoxError::failure(format!("Invalid NAT rule format '{v}'")))?;
            let nic = &mut m.hw.nics[slot];
            if nic.nat_rules.iter().any(|r| r.name == rule.name) {
                return Err(com(
                    "A NAT rule of this name already exists".into(),
                    vbox_error::NS_ERROR_INVALID_ARG,
                    "NATEngineWrap",
                    "INATEngine",
                    "AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))",
                ));
            }
            if nic.nat_rules.iter().any(|r| {
                r.host_port == rule.host_port && r.proto == rule.proto && r.host_ip == rule.host_ip
            }) {
                return Err(com(
                    "A NAT rule for this host port and this host IP already exists".to_string(),
                    vbox_error::NS_ERROR_INVALID_ARG,
                    "NATEngineWrap",
                    "INATEngine",
                    "AddRedirect(...)",
                ));
            }
            nic.nat_rules.push(rule);
        }
        "natdnsproxy" | "natdnshostresolver" | "natdnspassdomain" | "nictrace" => {
            m.hw.settings
                .insert(format!("{id}{}", slot + 1), v.to_ascii_lowercase());
        }
        "nicspeed" => m.hw.nics[slot].speed = getopt::parse_u32(v).unwrap_or(0),
        "nicbootprio" => {
            m.hw.settings
                .insert(format!("nicbootprio{}", slot + 1), v.to_string());
        }
        "nicpromisc" => {
            if !allowed_values(id)
                .unwrap_or(&[])
                .contains(&v.to_ascii_lowercase().as_str())
            {
                return Err(VBoxError::argument(format!(
                    "Unknown promiscuous mode policy '{v}'"
                )));
            }
            m.hw.settings
                .insert(format!("nicpromisc{}", slot + 1), v.to_ascii_lowercase());
        }
        _ => {
            let lv = v.to_ascii_lowercase();
            if let Some(allowed) = allowed_values(id)
                && !allowed.contains(&lv.as_str())
            {
                return Err(VBoxError::argument(format!(
                    "Invalid {} argument '{v}'",
                    name.trim_start_matches('-')
                )));
            }
            let stored = match id {
                "firmware" => lv.to_ascii_uppercase(),
                _ => lv,
            };
            m.hw.settings.insert(id.to_string(), stored);
        }
    }
    Ok(())
}

/// Renames the VM folder and settings file when they follow the name, fixing every path that
/// points into the folder (this VM's and linked clones' layers).
fn rename(state: &mut State, m: &mut Machine, old_dir: &str) -> Result<(), VBoxError> {
    let Some((parent, last)) = old_dir.rsplit_once('/') else {
        return Ok(());
    };
    let old_name = last.to_string();
    if !m.cfg_file.ends_with(&format!("/{old_name}.vbox")) {
        return Ok(());
    }
    let new_dir = format!("{parent}/{}", m.name);
    if std::path::Path::new(&new_dir).exists() {
        return Err(com(
            format!(
                "Could not rename the directory '{old_dir}' to '{new_dir}' to save the settings file (VERR_ALREADY_EXISTS)"
            ),
            vbox_error::E_FAIL_COMPAT,
            "SessionMachine",
            "IMachine",
            "SaveSettings()",
        ));
    }
    std::fs::rename(old_dir, &new_dir).map_err(|e| {
        com(format!("Could not rename the directory '{old_dir}' to '{new_dir}' to save the settings file ({e})"), vbox_error::NS_ERROR_FAILURE, "SessionMachine", "IMachine", "SaveSettings()")
    })?;
    let _ = std::fs::rename(
        format!("{new_dir}/{old_name}.vbox"),
        format!("{new_dir}/{}.vbox", m.name),
    );
    let fix = |p: &mut String| {
        if let Some(rest) = p.strip_prefix(old_dir)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            *p = format!("{new_dir}{rest}");
        }
    };
    let fix_machine = |mm: &mut Machine| {
        fix(&mut mm.vm_dir);
        fix(&mut mm.cfg_file);
        if let Some(d) = mm.disk.as_mut() {
            fix(&mut d.file);
            d.layers.iter_mut().for_each(fix);
            d.owned.iter_mut().for_each(fix);
        }
        for s in mm.snapshots.iter_mut() {
            s.layers.iter_mut().for_each(fix);
        }
    };
    fix_machine(m);
    m.cfg_file = format!("{new_dir}/{}.vbox", m.name);
    for other in state.machines.iter_mut() {
        fix_machine(other);
    }
    let _ = Ipv4Addr::LOCALHOST;
    Ok(())
}
