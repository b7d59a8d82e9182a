//! VirtualBox's DHCP servers on the wire (VBoxNetDHCP's role). A started server is a dnsmasq in
//! the world's network namespace, bound to its network's bridge, serving the configuration the
//! server had when it started: VirtualBox writes the server's configuration file in
//! `DHCPServer::start` and the daemon never reloads it (Main/src-server/DHCPServerImpl.cpp), so
//! a reservation added later reaches guests only after `dhcpserver restart`. Leases live in a
//! lease file in `VBOX_USER_HOME` that survives restarts, as VirtualBox's `<net>-Dhcpd.leases`
//! does; `dhcpserver findlease` reads it.
//!
//! Known difference: dnsmasq answers from the bridge's own address (the host's `.1`, a NAT
//! network's gateway), where VBoxNetDHCP answers from the server's `--server-ip`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::ids;
use crate::model::network::{DhcpServer, FixedKey, ServerProcess};
use crate::model::state::State;
use crate::net::host_net;
use crate::store::{Store, process_start_time};

/// The lease time VBoxNetDHCP gives when the configuration sets none (Dhcpd/Config.cpp,
/// `GlobalConfig::initFromXml`: `m_secDefaultLeaseTime = 600`).
pub const LEASE_SECONDS: u64 = 600;

/// A file of the server's in `VBOX_USER_HOME`, named as VirtualBox names its own
/// (`HostInterfaceNetworking-vboxnet0-Dhcpd.leases`).
fn file(store: &Store, network: &str, suffix: &str) -> PathBuf {
    store.home.join(format!("{network}-Dhcpd.{suffix}"))
}

pub fn lease_path(store: &Store, network: &str) -> PathBuf {
    file(store, network, "leases")
}

/// The bridge a DHCP server's network is, if the network exists.
fn bridge_of(state: &State, network: &str) -> Option<String> {
    if let Some(interface) = network.strip_prefix("HostInterfaceNetworking-") {
        return state
            .hostonly(interface)
            .map(|_| host_net::hostonly_bridge(interface));
    }
    if let Some(name) = network.strip_prefix("hostonly-")
        && state.hostonlynet(name).is_some()
    {
        return Some(host_net::hostonlynet_bridge(name));
    }
    state
        .natnet(network)
        .map(|_| host_net::natnet_bridge(network))
}

/// The router and DNS server a server hands out: a NAT network's gateway is both (VBoxNetNAT
/// proxies DNS at the gateway); a host-only network has neither.
fn gateway_of(state: &State, network: &str) -> Option<String> {
    let natnet = state.natnets.iter().find(|n| n.name == network)?;
    Some(crate::net::cidr::gateway(&natnet.cidr))
}

