//! `VBoxManage dhcpserver add|modify|remove|start|stop|restart|findlease`, with fixed
//! addresses by MAC and by VM + NIC slot.

use std::net::Ipv4Addr;

use crate::model::ids;
use crate::model::network::{DhcpServer, FixedAddress, FixedKey};
use crate::model::state::State;
use crate::net::dhcp_service;
use crate::vbox::ctx::Ctx;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const OPTS: &[Opt] = &[
    Opt::new("--network", "network", Arg::Str),
    Opt::new("--netname", "network", Arg::Str),
    Opt::new("--interface", "interface", Arg::Str),
    Opt::new("--ifname", "interface", Arg::Str),
    Opt::new("--server-ip", "ip", Arg::Str),
    Opt::new("--ip", "ip", Arg::Str),
    Opt::new("--netmask", "netmask", Arg::Str),
    Opt::new("--lower-ip", "lower", Arg::Str),
    Opt::new("--lowerip", "lower", Arg::Str),
    Opt::new("--upper-ip", "upper", Arg::Str),
    Opt::new("--upperip", "upper", Arg::Str),
    Opt::new("--enable", "enable", Arg::None),
    Opt::new("--disable", "disable", Arg::None),
    Opt::new("--global", "global", Arg::None),
    Opt::new("--vm", "vm", Arg::Str),
    Opt::new("--nic", "nic", Arg::U32),
    Opt::new("--mac-address", "mac", Arg::Str),
    Opt::new("--fixed-address", "fixed", Arg::Str),
    Opt::new("--fixed-addr", "fixed", Arg::Str),
    Opt::new("--remove-config", "removeconfig", Arg::None),
];

