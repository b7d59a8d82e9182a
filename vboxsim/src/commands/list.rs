//! `VBoxManage list vms|runningvms|hostonlyifs|natnets|dhcpservers|systemproperties|ostypes|groups`.

use crate::commands::natnetwork::{self, yes_no};
use crate::model::host::Host;
use crate::model::network::DhcpServer;
use crate::model::state::State;
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::usage;
use crate::vbox::vbox_error::VBoxError;

const OPTS: &[Opt] = &[
    Opt::new("--long", "long", Arg::None),
    Opt::new("-l", "long", Arg::None),
    Opt::new("--sorted", "sorted", Arg::None),
    Opt::new("-s", "sorted", Arg::None),
];

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::LIST))?;
    let mut long = false;
    let mut sorted = false;
    let mut what = None;
    for item in items {
        match item {
            Item::Opt { id: "long", .. } => long = true,
            Item::Opt { id: "sorted", .. } => sorted = true,
            Item::Positional(p) if what.is_none() => what = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::LIST,
                ));
            }
            Item::Opt { .. } => {}
        }
    }
    let Some(what) = what else {
        return Err(VBoxError::syntax(
            "Missing subcommand for \"list\" command.",
            usage::LIST,
        ));
    };
    let state = ctx.read()?;
    let text = match what.as_str() {
        "vms" => vms(&state, sorted, false),
        "runningvms" => vms(&state, sorted, true),
        "hostonlyifs" => hostonlyifs(&state),
        "natnets" | "natnetworks" => natnets(ctx, &state, long),
        "dhcpservers" => dhcpservers(ctx, &state),
        "systemproperties" => systemproperties(ctx, &state),
        "groups" => groups(&state),
        "ostypes" => ostypes(),
        "intnets" => intnets(&state),
        "hostinfo" => hostinfo(&state),
        // Built only with the vmnet backend (VirtualBox 7 on macOS).
        "hostonlynets" if state.host().has_vmnet(&ctx.emu) => hostonlynets(&state),
        "bridgedifs" | "hostdvds" | "hostfloppies" | "usbhost" | "usbfilters" | "extpacks"
        | "hdds" | "dvds" | "floppies" | "webcams" | "cloudproviders" | "cloudprofiles"
        | "cloudnets" => String::new(),
        other => {
            return Err(VBoxError::syntax(
                format!("Unknown subcommand \"{other}\"."),
                usage::LIST,
            ));
        }
    };
    print!("{text}");
    Ok(())
}

/// `list hostinfo` (VBoxManageList.cpp, `listHostInfo`): the lines a client reads; processor
/// details are this machine's count only. Memory is this machine's: `Memory size` is
/// RTSystemQueryTotalRam (MemTotal), `Memory available` RTSystemQueryAvailableRam, read here as
/// /proc/meminfo's MemAvailable (guess: IPRT's exact formula for Linux not checked), in MByte.
fn hostinfo(state: &State) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let now = crate::model::ids::iso_ms(crate::model::ids::now_ns());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let megabytes = |key: &str| {
        meminfo
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kilobytes| kilobytes / 1024)
    };
    format!(
        "Host Information:\n\nHost time: {now}\nProcessor online count: {cpus}\nProcessor count: {cpus}\n\
         Memory size: {} MByte\nMemory available: {} MByte\n\
         Operating system: {}\nOperating system version: {}\n",
        megabytes("MemTotal:"),
        megabytes("MemAvailable:"),
        state.host().os_name(),
        match state.host() {
            Host::Linux => "6.1.0",
            Host::Macos => "23.6.0",
            Host::Windows => "10.0.19045",
        }
    )
}

