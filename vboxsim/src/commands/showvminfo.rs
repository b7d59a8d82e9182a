//! `VBoxManage showvminfo <vm> [--machinereadable|--details]`, per emulated release.

use crate::commands::list::os_description;
use crate::model::host::Host;
use crate::model::ids;
use crate::model::machine::{Machine, PowerState};
use crate::model::nic::{Attachment, Nic};
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::machine_readable::quote;
use crate::vbox::usage;
use crate::vbox::vbox_error::VBoxError;

const OPTS: &[Opt] = &[
    Opt::new("--details", "details", Arg::None),
    Opt::new("--machinereadable", "mr", Arg::None),
    Opt::new("--log", "log", Arg::U32),
    Opt::new("--password-id", "pwid", Arg::Str),
    Opt::new("--password", "pw", Arg::Str),
];

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::SHOWVMINFO))?;
    let mut vm = None;
    let mut mr = false;
    let mut log = None;
    for item in items {
        match item {
            Item::Positional(p) if vm.is_none() => vm = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::SHOWVMINFO,
                ));
            }
            Item::Opt { id: "mr", .. } => mr = true,
            Item::Opt {
                id: "log", value, ..
            } => log = value,
            Item::Opt { .. } => {}
        }
    }
    let Some(vm) = vm else {
        return Err(VBoxError::syntax(
            "VM name or UUID required",
            usage::SHOWVMINFO,
        ));
    };
    let state = ctx.read()?;
    let idx = ctx.find(&state, &vm, "VBoxManageInfo.cpp")?;
    let m = &state.machines[idx];
    if let Some(n) = log {
        let path = if n == "0" {
            format!("{}/VBox.log", m.log_folder())
        } else {
            format!("{}/VBox.log.{n}", m.log_folder())
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => print!("{text}"),
            Err(_) => {
                return Err(VBoxError::failure(format!(
                    "Could not open log file '{}'",
                    ctx.shown(&path)
                )));
            }
        }
        return Ok(());
    }
    if mr && !std::path::Path::new(&m.cfg_file).exists() {
        print!("name=\"<inaccessible>\"\nUUID=\"{}\"\n", m.uuid);
        return Ok(());
    }
    let text = if mr {
        machine_readable(
            m,
            ctx.emu.family,
            ctx.host,
            &ctx.emu.additions_version(),
            &ctx.emu.revision(),
        )
    } else {
        human(m, ctx.host)
    };
    print!("{text}");
    Ok(())
}

fn setting<'a>(m: &'a Machine, key: &str, default: &'a str) -> &'a str {
    m.hw.settings
        .get(key)
        .map(String::as_str)
        .unwrap_or(default)
}

