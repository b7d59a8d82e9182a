//! `VBoxManage hostonlyif create|remove|ipconfig`, with the 6.1.28+ allowed-range check.

use std::net::Ipv4Addr;

use crate::model::network::HostOnlyIf;
use crate::vbox::ctx::Ctx;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const IPCONFIG_OPTS: &[Opt] = &[
    Opt::new("--dhcp", "dhcp", Arg::None),
    Opt::new("-d", "dhcp", Arg::None),
    Opt::new("--ip", "ip", Arg::Str),
    Opt::new("-a", "ip", Arg::Str),
    Opt::new("--netmask", "netmask", Arg::Str),
    Opt::new("-m", "netmask", Arg::Str),
    Opt::new("--ipv6", "ipv6", Arg::Str),
    Opt::new("-b", "ipv6", Arg::Str),
    Opt::new("--netmasklengthv6", "len6", Arg::U32),
    Opt::new("-l", "len6", Arg::U32),
];

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(sub) = args.first() else {
        return Err(VBoxError::syntax(
            "Not enough parameters",
            usage::HOSTONLYIF,
        ));
    };
    match sub.as_str() {
        "create" => create(ctx, &args[1..]),
        "remove" => remove(ctx, &args[1..]),
        "ipconfig" => ipconfig(ctx, &args[1..]),
        other => Err(VBoxError::syntax(
            format!("Invalid parameter '{other}'"),
            usage::HOSTONLYIF,
        )),
    }
}

fn not_found(name: &str) -> VBoxError {
    VBoxError::com(
        format!("The host network interface named '{name}' could not be found"),
        vbox_error::E_INVALIDARG,
        "HostWrap",
        "IHost",
        vbox_error::context(
            "FindHostNetworkInterfaceByName(name.raw(), hif.asOutParam())",
            242,
            "VBoxManageHostonly.cpp",
        ),
    )
}

fn create(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let mut opts = Vec::new();
    if ctx.v7() {
        opts.push(Opt::new("--machinereadable", "mr", Arg::None));
    }
    let items =
        getopt::parse(args, &opts).map_err(|e| VBoxError::syntax(e.0, usage::HOSTONLYIF))?;
    let mut machine_readable = false;
    for item in items {
        match item {
            Item::Opt { id: "mr", .. } => machine_readable = true,
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::HOSTONLYIF,
                ));
            }
            Item::Opt { .. } => {}
        }
    }
    let failing = ctx.update(|state| {
        // VirtualBox 7 on macOS has no host-only interfaces: creating one fails as on a host
        // without the vboxnetadp driver (reference §9.2).
        if state.host().has_vmnet(&ctx.emu) {
            return Ok(true);
        }
        if state.faults.hostonly_create_fail > 0 {
            state.faults.hostonly_create_fail -= 1;
            return Ok(true);
        }
        Ok(false)
    })?;
    if failing {
        if !machine_readable {
            eprintln!("0%...");
            eprintln!("Progress state: NS_ERROR_FAILURE");
        }
        return Err(VBoxError::Com {
            message: vec![
                "Failed to create the host-only adapter".into(),
                "VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory".into(),
            ],
            code: vbox_error::NS_ERROR_FAILURE,
            component: "HostNetworkInterfaceWrap",
            interface: "IHostNetworkInterface",
            context: vbox_error::context("RTEXITCODE handleCreate(HandlerArg *)", 95, "VBoxManageHostonly.cpp"),
            exit: 1,
        });
    }
    ctx.latency.sleep(latency::NETWORK_CHANGE);
    let name = ctx.update(|state| {
        let host = state.host();
        let n = (0..)
            .find(|n| state.hostonly(&host.host_only_name(*n)).is_none())
            .unwrap_or(0);
        let name = host.host_only_name(n);
        state.hostonlyifs.push(HostOnlyIf {
            name: name.clone(),
            guid: format!("786f6276-656e-4{n:x}74-8000-0a00270000{n:02x}"),
            ip: format!("192.168.{}.1", 56 + n.min(199)),
            mask: "255.255.255.0".into(),
            ipv6: String::new(),
            ipv6_len: 0,
            mac: format!("0a:00:27:00:00:{n:02x}"),
            dhcp: false,
        });
        Ok(name)
    })?;
    ctx.sync_networks()?;
    if machine_readable {
        print!("{name}");
    } else {
        ctx.progress(latency::NETWORK_CHANGE);
        println!("Interface '{name}' was successfully created");
    }
    Ok(())
}

