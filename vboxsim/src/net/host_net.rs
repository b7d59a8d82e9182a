//! The world host's side of VirtualBox networks: each host-only interface is a bridge named as
//! the interface (`vboxnet0`) carrying its `ipconfig` address; each NAT network a bridge with its
//! gateway address; each internal network a bridge without address. Only ever run inside a
//! world's network namespace (`VBOXSIM_WORLD` set).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::store::Store;

/// Runs `ip ARGS`, returning its stderr as the error.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip (install iproute2: run scripts/setup): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn fnv(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub fn natnet_bridge(name: &str) -> String {
    format!("vbn{:08x}", fnv(name))
}

pub fn hostonlynet_bridge(name: &str) -> String {
    format!("vmn{:08x}", fnv(name))
}

/// The bridge of a host-only interface: its own name where that is a valid Linux interface
/// name (`vboxnet0`), else one made from it (Windows' `VirtualBox Host-Only Ethernet Adapter #2`).
pub fn hostonly_bridge(name: &str) -> String {
    let valid = !name.is_empty()
        && name.len() <= 15
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if valid {
        name.to_string()
    } else {
        format!("vbh{:08x}", fnv(name))
    }
}

/// The host's address on a host-only network: the network's first address (`.1`).
pub fn hostonlynet_host(net: &crate::model::network::HostOnlyNet) -> Option<String> {
    let mask: Ipv4Addr = net.netmask.parse().ok()?;
    let lower: Ipv4Addr = net.lower.parse().ok()?;
    let base = u32::from(lower) & u32::from(mask);
    Some(format!(
        "{}/{}",
        Ipv4Addr::from(base + 1),
        u32::from(mask).count_ones()
    ))
}

pub fn intnet_bridge(name: &str) -> String {
    format!("vbi{:08x}", fnv(name))
}

/// /sys shows the namespace it was mounted in, not ours: ask the kernel through `ip`.
fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn bridges() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "type", "bridge"])
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// True when this process may touch networking: `VBOXSIM_WORLD` names a world *and* the process
/// really is inside that world's network namespace (never the real host's).
pub fn in_world() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(world) = std::env::var_os("VBOXSIM_WORLD").filter(|w| !w.is_empty()) else {
        return false;
    };
    let ns = format!("/run/netns/vboxsim-{}", world.to_string_lossy());
    match (
        std::fs::metadata(&ns),
        std::fs::metadata("/proc/self/ns/net"),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The IPv4 addresses (`a.b.c.d/len`) an interface carries.
fn addresses(name: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", name])
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next().map(str::to_string)
        })
        .collect()
}

/// Makes the bridge exist, carry exactly `addr` and be up; changes nothing that is already so
/// (a running guest's bridge is never flushed under it).
fn ensure_bridge(name: &str, addr: Option<String>) -> Result<(), String> {
    if !link_exists(name) {
        ip(&["link", "add", name, "type", "bridge"])?;
    }
    let present = addresses(name);
    for stale in present.iter().filter(|a| Some(*a) != addr.as_ref()) {
        ip(&["addr", "del", stale, "dev", name])?;
    }
    if let Some(a) = addr.filter(|a| !present.contains(a)) {
        ip(&["addr", "add", &a, "dev", name])?;
    }
    ip(&["link", "set", name, "up"])
}

fn prefix(mask: &str) -> u32 {
    mask.parse::<Ipv4Addr>()
        .map(|m| u32::from(m).count_ones())
        .unwrap_or(24)
}

/// Brings the world's bridges in line with the newest state: creates missing ones, sets
/// addresses, removes bridges of networks that no longer exist. Serialised by the network lock,
/// and the state is read under it, so concurrent callers never undo each other's work.
pub fn sync(store: &Store) -> Result<(), String> {
    if !in_world() {
        return Ok(());
    }
    let _lock = store.network_lock()?;
    let state = store.read()?;
    let mut wanted = Vec::new();
    for h in &state.hostonlyifs {
        let addr = (!h.ip.is_empty()).then(|| format!("{}/{}", h.ip, prefix(&h.mask)));
        let bridge = hostonly_bridge(&h.name);
        ensure_bridge(&bridge, addr)?;
        wanted.push(bridge);
    }
    for n in &state.hostonlynets {
        let bridge = hostonlynet_bridge(&n.name);
        ensure_bridge(&bridge, hostonlynet_host(n))?;
        wanted.push(bridge);
    }
    for n in &state.natnets {
        let br = natnet_bridge(&n.name);
        let addr = crate::net::cidr::parse_cidr(&n.cidr)
            .map(|(net, len)| format!("{}/{len}", Ipv4Addr::from(u32::from(net) + 1)));
        ensure_bridge(&br, addr)?;
        wanted.push(br);
    }
    let mut intnets: Vec<String> = state
        .machines
        .iter()
        .flat_map(|m| m.hw.nics.iter())
        .filter(|n| n.attachment == crate::model::nic::Attachment::Intnet)
        .map(|n| intnet_bridge(&n.intnet))
        .collect();
    intnets.dedup();
    for br in intnets {
        ensure_bridge(&br, None)?;
        wanted.push(br);
    }
    for name in bridges() {
        let ours = ["vboxnet", "vbn", "vbi", "vbh", "vmn"]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if ours && !wanted.contains(&name) {
            let _ = ip(&["link", "del", &name]);
        }
    }
    Ok(())
}