/// The `--machinereadable` text.
pub fn machine_readable(
    m: &Machine,
    family: Family,
    host: Host,
    additions: &str,
    revision: &str,
) -> String {
    let p = |path: &str| host.shown_path(path);
    let mut o = String::new();
    let mut kv = |k: &str, v: &str| o.push_str(&format!("{k}={}\n", quote(v)));
    kv("name", &m.name);
    let mut o2 = std::mem::take(&mut o);
    if family == Family::V7_0 {
        o2.push_str("Encryption:     disabled\n");
    }
    if family >= Family::V7_1 {
        o2.push_str("encryption=\"disabled\"\n");
    }
    o = o2;
    let s = |k: &str, d: &'static str| -> String { setting(m, k, d).to_string() };
    let mut lines: Vec<String> = Vec::new();
    let mut q = |k: &str, v: &str| lines.push(format!("{k}={}", quote(v)));
    q(
        "groups",
        &if m.groups.is_empty() {
            "/".to_string()
        } else {
            m.groups.join(",")
        },
    );
    // 7.1 and 7.2 print the platform right after the groups (VBoxManageInfo.cpp 7.1.4, line
    // 1214: SHOW_UTF8_STRING("platformArchitecture", …) follows the groups).
    if family >= Family::V7_1 {
        q("platformArchitecture", "x86");
    }
    q("ostype", &os_description(&m.hw.ostype));
    q("UUID", &m.uuid);
    q("CfgFile", &p(&m.cfg_file));
    q("SnapFldr", &p(&m.snapshot_folder()));
    q("LogFldr", &p(&m.log_folder()));
    q("hardwareuuid", &m.hardware_uuid);
    let mut o3 = lines.join("\n");
    o3.push('\n');
    o.push_str(&o3);
    let mut l: Vec<String> = Vec::new();
    let raw = |l: &mut Vec<String>, k: &str, v: String| l.push(format!("{k}={v}"));
    let qs = |l: &mut Vec<String>, k: &str, v: &str| l.push(format!("{k}={}", quote(v)));
    raw(&mut l, "memory", m.hw.memory.to_string());
    qs(&mut l, "pagefusion", &s("pagefusion", "off"));
    raw(&mut l, "vram", s("vram", "64"));
    raw(&mut l, "cpuexecutioncap", s("cpuexecutioncap", "100"));
    qs(&mut l, "hpet", &s("hpet", "off"));
    qs(&mut l, "cpu-profile", &s("cpu-profile", "host"));
    qs(&mut l, "chipset", &s("chipset", "piix3"));
    qs(&mut l, "firmware", &s("firmware", "BIOS"));
    raw(&mut l, "cpus", m.hw.cpus.to_string());
    qs(&mut l, "pae", &s("pae", "off"));
    qs(&mut l, "longmode", &s("longmode", "on"));
    qs(&mut l, "triplefaultreset", &s("triplefaultreset", "off"));
    qs(&mut l, "apic", &s("apic", "on"));
    qs(&mut l, "x2apic", &s("x2apic", "on"));
    qs(&mut l, "nested-hw-virt", &s("nested-hw-virt", "off"));
    raw(&mut l, "cpuid-portability-level", "0".into());
    qs(&mut l, "bootmenu", &s("bootmenu", "messageandmenu"));
    qs(&mut l, "boot1", &s("boot1", "dvd"));
    qs(&mut l, "boot2", &s("boot2", "disk"));
    qs(&mut l, "boot3", &s("boot3", "none"));
    qs(&mut l, "boot4", &s("boot4", "none"));
    qs(&mut l, "acpi", &s("acpi", "on"));
    qs(&mut l, "ioapic", &s("ioapic", "on"));
    qs(&mut l, "biosapic", &s("biosapic", "apic"));
    raw(&mut l, "biossystemtimeoffset", "0".into());
    let nvram = p(&format!("{}/{}.nvram", m.vm_dir, m.name));
    match family {
        Family::V6_1 => {}
        Family::V7_0 => l.push(format!("BIOS NVRAM File={}", quote(&nvram))),
        Family::V7_1 | Family::V7_2 => qs(&mut l, "NvramFile", &nvram),
    }
    qs(&mut l, "rtcuseutc", &s("rtcuseutc", "on"));
    qs(&mut l, "hwvirtex", &s("hwvirtex", "on"));
    qs(&mut l, "nestedpaging", &s("nestedpaging", "on"));
    qs(&mut l, "largepages", &s("largepages", "on"));
    qs(&mut l, "vtxvpid", &s("vtxvpid", "on"));
    qs(&mut l, "vtxux", &s("vtxux", "on"));
    if family >= Family::V7_0 {
        qs(&mut l, "virtvmsavevmload", &s("virtvmsavevmload", "on"));
        qs(&mut l, "iommu", &s("iommu", "none"));
    }
    qs(
        &mut l,
        "paravirtprovider",
        &s("paravirtprovider", "default"),
    );
    qs(
        &mut l,
        "effparavirtprovider",
        &s("effparavirtprovider", "kvm"),
    );
    qs(&mut l, "VMState", m.state.as_str());
    qs(
        &mut l,
        "VMStateChangeTime",
        &ids::vbox_time(m.state_change_ns),
    );
    if m.state == PowerState::Saved {
        let file = m.saved_state.clone().unwrap_or_else(|| m.state_file());
        qs(&mut l, "VMStateFile", &p(&file));
    }
    qs(
        &mut l,
        "graphicscontroller",
        &s("graphicscontroller", "vmsvga"),
    );
    raw(&mut l, "monitorcount", "1".into());
    qs(&mut l, "accelerate3d", &s("accelerate3d", "off"));
    // 7.2 dropped 2D video acceleration from the listing (VBoxManageInfo.cpp of 7.2.0: the line
    // after accelerate3d is teleporterenabled).
    if family <= Family::V7_1 {
        qs(&mut l, "accelerate2dvideo", &s("accelerate2dvideo", "off"));
    }
    qs(&mut l, "teleporterenabled", "off");
    raw(&mut l, "teleporterport", "0".into());
    qs(&mut l, "teleporteraddress", "");
    qs(&mut l, "teleporterpassword", "");
    qs(&mut l, "tracing-enabled", "off");
    qs(&mut l, "tracing-allow-vm-access", "off");
    qs(&mut l, "tracing-config", "");
    qs(&mut l, "autostart-enabled", "off");
    raw(&mut l, "autostart-delay", "0".into());
    qs(&mut l, "defaultfrontend", "");
    qs(&mut l, "vmprocpriority", "default");
    let disk_ctl = m
        .disk
        .as_ref()
        .map(|d| d.controller.clone())
        .unwrap_or_else(|| "SATA".into());
    for (i, (name, typ, max, count)) in [
        ("IDE", "PIIX4", "2", "2"),
        (disk_ctl.as_str(), "IntelAhci", "30", "1"),
    ]
    .iter()
    .enumerate()
    {
        qs(&mut l, &format!("storagecontrollername{i}"), name);
        qs(&mut l, &format!("storagecontrollertype{i}"), typ);
        qs(&mut l, &format!("storagecontrollerinstance{i}"), "0");
        qs(&mut l, &format!("storagecontrollermaxportcount{i}"), max);
        qs(&mut l, &format!("storagecontrollerportcount{i}"), count);
        qs(&mut l, &format!("storagecontrollerbootable{i}"), "on");
    }
    l.push("\"IDE-0-0\"=\"none\"".into());
    l.push("\"IDE-0-1\"=\"none\"".into());
    l.push("\"IDE-1-0\"=\"emptydrive\"".into());
    l.push("\"IDE-IsEjected-1-0\"=\"off\"".into());
    l.push("\"IDE-1-1\"=\"none\"".into());
    match &m.disk {
        Some(d) => {
            l.push(format!(
                "{}={}",
                quote(&format!("{disk_ctl}-0-0")),
                quote(&p(&d.file))
            ));
            l.push(format!(
                "{}={}",
                quote(&format!("{disk_ctl}-ImageUUID-0-0")),
                quote(&d.uuid)
            ));
            l.push(format!(
                "{}=\"off\"",
                quote(&format!("{disk_ctl}-hot-pluggable-0-0"))
            ));
            l.push(format!(
                "{}=\"off\"",
                quote(&format!("{disk_ctl}-nonrotational-0-0"))
            ));
            l.push(format!(
                "{}=\"off\"",
                quote(&format!("{disk_ctl}-discard-0-0"))
            ));
        }
        None => l.push(format!("{}=\"none\"", quote(&format!("{disk_ctl}-0-0")))),
    }
    for (i, nic) in m.hw.nics.iter().enumerate() {
        nic_block(&mut l, i + 1, nic, family);
    }
    qs(&mut l, "hidpointing", &s("hidpointing", "usbtablet"));
    qs(&mut l, "hidkeyboard", &s("hidkeyboard", "ps2kbd"));
    for u in 1..=4 {
        qs(&mut l, &format!("uart{u}"), &s(&format!("uart{u}"), "off"));
    }
    qs(&mut l, "lpt1", "off");
    qs(&mut l, "lpt2", "off");
    qs(&mut l, "audio", &s("audio", "default"));
    qs(&mut l, "audio_out", &s("audio_out", "on"));
    qs(&mut l, "audio_in", &s("audio_in", "off"));
    qs(&mut l, "clipboard", &s("clipboard", "bidirectional"));
    // VBOX_WITH_SHARED_CLIPBOARD_TRANSFERS is built for Linux and Windows hosts (Config.kmk of
    // 7.1; VBoxManageInfo.cpp 7.1.4, line 2390). The 7.0 capture (§11.3) has no such line.
    if family >= Family::V7_1 && host != Host::Macos {
        qs(&mut l, "clipboard_file_transfers", "off");
    }
    qs(&mut l, "draganddrop", &s("draganddrop", "bidirectional"));
    if m.session.is_some() {
        qs(
            &mut l,
            "SessionName",
            &m.session
                .as_ref()
                .map(|x| x.kind.clone())
                .unwrap_or_default(),
        );
    }
    qs(&mut l, "vrde", &s("vrde", "off"));
    qs(&mut l, "usb", &s("usb", "on"));
    qs(&mut l, "ehci", &s("ehci", "on"));
    qs(&mut l, "xhci", &s("xhci", "off"));
    if family >= Family::V7_1 {
        // VBoxManageInfo.cpp 7.1.4, line 2910.
        qs(&mut l, "recording_started", "off");
    }
    qs(&mut l, "recording_enabled", "off");
    raw(&mut l, "recording_screens", "1".into());
    if family >= Family::V7_0 {
        l.push(" rec_screen0".into());
    }
    qs(&mut l, "rec_screen_enabled", "on");
    raw(&mut l, "rec_screen_id", "0".into());
    qs(&mut l, "rec_screen_video_enabled", "on");
    if family >= Family::V7_1 {
        // VBOX_WITH_AUDIO_RECORDING (VBoxManageInfo.cpp 7.1.4, line 2968); audio is off
        // (ac_enabled=false below).
        qs(&mut l, "rec_screen_audio_enabled", "off");
    }
    qs(&mut l, "rec_screen_dest", "File");
    qs(
        &mut l,
        "rec_screen_dest_filename",
        &p(&format!("{}/{}-screen0.webm", m.vm_dir, m.name)),
    );
    qs(
        &mut l,
        "rec_screen_opts",
        "vc_enabled=true,ac_enabled=false,ac_profile=med",
    );
    qs(&mut l, "rec_screen_video_res_xy", "1024x768");
    raw(&mut l, "rec_screen_video_rate_kbps", "512".into());
    raw(&mut l, "rec_screen_video_fps", "25".into());
    // Only a VM with a description has the line (VBoxManageInfo.cpp since 6.1:
    // `if (!description.isEmpty())`).
    if !m.description.is_empty() {
        qs(&mut l, "description", &m.description);
    }
    raw(&mut l, "GuestMemoryBalloon", "0".into());
    if m.state.is_active()
        && let Some(level) = m.guest_props.get("/VirtualBox/GuestAdd/Version")
    {
        let _ = level;
        qs(&mut l, "GuestOSType", "Linux26_64");
        raw(&mut l, "GuestAdditionsRunLevel", "2".into());
        qs(
            &mut l,
            "GuestAdditionsVersion",
            &format!("{additions} r{revision}"),
        );
    }
    crate::commands::snapshot_listing::snapshot_lines(m, &mut l);
    for line in l {
        o.push_str(&line);
        o.push('\n');
    }
    o
}