fn remove(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    if args.len() != 1 {
        return Err(VBoxError::syntax(
            "Not enough parameters",
            usage::HOSTONLYIF,
        ));
    }
    let name = &args[0];
    ctx.update(|state| {
        let i = state.hostonly(name).ok_or_else(|| not_found(name))?;
        state.hostonlyifs.remove(i);
        Ok(())
    })?;
    ctx.sync_networks()?;
    ctx.progress(latency::NETWORK_CHANGE);
    Ok(())
}

fn ipconfig(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, IPCONFIG_OPTS)
        .map_err(|e| VBoxError::syntax(e.0, usage::HOSTONLYIF))?;
    let mut name = None;
    let (mut dhcp, mut ip, mut mask, mut ipv6, mut len6) = (false, None, None, None, None);
    for item in items {
        match item {
            Item::Positional(p) if name.is_none() => name = Some(p),
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::HOSTONLYIF,
                ));
            }
            Item::Opt { id: "dhcp", .. } => dhcp = true,
            Item::Opt {
                id: "ip", value, ..
            } => ip = value,
            Item::Opt {
                id: "netmask",
                value,
                ..
            } => mask = value,
            Item::Opt {
                id: "ipv6", value, ..
            } => ipv6 = value,
            Item::Opt {
                id: "len6", value, ..
            } => len6 = value.and_then(|v| getopt::parse_u32(&v)),
            Item::Opt { .. } => {}
        }
    }
    let Some(name) = name else {
        return Err(VBoxError::syntax(
            "No interface name was specified",
            usage::HOSTONLYIF,
        ));
    };
    let v4 = ip.is_some() || mask.is_some();
    let v6 = ipv6.is_some() || len6.is_some();
    if dhcp && (v4 || v6) {
        return Err(VBoxError::syntax(
            "You can not use --dhcp with static ip configuration parameters: --ip, --netmask, --ipv6 and --netmasklengthv6.",
            usage::HOSTONLYIF,
        ));
    }
    if v4 && v6 {
        return Err(VBoxError::syntax(
            "You can not use ipv4 configuration (--ip and --netmask) with ipv6 (--ipv6 and --netmasklengthv6) simultaneously.",
            usage::HOSTONLYIF,
        ));
    }
    if !dhcp && ip.is_none() && ipv6.is_none() {
        return Err(VBoxError::syntax(
            "Neither -dhcp nor -ip nor -ipv6 was specfified",
            usage::HOSTONLYIF,
        ));
    }
    let ipconfig_context = vbox_error::context(
        "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())",
        242,
        "VBoxManageHostonly.cpp",
    );
    if let Some(ip_text) = &ip {
        let parsed: Option<Ipv4Addr> = ip_text.parse().ok();
        let mask_ok = mask
            .as_deref()
            .map(|m| m.parse::<Ipv4Addr>().is_ok())
            .unwrap_or(true);
        if parsed.is_none() || !mask_ok {
            return Err(VBoxError::com(
                "Invalid IP address or netmask",
                vbox_error::E_INVALIDARG,
                "HostNetworkInterfaceWrap",
                "IHostNetworkInterface",
                ipconfig_context,
            ));
        }
        if ctx.emu.restricts_hostonly_ranges()
            && ctx.read()?.host().restricts_host_only_ranges()
            && !allowed(
                parsed.unwrap_or(Ipv4Addr::UNSPECIFIED),
                mask.as_deref()
                    .and_then(|mask| mask.parse::<Ipv4Addr>().ok())
                    .map_or(24, |mask| u32::from(mask).leading_ones()),
            )
        {
            return Err(VBoxError::Bare {
                code: vbox_error::E_ACCESSDENIED,
                text: "Access denied",
                context: ipconfig_context,
            });
        }
    }
    ctx.latency.sleep(latency::NETWORK_CHANGE);
    ctx.update(|state| {
        let i = state.hostonly(&name).ok_or_else(|| not_found(&name))?;
        let h = &mut state.hostonlyifs[i];
        if dhcp {
            h.dhcp = true;
        }
        if let Some(ip) = &ip {
            h.dhcp = false;
            h.ip = ip.clone();
            h.mask = mask.clone().unwrap_or_else(|| "255.255.255.0".into());
        }
        if let Some(v6) = &ipv6 {
            h.ipv6 = v6.clone();
            h.ipv6_len = len6.unwrap_or(64);
        }
        Ok(())
    })?;
    ctx.sync_networks()
}