/// `list hostonlynets` (reference §3.3): note the blank line between `GUID:` and `State:`.
fn hostonlynets(state: &State) -> String {
    let mut out = String::new();
    for n in &state.hostonlynets {
        out.push_str(&format!("Name:            {}\n", n.name));
        out.push_str(&format!("GUID:            {}\n\n", n.id));
        out.push_str(&format!(
            "State:           {}\n",
            if n.enabled { "Enabled" } else { "Disabled" }
        ));
        out.push_str(&format!("NetworkMask:     {}\n", n.netmask));
        out.push_str(&format!("LowerIP:         {}\n", n.lower));
        out.push_str(&format!("UpperIP:         {}\n", n.upper));
        out.push_str(&format!("VBoxNetworkName: {}\n\n", n.network_name()));
    }
    out
}

fn vms(state: &State, sorted: bool, running: bool) -> String {
    let mut rows: Vec<(String, String)> = state
        .machines
        .iter()
        .filter(|m| !running || m.state.is_active())
        .map(|m| (display_name(m), m.uuid.clone()))
        .collect();
    if sorted {
        rows.sort_by_key(|r| r.0.to_lowercase());
    }
    rows.iter()
        .map(|(n, u)| format!("\"{n}\" {{{u}}}\n"))
        .collect()
}

/// A VM whose settings file is gone is listed as `<inaccessible>`, as VirtualBox does.
pub fn display_name(m: &crate::model::machine::Machine) -> String {
    if std::path::Path::new(&m.cfg_file).exists() {
        m.name.clone()
    } else {
        "<inaccessible>".into()
    }
}

fn hostonlyifs(state: &State) -> String {
    let mut out = String::new();
    for h in &state.hostonlyifs {
        out.push_str(&format!("Name:            {}\n", h.name));
        out.push_str(&format!("GUID:            {}\n", h.guid));
        out.push_str(&format!(
            "DHCP:            {}\n",
            if h.dhcp { "Enabled" } else { "Disabled" }
        ));
        out.push_str(&format!("IPAddress:       {}\n", h.ip));
        out.push_str(&format!("NetworkMask:     {}\n", h.mask));
        let up = state.machines.iter().any(|m| {
            m.state.is_active()
                && m.hw.nics.iter().any(|n| {
                    n.attachment == crate::model::nic::Attachment::Hostonly
                        && n.hostonly_adapter == h.name
                })
        });
        // The kernel gives the interface its EUI-64 link-local address once it has a carrier
        // (a VM attached): the reference §3.2 sample, `Up` with fe80::800:27ff:fe00:0 for
        // 0a:00:27:00:00:00, against the empty value of a `Down` one. Shown when no other IPv6
        // address is set (that it needs the carrier is a guess from Linux's addrconf).
        let (ipv6, ipv6_len) = if h.ipv6.is_empty() && up {
            (link_local(&h.mac), 64)
        } else {
            (h.ipv6.clone(), h.ipv6_len)
        };
        out.push_str(&format!("IPV6Address:     {ipv6}\n"));
        out.push_str(&format!("IPV6NetworkMaskPrefixLength: {ipv6_len}\n"));
        out.push_str(&format!("HardwareAddress: {}\n", h.mac));
        out.push_str("MediumType:      Ethernet\n");
        out.push_str("Wireless:        No\n");
        out.push_str(&format!(
            "Status:          {}\n",
            if up { "Up" } else { "Down" }
        ));
        out.push_str(&format!("VBoxNetworkName: {}\n\n", h.network_name()));
    }
    out
}

fn natnets(ctx: &Ctx, state: &State, long: bool) -> String {
    if ctx.emu.family == Family::V6_1 {
        let mut out = String::new();
        for n in &state.natnets {
            out.push_str(&format!("NetworkName:    {}\n", n.name));
            out.push_str(&format!(
                "IP:             {}\n",
                natnetwork::gateway(&n.cidr)
            ));
            out.push_str(&format!("Network:        {}\n", n.cidr));
            out.push_str(&format!("IPv6 Enabled:   {}\n", yes_no(n.ipv6)));
            out.push_str(&format!("IPv6 Prefix:    {}\n", n.ipv6_prefix));
            out.push_str(&format!("DHCP Enabled:   {}\n", yes_no(n.dhcp)));
            out.push_str(&format!("Enabled:        {}\n", yes_no(n.enabled)));
            natnetwork::rule_lists(n, &mut out);
            out.push('\n');
        }
        out
    } else {
        natnetwork::listing(state, None, long)
    }
}