fn nic_block(l: &mut Vec<String>, n: usize, nic: &Nic, family: Family) {
    let q = |v: &str| quote(v);
    if !nic.enabled() {
        l.push(format!("nic{n}={}", q("none")));
        return;
    }
    match nic.attachment {
        Attachment::Nat => l.push(format!("natnet{n}={}", q(&nic.natnet))),
        Attachment::Hostonly => l.push(format!("hostonlyadapter{n}={}", q(&nic.hostonly_adapter))),
        Attachment::HostonlyNet => {
            l.push(format!("hostonly-network{n}={}", q(&nic.hostonly_network)))
        }
        Attachment::Natnetwork => l.push(format!("nat-network{n}={}", q(&nic.nat_network))),
        Attachment::Intnet => l.push(format!("intnet{n}={}", q(&nic.intnet))),
        Attachment::Bridged => l.push(format!("bridgeadapter{n}={}", q(&nic.bridge_adapter))),
        Attachment::Generic => l.push(format!("generic{n}={}", q(""))),
        _ => {}
    }
    l.push(format!("macaddress{n}={}", q(&nic.mac)));
    l.push(format!(
        "cableconnected{n}={}",
        q(if nic.cable { "on" } else { "off" })
    ));
    l.push(format!("nic{n}={}", q(nic.attachment.as_str())));
    l.push(format!("nictype{n}={}", q(&nic.nictype)));
    l.push(format!("nicspeed{n}={}", q(&nic.speed.to_string())));
    if nic.attachment == Attachment::Nat {
        for (k, v) in [
            ("mtu", "0"),
            ("sockSnd", "64"),
            ("sockRcv", "64"),
            ("tcpWndSnd", "64"),
            ("tcpWndRcv", "64"),
        ] {
            l.push(format!("{k}={}", q(v)));
        }
        // 7.2's NAT settings line (VBoxManageInfo.cpp of 7.2.0, NAT case of showVMInfo:
        // "localhostReachable=\"%d\"\nforwardBroadcast=\"%d\"\nenableTFTP=\"%d\"\n"). 0 for
        // VMs made by 7.x is a guess (DrvNATlibslirp.cpp: TFTP off for new VMs).
        if family >= Family::V7_2 {
            for k in ["localhostReachable", "forwardBroadcast", "enableTFTP"] {
                l.push(format!("{k}={}", q("0")));
            }
        }
        for (i, r) in nic.nat_rules.iter().enumerate() {
            l.push(format!("Forwarding({i})={}", q(&r.render())));
        }
    }
}