enum Scope {
    Global,
    Vm {
        uuid: String,
        name: String,
        nic: Option<u32>,
    },
    Mac(String),
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(sub) = args.first().cloned() else {
        return Err(VBoxError::syntax(
            "Not enough parameters",
            usage::DHCPSERVER,
        ));
    };
    if !matches!(
        sub.as_str(),
        "add" | "modify" | "remove" | "start" | "stop" | "restart" | "findlease"
    ) {
        return Err(VBoxError::syntax(
            format!("Invalid parameter '{sub}'"),
            usage::DHCPSERVER,
        ));
    }
    let items =
        getopt::parse(&args[1..], OPTS).map_err(|e| VBoxError::syntax(e.0, usage::DHCPSERVER))?;
    let state_now = ctx.read()?;
    let mut network = None;
    let mut interface = None;
    let (mut ip, mut mask, mut lower, mut upper, mut enable) = (None, None, None, None, None);
    let mut scope = Scope::Global;
    let mut fixed: Vec<FixedAddress> = Vec::new();
    let mut remove_configs: Vec<FixedKey> = Vec::new();
    let mut lease_mac = None;
    for item in items {
        let Item::Opt { id, value, .. } = item else {
            let Item::Positional(p) = item else { continue };
            return Err(VBoxError::syntax(
                format!("Invalid parameter '{p}'"),
                usage::DHCPSERVER,
            ));
        };
        let v = value.unwrap_or_default();
        match id {
            "network" => network = Some(v),
            "interface" => interface = Some(v),
            "ip" => ip = Some(v),
            "netmask" => mask = Some(v),
            "lower" => lower = Some(v),
            "upper" => upper = Some(v),
            "enable" => enable = Some(true),
            "disable" => enable = Some(false),
            "global" => scope = Scope::Global,
            "vm" => {
                let i = ctx.find(&state_now, &v, "VBoxManageDHCPServer.cpp")?;
                let m = &state_now.machines[i];
                scope = Scope::Vm {
                    uuid: m.uuid.clone(),
                    name: m.name.clone(),
                    nic: None,
                };
            }
            "nic" => {
                let n = getopt::parse_u32(&v).unwrap_or(0);
                match &mut scope {
                    Scope::Vm { nic, .. } if (1..=8).contains(&n) => *nic = Some(n),
                    Scope::Vm { .. } => {
                        return Err(VBoxError::argument(format!("invalid NIC number: {n}")));
                    }
                    _ => {
                        return Err(VBoxError::argument(
                            "--nic option requires a preceding --vm option",
                        ));
                    }
                }
            }
            "mac" => {
                let mac = ids::parse_mac_loose(&v)
                    .ok_or_else(|| VBoxError::argument(format!("Malformed MAC address: {v}")))?;
                if sub == "findlease" {
                    lease_mac = Some(mac);
                } else {
                    scope = Scope::Mac(mac);
                }
            }
            "fixed" => {
                if v.parse::<Ipv4Addr>().is_err() {
                    return Err(VBoxError::argument(format!("Malformed IPv4 address: {v}")));
                }
                let key = match &scope {
                    Scope::Global => {
                        return Err(VBoxError::argument(
                            "--fixed-address can only be applied to a VM NIC or an MAC address",
                        ));
                    }
                    Scope::Vm { nic: None, .. } => {
                        return Err(VBoxError::argument("Missing --nic option for --vm option"));
                    }
                    Scope::Vm {
                        uuid,
                        name,
                        nic: Some(n),
                    } => FixedKey::VmNic {
                        vm_uuid: uuid.clone(),
                        vm_name: name.clone(),
                        nic: *n,
                    },
                    Scope::Mac(mac) => FixedKey::Mac(mac.clone()),
                };
                fixed.push(FixedAddress { key, ip: v });
            }
            "removeconfig" => match &scope {
                Scope::Vm {
                    uuid,
                    name,
                    nic: Some(n),
                } => remove_configs.push(FixedKey::VmNic {
                    vm_uuid: uuid.clone(),
                    vm_name: name.clone(),
                    nic: *n,
                }),
                Scope::Mac(mac) => remove_configs.push(FixedKey::Mac(mac.clone())),
                _ => {
                    return Err(VBoxError::argument(
                        "--remove-config requires a --vm/--nic or --mac-address scope",
                    ));
                }
            },
            _ => {}
        }
    }
    let net_name = match (network, interface.clone()) {
        (Some(_), Some(_)) => {
            return Err(VBoxError::argument(
                "Either --network or --interface, not both",
            ));
        }
        (Some(n), None) => n,
        (None, Some(i)) => format!("HostInterfaceNetworking-{i}"),
        (None, None) => {
            // errorSyntax in VBoxManageDHCPServer.cpp: the message, then the usage.
            return Err(VBoxError::syntax(
                "You need to specify either --network or --interface to identify the DHCP server",
                usage::DHCPSERVER,
            ));
        }
    };
    if sub != "add" && sub != "modify" {
        // dhcpdFindServer (VBoxManageDHCPServer.cpp): the one finder of remove, start, stop,
        // restart and findlease.
        find_server(&state_now, &net_name, interface.as_deref())?;
    }
    if sub == "findlease" {
        let Some(mac) = lease_mac else {
            return Err(VBoxError::syntax(
                "You need to specify a MAC address too look for",
                usage::DHCPSERVER,
            ));
        };
        return findlease(ctx, &state_now, &net_name, &mac);
    }
    for (label, value) in [
        ("--server-ip", &ip),
        ("--netmask", &mask),
        ("--lower-ip", &lower),
        ("--upper-ip", &upper),
    ] {
        if let Some(v) = value
            && v.parse::<Ipv4Addr>().is_err()
        {
            return Err(VBoxError::argument(format!(
                "Malformed IPv4 address for {label}: {v}"
            )));
        }
    }
    ctx.latency.sleep(latency::NETWORK_CHANGE);
    if sub == "modify" {
        // A fault is consumed even though the command fails.
        ctx.update_always(|state| {
            if state.faults.dhcp_modify_fail == 0 {
                return Ok(());
            }
            state.faults.dhcp_modify_fail -= 1;
            Err(VBoxError::com(
                format!(
                    "Could not save the settings file '{}' (VERR_DISK_FULL)",
                    ctx.store.home.join("VirtualBox.xml").display()
                ),
                vbox_error::VBOX_E_FILE_ERROR,
                "DHCPServerWrap",
                "IDHCPServer",
                String::new(),
            ))
        })?;
    }
    let store = ctx.store.clone();
    ctx.update(|state| {
        let existing = state.dhcp(&net_name);
        match sub.as_str() {
            "add" => {
                if existing.is_some() {
                    return Err(VBoxError::argument("DHCP server already exists"));
                }
                let missing = [
                    ("--ip", &ip),
                    ("--netmask", &mask),
                    ("--lowerip", &lower),
                    ("--upperip", &upper),
                ]
                .iter()
                .find(|(_, v)| v.is_none())
                .map(|(n, _)| *n);
                if let Some(n) = missing {
                    // errorSyntax: with the usage.
                    return Err(VBoxError::syntax(
                        format!("Missing required option: {n}"),
                        usage::DHCPSERVER,
                    ));
                }
                let mut d = DhcpServer {
                    network: net_name.clone(),
                    ip: ip.clone().unwrap_or_default(),
                    mask: mask.clone().unwrap_or_default(),
                    lower: lower.clone().unwrap_or_default(),
                    upper: upper.clone().unwrap_or_default(),
                    enabled: enable.unwrap_or(false),
                    fixed: Vec::new(),
                    process: None,
                };
                merge_fixed(&mut d, &fixed, &remove_configs);
                state.dhcpservers.push(d);
            }
            "modify" => {
                // A running server keeps the configuration it started with (no reload).
                let i =
                    existing.ok_or_else(|| VBoxError::argument("DHCP server does not exist"))?;
                let d = &mut state.dhcpservers[i];
                if let Some(v) = &ip {
                    d.ip = v.clone();
                }
                if let Some(v) = &mask {
                    d.mask = v.clone();
                }
                if let Some(v) = &lower {
                    d.lower = v.clone();
                }
                if let Some(v) = &upper {
                    d.upper = v.clone();
                }
                if let Some(e) = enable {
                    d.enabled = e;
                }
                merge_fixed(d, &fixed, &remove_configs);
            }
            "remove" => {
                let i = existing.ok_or_else(|| not_found(&net_name, interface.as_deref()))?;
                // DHCPServer::uninit stops a running server.
                if let Some(process) = state.dhcpservers[i].running() {
                    dhcp_service::stop(process);
                }
                state.dhcpservers.remove(i);
            }
            "start" => {
                let i = existing.ok_or_else(|| not_found(&net_name, interface.as_deref()))?;
                let server = state.dhcpservers[i].clone();
                // DHCPServer::start: "Silently ignore attempts to run disabled servers."
                if !server.enabled {
                    return Ok(());
                }
                if let Some(process) = server.running() {
                    return Err(in_use("Failed to start the server", process.pid));
                }
                let process = dhcp_service::start(&store, state, &server).map_err(|e| {
                    server_failure(
                        "Failed to start the server",
                        &format!("Failed to start DHCP server for '{net_name}': {e}"),
                    )
                })?;
                state.dhcpservers[i].process = Some(process);
            }
            "stop" => {
                let i = existing.ok_or_else(|| not_found(&net_name, interface.as_deref()))?;
                // NetworkServiceRunner::stop: nothing running is success.
                if let Some(process) = state.dhcpservers[i].process.take() {
                    dhcp_service::stop(process);
                }
            }
            _ => {
                let i = existing.ok_or_else(|| not_found(&net_name, interface.as_deref()))?;
                // DHCPServer::restart: stop + start with the stored trunk; a server disabled
                // meanwhile is brought down and not started again.
                let Some(process) = state.dhcpservers[i].running() else {
                    return Err(server_failure(
                        "Failed to restart the server",
                        "not running",
                    ));
                };
                dhcp_service::stop(process);
                state.dhcpservers[i].process = None;
                let server = state.dhcpservers[i].clone();
                if server.enabled {
                    let process = dhcp_service::start(&store, state, &server).map_err(|e| {
                        server_failure(
                            "Failed to restart the server",
                            &format!("Failed to start DHCP server for '{net_name}': {e}"),
                        )
                    })?;
                    state.dhcpservers[i].process = Some(process);
                }
            }
        }
        Ok(())
    })
}