/// dnsmasq's configuration for `server` as it stands now. Reservations by VM + NIC slot are
/// resolved to the VM's MAC here, when the server starts, as VirtualBox resolves them when it
/// writes the daemon's configuration. Addresses go out at once, sequentially from the lower
/// bound (VBoxNetDHCP probes nothing; dnsmasq would ping each address for 3 s first).
pub fn render(
    state: &State,
    server: &DhcpServer,
    bridge: &str,
    store: &Store,
) -> Result<String, String> {
    let mut out = format!(
        "# vboxsim: VirtualBox DHCP server of {} as configured when it started.\n\
         port=0\n\
         interface={bridge}\n\
         bind-interfaces\n\
         except-interface=lo\n\
         dhcp-authoritative\n\
         dhcp-sequential-ip\n\
         no-ping\n\
         dhcp-range={},{},{},{LEASE_SECONDS}\n\
         dhcp-leasefile={}\n\
         pid-file={}\n\
         log-facility={}\n\
         log-dhcp\n",
        server.network,
        server.lower,
        server.upper,
        server.mask,
        lease_path(store, &server.network).display(),
        file(store, &server.network, "pid").display(),
        file(store, &server.network, "log").display(),
    );
    match gateway_of(state, &server.network) {
        Some(gateway) => out.push_str(&format!(
            "dhcp-option=option:router,{gateway}\ndhcp-option=option:dns-server,{gateway}\n"
        )),
        None => out.push_str("dhcp-option=option:router\n"),
    }
    // One line per address with every MAC reserved for it. VBoxNetDHCP enters each fixed
    // assignment as a binding of its own (Dhcpd/Db.cpp `i_enterFixedAddressAssignment`): two
    // MACs may share an address outside the pool (each gets it), while one inside the pool
    // twice is VERR_ADDRESS_CONFLICT and the server does not start. dnsmasq refuses duplicate
    // addresses, so shared ones become one `dhcp-host` with both MACs (dnsmasq then gives the
    // address to the MAC that asks last: an approximation of both holding it).
    let mut by_address: Vec<(String, Vec<String>)> = Vec::new();
    for fixed in &server.fixed {
        let mac = match &fixed.key {
            FixedKey::Mac(mac) => Some(ids::mac_colon(mac)),
            FixedKey::VmNic { vm_uuid, nic, .. } => state
                .find(vm_uuid)
                .and_then(|i| state.machines[i].hw.nics.get(*nic as usize - 1))
                .map(|n| ids::mac_colon(&n.mac)),
        };
        let Some(mac) = mac else { continue };
        match by_address.iter_mut().find(|(ip, _)| *ip == fixed.ip) {
            Some((_, macs)) if !macs.contains(&mac) => macs.push(mac),
            Some(_) => {}
            None => by_address.push((fixed.ip.clone(), vec![mac])),
        }
    }
    let in_pool = |ip: &str| -> bool {
        let (Ok(ip), Ok(lower), Ok(upper)) = (
            ip.parse::<Ipv4Addr>(),
            server.lower.parse::<Ipv4Addr>(),
            server.upper.parse::<Ipv4Addr>(),
        ) else {
            return false;
        };
        (u32::from(lower)..=u32::from(upper)).contains(&u32::from(ip))
    };
    for (ip, macs) in &by_address {
        if macs.len() > 1 && in_pool(ip) {
            return Err(format!(
                "{ip} is reserved twice inside the pool (VERR_ADDRESS_CONFLICT)"
            ));
        }
        out.push_str(&format!("dhcp-host={},{ip}\n", macs.join(",")));
    }
    Ok(out)
}