/// `SnapshotName…` keys in tree order, `-1`, `-1-2` suffixes per level.
/// The human `showvminfo` text (the fields a person looks at; not meant for parsing).
pub fn human(m: &Machine, host: Host) -> String {
    let p = |path: &str| host.shown_path(path);
    let mut o = String::new();
    let mut row = |k: &str, v: &str| o.push_str(&format!("{:<29}{v}\n", format!("{k}:")));
    row("Name", &m.name);
    row("Encryption", "disabled");
    row(
        "Groups",
        &if m.groups.is_empty() {
            "/".into()
        } else {
            m.groups.join(",")
        },
    );
    row("Guest OS", &os_description(&m.hw.ostype));
    row("UUID", &m.uuid);
    row("Config file", &p(&m.cfg_file));
    row("Snapshot folder", &p(&m.snapshot_folder()));
    row("Log folder", &p(&m.log_folder()));
    row("Hardware UUID", &m.hardware_uuid);
    row("Memory size", &format!("{}MB", m.hw.memory));
    row("Number of CPUs", &m.hw.cpus.to_string());
    row(
        "State",
        &format!(
            "{} (since {})",
            m.state.human(),
            ids::vbox_time(m.state_change_ns)
        ),
    );
    if let Some(d) = &m.disk {
        row(
            &format!("{} (0, 0)", d.controller),
            &format!("{} (UUID: {})", p(&d.file), d.uuid),
        );
    }
    for (i, nic) in m.hw.nics.iter().enumerate() {
        let text = if nic.enabled() {
            let attach = match nic.attachment {
                Attachment::Nat => "NAT".to_string(),
                Attachment::Hostonly => format!("Host-only Interface '{}'", nic.hostonly_adapter),
                Attachment::HostonlyNet => format!("Host-only Network '{}'", nic.hostonly_network),
                Attachment::Natnetwork => format!("NAT Network '{}'", nic.nat_network),
                Attachment::Intnet => format!("Internal Network '{}'", nic.intnet),
                Attachment::Bridged => format!("Bridged Interface '{}'", nic.bridge_adapter),
                _ => "none".to_string(),
            };
            format!(
                "MAC: {}, Attachment: {attach}, Cable connected: {}, Trace: off (file: none), Type: {}, Reported speed: 0 Mbps, Boot priority: 0, Promisc Policy: deny, Bandwidth group: none",
                nic.mac,
                if nic.cable { "on" } else { "off" },
                nic.nictype
            )
        } else {
            "disabled".into()
        };
        row(&format!("NIC {}", i + 1), &text);
        for r in &nic.nat_rules {
            row(
                &format!("NIC {} Rule(0)", i + 1),
                &format!(
                    "name = {}, protocol = {}, host ip = {}, host port = {}, guest ip = {}, guest port = {}",
                    r.name, r.proto, r.host_ip, r.host_port, r.guest_ip, r.guest_port
                ),
            );
        }
    }
    if let Some(s) = &m.session {
        row("Session name", &s.kind);
    }
    row("Description", "");
    o.push_str(&m.description);
    o.push('\n');
    if m.snapshots.is_empty() {
        o.push_str("* Snapshots:\n\n  None\n\n");
    } else {
        o.push_str("* Snapshots:\n\n");
        o.push_str(&crate::commands::snapshot_listing::human_tree(m));
        o.push('\n');
    }
    o
}