/// What `dhcpdFindServer` prints when the server (or the host-only interface) is not there.
fn find_server(state: &State, network: &str, interface: Option<&str>) -> Result<(), VBoxError> {
    if let Some(interface) = interface
        && state.hostonly(interface).is_none()
    {
        return Err(VBoxError::Com {
            message: vec![format!(
                "The host network interface named '{interface}' could not be found"
            )],
            code: vbox_error::E_INVALIDARG,
            component: "HostWrap",
            interface: "IHost",
            context: vbox_error::context(
                "FindHostNetworkInterfaceByName(Bstr(pCtx->pszInterface).raw(), hif.asOutParam())",
                172,
                "VBoxManageDHCPServer.cpp",
            ),
            exit: 1,
        }
        .and_then_line(format!(
            "Failed to locate host-only interface '{interface}'"
        )));
    }
    if state.dhcp(network).is_none() {
        return Err(not_found(network, interface));
    }
    Ok(())
}

fn not_found(network: &str, interface: Option<&str>) -> VBoxError {
    VBoxError::failure(match interface {
        Some(interface) => format!(
            "Failed to find DHCP server for host-only interface '{interface}' (network '{network}')"
        ),
        None => format!("Failed to find DHCP server for network '{network}'"),
    })
}

/// VBoxManage's `errorArgument` line, then the COM error without context
/// (`GlueHandleComErrorNoCtx`), exit 1.
fn server_failure(what: &str, reason: &str) -> VBoxError {
    VBoxError::Com {
        message: vec![what.to_string(), reason.to_string()],
        code: vbox_error::NS_ERROR_FAILURE,
        component: "DHCPServerWrap",
        interface: "IDHCPServer",
        context: String::new(),
        exit: 1,
    }
}