/// The EUI-64 IPv6 link-local address of a MAC (`0a:00:27:00:00:00` → `fe80::800:27ff:fe00:0`).
fn link_local(mac: &str) -> String {
    let bytes: Vec<u8> = mac
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    let [a, b, c, d, e, f] = bytes[..] else {
        return String::new();
    };
    let groups = [
        u16::from_be_bytes([a ^ 0x02, b]),
        u16::from_be_bytes([c, 0xff]),
        u16::from_be_bytes([0xfe, d]),
        u16::from_be_bytes([e, f]),
    ];
    std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, groups[0], groups[1], groups[2], groups[3]).to_string()
}

fn dhcpservers(ctx: &Ctx, state: &State) -> String {
    let _ = ctx;
    state.dhcpservers.iter().map(dhcp_block).collect()
}

fn dhcp_block(d: &DhcpServer) -> String {
    let mut out = String::new();
    out.push_str(&format!("NetworkName:    {}\n", d.network));
    out.push_str(&format!("Dhcpd IP:       {}\n", d.ip));
    out.push_str(&format!("LowerIPAddress: {}\n", d.lower));
    out.push_str(&format!("UpperIPAddress: {}\n", d.upper));
    out.push_str(&format!("NetworkMask:    {}\n", d.mask));
    out.push_str(&format!("Enabled:        {}\n", yes_no(d.enabled)));
    out.push_str("Global Configuration:\n");
    out.push_str("    minLeaseTime:     default\n");
    out.push_str("    defaultLeaseTime: default\n");
    out.push_str("    maxLeaseTime:     default\n");
    out.push_str("    Forced options:   None\n");
    out.push_str("    Suppressed opts.: None\n");
    out.push_str(&format!("        1/legacy: {}\n", d.mask));
    out.push_str("Groups:               None\n");
    if d.fixed.is_empty() {
        out.push_str("Individual Configs:   None\n");
    } else {
        out.push_str("Individual Configs:\n");
        for f in &d.fixed {
            match &f.key {
                crate::model::network::FixedKey::Mac(mac) => {
                    out.push_str(&format!("    MAC {}\n", crate::model::ids::mac_colon(mac)));
                }
                crate::model::network::FixedKey::VmNic {
                    vm_name,
                    vm_uuid,
                    nic,
                } => {
                    out.push_str(&format!("    VM '{vm_name}' ({vm_uuid}) NIC {nic}\n"));
                }
            }
            out.push_str(&format!("        Fixed Address:    {}\n", f.ip));
        }
    }
    out.push('\n');
    out
}

