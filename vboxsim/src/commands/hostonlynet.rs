//! `VBoxManage hostonlynet add|modify|remove`: host-only networks of VirtualBox 7 on macOS
//! (vmnet). Texts from reference §9.3 (VBoxManageHostonly.cpp); the errors for an existing or
//! unknown network are guesses (marked in CONFORMANCE.md). Elsewhere the command does not exist.

use std::net::Ipv4Addr;

use crate::model::network::HostOnlyNet;
use crate::net::dhcp_service;
use crate::vbox::ctx::Ctx;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::VBoxError;

const OPTS: &[Opt] = &[
    Opt::new("--name", "name", Arg::Str),
    Opt::new("--id", "id", Arg::Str),
    Opt::new("--netmask", "netmask", Arg::Str),
    Opt::new("--lower-ip", "lower", Arg::Str),
    Opt::new("--lowerip", "lower", Arg::Str),
    Opt::new("--upper-ip", "upper", Arg::Str),
    Opt::new("--upperip", "upper", Arg::Str),
    Opt::new("--enable", "enable", Arg::None),
    Opt::new("--disable", "disable", Arg::None),
];

#[derive(Default)]
struct Request {
    name: Option<String>,
    id: Option<String>,
    netmask: Option<String>,
    lower: Option<String>,
    upper: Option<String>,
    enable: Option<bool>,
}

fn parse(args: &[String]) -> Result<Request, VBoxError> {
    let items =
        getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::HOSTONLYNET))?;
    let mut r = Request::default();
    for item in items {
        match item {
            Item::Opt { id, value, .. } => {
                let v = value.unwrap_or_default();
                match id {
                    "name" => r.name = Some(v),
                    "id" => r.id = Some(v),
                    "netmask" => r.netmask = Some(v),
                    "lower" => r.lower = Some(v),
                    "upper" => r.upper = Some(v),
                    "enable" => r.enable = Some(true),
                    "disable" => r.enable = Some(false),
                    _ => {}
                }
            }
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::HOSTONLYNET,
                ));
            }
        }
    }
    for (label, value) in [
        ("--netmask", &r.netmask),
        ("--lower-ip", &r.lower),
        ("--upper-ip", &r.upper),
    ] {
        if let Some(v) = value
            && v.parse::<Ipv4Addr>().is_err()
        {
            return Err(VBoxError::argument(format!("Invalid {label} value: {v}")));
        }
    }
    Ok(r)
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(sub) = args.first() else {
        return Err(VBoxError::syntax(
            "Not enough parameters",
            usage::HOSTONLYNET,
        ));
    };
    if !matches!(sub.as_str(), "add" | "modify" | "remove") {
        return Err(VBoxError::syntax(
            format!("Invalid parameter '{sub}'"),
            usage::HOSTONLYNET,
        ));
    }
    let r = parse(&args[1..])?;
    ctx.latency.sleep(latency::NETWORK_CHANGE);
    ctx.update(|state| match sub.as_str() {
        "add" => {
            for (option, value) in [
                ("--name", &r.name),
                ("--netmask", &r.netmask),
                ("--lower-ip", &r.lower),
                ("--upper-ip", &r.upper),
            ] {
                if value.is_none() {
                    return Err(VBoxError::argument(format!(
                        "The {option} parameter must be specified"
                    )));
                }
            }
            let name = r.name.clone().unwrap_or_default();
            if state.hostonlynet(&name).is_some() {
                return Err(VBoxError::failure(format!(
                    "Host-only network '{name}' already exists"
                )));
            }
            state.hostonlynets.push(HostOnlyNet {
                name,
                id: r.id.clone().unwrap_or_else(crate::model::ids::new_uuid),
                netmask: r.netmask.clone().unwrap_or_default(),
                lower: r.lower.clone().unwrap_or_default(),
                upper: r.upper.clone().unwrap_or_default(),
                enabled: r.enable.unwrap_or(true),
                process: None,
            });
            Ok(())
        }
        _ => {
            if r.name.is_none() && r.id.is_none() {
                return Err(VBoxError::argument(
                    "Either --name or --id parameter must be specified",
                ));
            }
            let i = state
                .hostonlynets
                .iter()
                .position(|n| Some(&n.name) == r.name.as_ref() || Some(&n.id) == r.id.as_ref())
                .ok_or_else(|| {
                    VBoxError::failure(format!(
                        "Host-only network '{}' not found",
                        r.name.clone().or(r.id.clone()).unwrap_or_default()
                    ))
                })?;
            if sub == "remove" {
                if let Some(process) = state.hostonlynets[i].process.take() {
                    dhcp_service::stop(process);
                }
                state.hostonlynets.remove(i);
                return Ok(());
            }
            let n = &mut state.hostonlynets[i];
            if let Some(v) = &r.netmask {
                n.netmask = v.clone();
            }
            if let Some(v) = &r.lower {
                n.lower = v.clone();
            }
            if let Some(v) = &r.upper {
                n.upper = v.clone();
            }
            if let Some(e) = r.enable {
                n.enabled = e;
            }
            Ok(())
        }
    })?;
    ctx.sync_networks()
}