fn in_use(what: &str, pid: u32) -> VBoxError {
    VBoxError::Com {
        message: vec![
            what.to_string(),
            format!("Cannot start DHCP server because it is already running (pid {pid})"),
        ],
        code: vbox_error::VBOX_E_OBJECT_IN_USE,
        component: "DHCPServerWrap",
        interface: "IDHCPServer",
        context: String::new(),
        exit: 1,
    }
}

fn merge_fixed(d: &mut DhcpServer, fixed: &[FixedAddress], remove: &[FixedKey]) {
    d.fixed.retain(|f| !remove.contains(&f.key));
    for f in fixed {
        d.fixed.retain(|old| old.key != f.key);
        d.fixed.push(f.clone());
    }
}

/// `dhcpserver findlease`: from the server's lease file (reservations are never written there:
/// Dhcpd/Db.cpp `Db::writeLeases` skips fixed bindings).
fn findlease(ctx: &Ctx, state: &State, network: &str, mac: &str) -> Result<(), VBoxError> {
    let context = vbox_error::context(
        "FindLeaseByMAC(Bstr(szMac).raw(), 0 , bstrAddress.asOutParam(), bstrState.asOutParam(), &secIssued, &secExpire)",
        1252,
        "VBoxManageDHCPServer.cpp",
    );
    let path = dhcp_service::lease_path(&ctx.store, network);
    if !path.exists() {
        let path = path.display();
        return Err(VBoxError::com(
            format!(
                "Reading '{path}' failed: VERR_FILE_NOT_FOUND - Runtime error opening '{path}' for reading VERR_FILE_NOT_FOUND (File not found.)"
            ),
            vbox_error::VBOX_E_FILE_ERROR,
            "DHCPServerWrap",
            "IDHCPServer",
            context,
        ));
    }
    // Reservations as the running daemon knows them: those of its configuration at start.
    let colon = ids::mac_colon(mac);
    let reserved = match dhcp_service::reserved_at_start(&ctx.store, network) {
        Some(macs) => macs.contains(&colon),
        None => state.dhcp(network).is_some_and(|i| {
            state.dhcpservers[i].fixed.iter().any(|f| match &f.key {
                FixedKey::Mac(m) => m.eq_ignore_ascii_case(mac),
                FixedKey::VmNic { vm_uuid, nic, .. } => state.find(vm_uuid).is_some_and(|v| {
                    state.machines[v]
                        .hw
                        .nics
                        .get(*nic as usize - 1)
                        .is_some_and(|n| n.mac.eq_ignore_ascii_case(mac))
                }),
            })
        }),
    };
    let lease = dhcp_service::find_lease(&ctx.store, network, mac).filter(|_| !reserved);
    let Some(lease) = lease else {
        return Err(VBoxError::com(
            format!("Could not find a lease for {}", ids::mac_colon(mac)),
            vbox_error::VBOX_E_OBJECT_NOT_FOUND,
            "DHCPServerWrap",
            "IDHCPServer",
            context,
        ));
    };
    let now = ids::now_ns() / 1_000_000_000;
    let issued = lease.expires.saturating_sub(dhcp_service::LEASE_SECONDS);
    let fmt = |secs: u64| {
        let iso = ids::iso_ms(secs * 1_000_000_000);
        format!("{}Z ({secs})", &iso[..19])
    };
    let state_word = if lease.expires < now {
        "expired"
    } else {
        "acked"
    };
    println!("IP Address:  {}", lease.ip);
    println!("MAC Address: {}", ids::mac_colon(mac));
    println!("State:       {state_word}");
    println!("Issued:      {}", fmt(issued));
    println!("Expire:      {}", fmt(lease.expires));
    println!(
        "TTL:         {} sec, currently {} sec left",
        lease.expires - issued,
        lease.expires.saturating_sub(now)
    );
    Ok(())
}