/// Starts the server's process with its configuration as it stands (the caller checked that it
/// is not running). Outside a world there is no network to serve: the server runs "without a
/// wire" (PID 0), so VirtualBox's lifecycle still holds.
pub fn start(store: &Store, state: &State, server: &DhcpServer) -> Result<ServerProcess, String> {
    if !host_net::in_world() {
        return Ok(ServerProcess::WIRELESS);
    }
    let bridge = bridge_of(state, &server.network)
        .ok_or_else(|| format!("the network of DHCP server {} is gone", server.network))?;
    host_net::sync(store)?;
    let conf = file(store, &server.network, "dnsmasq.conf");
    let config = render(state, server, &bridge, store)?;
    std::fs::write(&conf, &config).map_err(|e| format!("{}: {e}", conf.display()))?;
    forget_reserved_leases(&lease_path(store, &server.network), &config)?;
    let pid_file = file(store, &server.network, "pid");
    let _ = std::fs::remove_file(&pid_file);
    // dnsmasq daemonises (setsid, double fork): the server outlives this VBoxManage process as
    // VBoxNetDHCP outlives the client that started it.
    let out = Command::new("dnsmasq")
        .arg(format!("--conf-file={}", conf.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| {
            format!("cannot run dnsmasq (install dnsmasq-base: run scripts/setup): {e}")
        })?;
    if !out.status.success() {
        return Err(format!(
            "dnsmasq failed for {}: {}",
            server.network,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            && let Some(start_time) = process_start_time(pid)
        {
            return Ok(ServerProcess { pid, start_time });
        }
        if Instant::now() >= deadline {
            return Err(format!("dnsmasq for {} wrote no PID", server.network));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the network's DHCP server if it exists, is enabled and is not running (what a VM's
/// power-up does for the networks of its NICs), recording its process in `state`.
pub fn ensure_running(store: &Store, state: &mut State, network: &str) -> Result<(), String> {
    let Some(i) = state.dhcp(network) else {
        return Ok(());
    };
    let server = state.dhcpservers[i].clone();
    if !server.enabled || server.running().is_some() {
        return Ok(());
    }
    let process = start(store, state, &server)?;
    state.dhcpservers[i].process = Some(process);
    Ok(())
}

/// Reservations win over old leases, as in VBoxNetDHCP: its database enters the fixed
/// addresses first when it starts and never writes them to the lease file (Dhcpd/Db.cpp,
/// `Db::init`, `Db::writeLeases`). dnsmasq instead keeps honouring a lease another MAC holds on
/// a reserved address (and a reserved MAC's old dynamic lease), so those are dropped from the
/// lease file before it starts.
fn forget_reserved_leases(path: &std::path::Path, config: &str) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let reserved: Vec<(String, String)> = config
        .lines()
        .filter_map(|line| line.strip_prefix("dhcp-host="))
        .flat_map(|rest| {
            let (macs, ip) = rest.rsplit_once(',').unwrap_or(("", ""));
            macs.split(',')
                .filter(|mac| !mac.is_empty())
                .map(|mac| (mac.to_ascii_lowercase(), ip.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let kept: String = text
        .lines()
        .filter(|line| {
            let mut words = line.split_whitespace().skip(1);
            let (Some(mac), Some(ip)) = (words.next(), words.next()) else {
                return true;
            };
            let mac = mac.to_ascii_lowercase();
            !reserved
                .iter()
                .any(|(reserved_mac, reserved_ip)| *reserved_mac == mac || reserved_ip == ip)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(path, kept).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts vmnet's DHCP server of a host-only network (VirtualBox 7 on macOS) if it does not
/// run: the network's lower–upper range, no reservations, no router.
pub fn ensure_vmnet_running(store: &Store, state: &mut State, name: &str) -> Result<(), String> {
    let Some(i) = state.hostonlynet(name) else {
        return Ok(());
    };
    let net = state.hostonlynets[i].clone();
    if !net.enabled || net.process.is_some_and(|p| p.alive()) {
        return Ok(());
    }
    let host = host_net::hostonlynet_host(&net)
        .and_then(|cidr| cidr.split('/').next().map(str::to_string))
        .unwrap_or_default();
    let server = DhcpServer {
        network: net.network_name(),
        ip: host,
        mask: net.netmask.clone(),
        lower: net.lower.clone(),
        upper: net.upper.clone(),
        enabled: true,
        fixed: Vec::new(),
        process: None,
    };
    let process = start(store, state, &server)?;
    state.hostonlynets[i].process = Some(process);
    Ok(())
}

/// Stops the server's process (nothing to do when it is not running).
pub fn stop(process: ServerProcess) {
    if process.pid == 0 || !process.alive() {
        return;
    }
    // SAFETY: signalling the recorded process, checked above to be the one we started.
    unsafe {
        libc::kill(process.pid as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while process.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if process.alive() {
        // SAFETY: as above.
        unsafe {
            libc::kill(process.pid as i32, libc::SIGKILL);
        }
    }
}

/// The MACs (colon form, lower case) the server reserved addresses for when it last started,
/// from the configuration it was started with; None when it never started on a wire.
pub fn reserved_at_start(store: &Store, network: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file(store, network, "dnsmasq.conf")).ok()?;
    Some(
        text.lines()
            .filter_map(|line| line.strip_prefix("dhcp-host="))
            .filter_map(|rest| rest.rsplit_once(',').map(|(macs, _)| macs))
            .flat_map(|macs| macs.split(','))
            .map(str::to_ascii_lowercase)
            .collect(),
    )
}

/// One lease of a server's lease file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub mac: String,
    /// Seconds since the epoch.
    pub expires: u64,
}

/// The lease the server gave `mac` (colon or bare form, any case), from its lease file.
pub fn find_lease(store: &Store, network: &str, mac: &str) -> Option<Lease> {
    let bare: String = mac.chars().filter(char::is_ascii_hexdigit).collect();
    let wanted = ids::mac_colon(&bare);
    let text = std::fs::read_to_string(lease_path(store, network)).ok()?;
    parse_leases(&text)
        .into_iter()
        .find(|lease| lease.mac == wanted)
}

/// dnsmasq's lease file: `expiry mac ip hostname client-id` per line.
pub fn parse_leases(text: &str) -> Vec<Lease> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let expires = words.next()?.parse().ok()?;
            let mac = words.next()?.to_ascii_lowercase();
            let ip = words.next()?.parse().ok()?;
            Some(Lease { ip, mac, expires })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(fixed: &[(&str, &str)]) -> DhcpServer {
        DhcpServer {
            network: "HostInterfaceNetworking-vboxnet0".into(),
            ip: "192.168.56.100".into(),
            mask: "255.255.255.0".into(),
            lower: "192.168.56.101".into(),
            upper: "192.168.56.254".into(),
            enabled: true,
            fixed: fixed
                .iter()
                .map(|(mac, ip)| crate::model::network::FixedAddress {
                    key: FixedKey::Mac(mac.to_string()),
                    ip: ip.to_string(),
                })
                .collect(),
            process: None,
        }
    }

    #[test]
    fn an_address_reserved_for_two_macs_is_shared_outside_the_pool_and_refused_inside() {
        let store = Store::at(&std::env::temp_dir());
        let state = State::default();
        let shared = render(
            &state,
            &server(&[
                ("08002700000A", "192.168.56.52"),
                ("08002700000B", "192.168.56.52"),
            ]),
            "vboxnet0",
            &store,
        )
        .unwrap();
        assert!(
            shared.contains("dhcp-host=08:00:27:00:00:0a,08:00:27:00:00:0b,192.168.56.52\n"),
            "{shared}"
        );
        let conflict = render(
            &state,
            &server(&[
                ("08002700000A", "192.168.56.150"),
                ("08002700000B", "192.168.56.150"),
            ]),
            "vboxnet0",
            &store,
        );
        assert!(conflict.unwrap_err().contains("VERR_ADDRESS_CONFLICT"));
    }

    #[test]
    fn reservations_win_over_old_leases() {
        let path =
            std::env::temp_dir().join(format!("vboxsim-test-{}-Dhcpd.leases", std::process::id()));
        std::fs::write(
            &path,
            "100 08:00:27:00:00:01 192.168.56.51 old *\n\
             100 08:00:27:00:00:02 192.168.56.102 debian *\n\
             100 08:00:27:00:00:03 192.168.56.103 other *\n",
        )
        .unwrap();
        forget_reserved_leases(
            &path,
            "dhcp-host=08:00:27:00:00:09,192.168.56.51\ndhcp-host=08:00:27:00:00:02,192.168.56.52\n",
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "100 08:00:27:00:00:03 192.168.56.103 other *\n",
            "another MAC's lease on a reserved address and a reserved MAC's old lease are gone"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn lease_file_lines_are_read() {
        let leases =
            parse_leases("1796278203 08:00:27:AA:00:01 192.168.56.21 debian *\nbroken line\n");
        assert_eq!(
            leases,
            vec![Lease {
                ip: Ipv4Addr::new(192, 168, 56, 21),
                mac: "08:00:27:aa:00:01".into(),
                expires: 1_796_278_203,
            }]
        );
    }
}