/// Whether VBoxNetAdpCtl lets a host-only interface have `ip` with a `prefix`-bit mask
/// (VBoxNetAdpCtl.cpp, `GlobalNetworkPermissionsConfig::forbids`, 6.1.28+): without a
/// `networks.conf` (`VBOXSIM_NETWORKS_CONF`, else `/etc/vbox/networks.conf`) only
/// 192.168.56.0/21; with one, only the ranges of its lines whose first token is `*` (192.168.56.0/21
/// is then allowed only if listed). An address matches a range when its own prefix is at least
/// the range's (`m_prefix >= allowedPrefix`: 192.168.56.1/16 is refused by the default /21)
/// and its network bits agree; tokens that are not networks are skipped (VirtualBox warns).
pub fn allowed(ip: Ipv4Addr, prefix: u32) -> bool {
    let path =
        std::env::var("VBOXSIM_NETWORKS_CONF").unwrap_or_else(|_| "/etc/vbox/networks.conf".into());
    allowed_by(std::fs::read_to_string(path).ok().as_deref(), ip, prefix)
}

/// [`allowed`] for the text of `networks.conf`, `None` when there is no such file.
fn allowed_by(conf: Option<&str>, ip: Ipv4Addr, prefix: u32) -> bool {
    let ranges: Vec<(Ipv4Addr, u32)> = match conf {
        None => vec![(Ipv4Addr::new(192, 168, 56, 1), 21)],
        Some(text) => text
            .lines()
            .filter_map(|line| {
                let mut tokens = line.split([' ', '\t']).filter(|token| !token.is_empty());
                (tokens.next() == Some("*")).then_some(tokens)
            })
            .flatten()
            .filter_map(|token| {
                let (net, len) = token.split_once('/')?;
                let len: u32 = len.parse().ok().filter(|len| *len <= 32)?;
                Some((net.parse::<Ipv4Addr>().ok()?, len))
            })
            .collect(),
    };
    ranges.iter().any(|(net, len)| {
        let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
        prefix >= *len && (u32::from(ip) & mask) == (u32::from(*net) & mask)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_conf_rules_as_vboxnetadpctl_applies_them() {
        let missing = None;
        let listed =
            Some("# comment\n* 10.0.0.0/8 bogus\n*192.168.0.0/16\n  * 172.16.0.0/12 # end\n");
        let check = |conf: Option<&str>, ip: [u8; 4], prefix: u32| {
            allowed_by(conf, Ipv4Addr::from(ip), prefix)
        };
        assert!(check(missing, [192, 168, 56, 1], 24));
        assert!(check(missing, [192, 168, 63, 1], 24));
        assert!(!check(missing, [192, 168, 64, 1], 24));
        assert!(
            !check(missing, [192, 168, 56, 1], 16),
            "a /16 mask is wider than /21"
        );
        assert!(check(listed, [10, 9, 0, 1], 24));
        assert!(check(listed, [172, 20, 0, 1], 24), "`*` may follow spaces");
        assert!(
            !check(listed, [192, 168, 56, 1], 24),
            "the default is gone once the file exists"
        );
        assert!(
            !check(listed, [192, 168, 1, 1], 24),
            "`*` must be a token of its own"
        );
    }
}