fn systemproperties(ctx: &Ctx, state: &State) -> String {
    let folder = ctx.shown(&ctx.machine_folder(state));
    // Where the installer puts the Additions ISO (Linux packages: /usr/share/virtualbox; the
    // Windows installer: Program Files, a guess of the folder's default).
    let additions_iso = match ctx.host {
        Host::Windows => r"C:\Program Files\Oracle\VirtualBox\VBoxGuestAdditions.iso",
        Host::Linux | Host::Macos => "/usr/share/virtualbox/VBoxGuestAdditions.iso",
    };
    format!(
        "API version:                     {api}\n\
         Minimum guest RAM size:          4 Megabytes\n\
         Maximum guest RAM size:          2097152 Megabytes\n\
         Minimum video RAM size:          0 Megabytes\n\
         Maximum video RAM size:          256 Megabytes\n\
         Maximum guest monitor count:     64\n\
         Minimum guest CPU count:         1\n\
         Maximum guest CPU count:         64\n\
         Virtual disk limit (info):       2199022206976 Bytes\n\
         Maximum Serial Port count:       4\n\
         Maximum Parallel Port count:     2\n\
         Maximum Boot Position:           4\n\
         Maximum PIIX3 Network Adapter count:   8\n\
         Maximum ICH9 Network Adapter count:   36\n\
         Default machine folder:          {folder}\n\
         Raw-mode Supported:              no\n\
         Exclusive HW virtualization use: on\n\
         Default hard disk format:        VDI\n\
         VRDE auth library:               VBoxAuth\n\
         Webservice auth. library:        VBoxAuth\n\
         Remote desktop ExtPack:          \n\
         Log history count:               3\n\
         Default frontend:                \n\
         Default audio driver:            ALSA\n\
         Autostart database path:         \n\
         Default Guest Additions ISO:     {additions_iso}\n\
         Logging Level:                   all\n\
         Proxy Mode:                      System\n\
         Proxy URL:                       \n\
         User language:                   C\n",
        api = api_version(ctx)
    )
}

fn api_version(ctx: &Ctx) -> String {
    let (a, b, _) = ctx.emu.triple();
    format!("{a}_{b}")
}

fn groups(state: &State) -> String {
    let mut all: Vec<String> = state
        .machines
        .iter()
        .flat_map(|m| m.groups.clone())
        .collect();
    all.sort();
    all.dedup();
    all.iter().map(|g| format!("\"{g}\"\n")).collect()
}

fn intnets(state: &State) -> String {
    let mut all: Vec<String> = state
        .machines
        .iter()
        .flat_map(|m| {
            m.hw.nics
                .iter()
                .filter(|n| n.attachment == crate::model::nic::Attachment::Intnet)
        })
        .map(|n| n.intnet.clone())
        .collect();
    all.sort();
    all.dedup();
    all.iter()
        .map(|n| format!("Name:        {n}\n\n"))
        .collect()
}

/// The OS types vboxsim knows (id, description, family).
pub const OS_TYPES: &[(&str, &str, &str)] = &[
    ("Other", "Other/Unknown", "Other"),
    (
        "Linux26_64",
        "Linux 2.6 / 3.x / 4.x / 5.x (64-bit)",
        "Linux",
    ),
    ("Debian_64", "Debian (64-bit)", "Linux"),
    ("Debian11_64", "Debian 11 Bullseye (64-bit)", "Linux"),
    ("Debian12_64", "Debian 12 Bookworm (64-bit)", "Linux"),
    ("Ubuntu_64", "Ubuntu (64-bit)", "Linux"),
    (
        "Ubuntu22_LTS_64",
        "Ubuntu 22.04 LTS (Jammy Jellyfish) (64-bit)",
        "Linux",
    ),
    ("ArchLinux_64", "Arch Linux (64-bit)", "Linux"),
    ("RedHat_64", "Red Hat (64-bit)", "Linux"),
    ("Fedora_64", "Fedora (64-bit)", "Linux"),
];

pub fn os_description(id: &str) -> String {
    OS_TYPES
        .iter()
        .find(|(i, _, _)| i.eq_ignore_ascii_case(id))
        .map(|(_, d, _)| d.to_string())
        .unwrap_or_else(|| id.to_string())
}

fn ostypes() -> String {
    OS_TYPES
        .iter()
        .map(|(id, desc, fam)| {
            format!("ID:          {id}\nDescription: {desc}\nFamily ID:   {fam}\nFamily Desc: {fam}\n64 bit:      true\n\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_addresses_follow_the_mac() {
        assert_eq!(link_local("0a:00:27:00:00:00"), "fe80::800:27ff:fe00:0");
        assert_eq!(link_local("0a:00:27:00:00:01"), "fe80::800:27ff:fe00:1");
    }
}
