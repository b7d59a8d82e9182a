//! `VBoxManage natnetwork add|modify|remove|start|stop|list`.

use crate::model::network::{NatNetRule, NatNetwork};
use crate::model::state::State;
use crate::net::nat_network_service;
use crate::vbox::ctx::Ctx;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const OPTS_61: &[Opt] = &[
    Opt::new("--netname", "netname", Arg::Str),
    Opt::new("-t", "netname", Arg::Str),
    Opt::new("--network", "network", Arg::Str),
    Opt::new("-n", "network", Arg::Str),
    Opt::new("--dhcp", "dhcp", Arg::Bool),
    Opt::new("-h", "dhcp", Arg::Bool),
    Opt::new("--ipv6", "ipv6", Arg::Bool),
    Opt::new("-6", "ipv6", Arg::Bool),
    Opt::new("--enable", "enable", Arg::None),
    Opt::new("-e", "enable", Arg::None),
    Opt::new("--disable", "disable", Arg::None),
    Opt::new("-d", "disable", Arg::None),
    Opt::new("--port-forward-4", "pf4", Arg::Str),
    Opt::new("-p", "pf4", Arg::Str),
    Opt::new("--port-forward-6", "pf6", Arg::Str),
    Opt::new("-P", "pf6", Arg::Str),
    Opt::new("--loopback-4", "lo4", Arg::Str),
    Opt::new("-l", "lo4", Arg::Str),
    Opt::new("--loopback-6", "lo6", Arg::Str),
    Opt::new("-L", "lo6", Arg::Str),
];

const OPTS_7: &[Opt] = &[
    Opt::new("--ipv4-prefix", "network", Arg::Str),
    Opt::new("--ipv6-enable", "ipv6", Arg::Bool),
    Opt::new("--ipv6-prefix", "ipv6prefix", Arg::Str),
    Opt::new("--ipv6-default", "ipv6default", Arg::Bool),
];

pub use crate::net::cidr::{gateway, parse_cidr};

pub fn rule_lists(n: &NatNetwork, out: &mut String) {
    if !n.rules.is_empty() {
        out.push_str("Port-forwarding (ipv4)\n");
        for r in &n.rules {
            out.push_str(&format!("        {}\n", r.render()));
        }
    }
    if !n.loopback.is_empty() {
        out.push_str("loopback mappings (ipv4)\n");
        for l in &n.loopback {
            out.push_str(&format!("        {l}\n"));
        }
    }
}

/// The 7.x `natnetwork list` / `list [--long] natnets` text.
pub fn listing(state: &State, filter: Option<&str>, long: bool) -> String {
    let mut out = String::from("NAT Networks:\n\n");
    let mut count = 0;
    for n in &state.natnets {
        if let Some(f) = filter
            && !crate::model::guest_property::pattern_matches(f, &n.name)
        {
            continue;
        }
        count += 1;
        out.push_str(&format!("Name:         {}\n", n.name));
        if long {
            out.push_str(&format!("Enabled:      {}\n", yes_no(n.enabled)));
        }
        out.push_str(&format!("Network:      {}\n", n.cidr));
        out.push_str(&format!("Gateway:      {}\n", gateway(&n.cidr)));
        out.push_str(&format!("DHCP Server:  {}\n", yes_no(n.dhcp)));
        out.push_str(&format!("IPv6:         {}\n", yes_no(n.ipv6)));
        out.push_str(&format!("IPv6 Prefix:  {}\n", n.ipv6_prefix));
        out.push_str(&format!("IPv6 Default: {}\n", yes_no(n.ipv6_default)));
        // printNATNetwork (VBoxManageNATNetwork.cpp): rules and loopback mappings only in the
        // long form (`natnetwork list`, `list --long natnets`).
        if long {
            rule_lists(n, &mut out);
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{count} {} found\n",
        if count == 1 { "network" } else { "networks" }
    ));
    out
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(sub) = args.first() else {
        return Err(VBoxError::syntax(
            "Not enough parameters",
            usage::NATNETWORK,
        ));
    };
    let rest = &args[1..];
    if sub == "list" {
        if rest.len() > 1 {
            return Err(VBoxError::syntax(
                format!("Invalid parameter '{}'", rest[1]),
                usage::NATNETWORK,
            ));
        }
        let state = ctx.read()?;
        print!(
            "{}",
            listing(&state, rest.first().map(String::as_str), true)
        );
        return Ok(());
    }
    if !matches!(sub.as_str(), "add" | "modify" | "remove" | "start" | "stop") {
        return Err(VBoxError::syntax(
            format!("Invalid parameter '{sub}'"),
            usage::NATNETWORK,
        ));
    }
    let mut opts: Vec<Opt> = OPTS_61.to_vec();
    if ctx.v7() {
        opts.extend_from_slice(OPTS_7);
    }
    let items =
        getopt::parse(rest, &opts).map_err(|e| VBoxError::syntax(e.0, usage::NATNETWORK))?;
    let mut req = Request::default();
    for item in items {
        match item {
            Item::Positional(p)
                if req.pf4.last().map(String::as_str) == Some("delete") && !req.delete_named =>
            {
                req.pf4.push(p);
                req.delete_named = true;
            }
            Item::Positional(p) => {
                return Err(VBoxError::syntax(
                    format!("Invalid parameter '{p}'"),
                    usage::NATNETWORK,
                ));
            }
            Item::Opt {
                id, name, value, ..
            } => {
                req.delete_named = false;
                req.set(id, name, value)?
            }
        }
    }
    let Some(netname) = req.netname.clone() else {
        return Err(VBoxError::argument(
            "You need to specify the --netname option",
        ));
    };
    let is_change = matches!(sub.as_str(), "add" | "modify");
    if !is_change && req.has_settings() {
        return Err(VBoxError::syntax("Invalid parameter", usage::NATNETWORK));
    }
    ctx.latency.sleep(latency::NETWORK_CHANGE);
    ctx.update(|state| natnet_change(ctx, state, sub, &netname, &req))?;
    ctx.sync_networks()
}

fn natnet_change(
    ctx: &Ctx,
    state: &mut State,
    sub: &str,
    netname: &str,
    req: &Request,
) -> Result<(), VBoxError> {
    let netname = netname.to_string();
    match sub {
        "add" => {
            let Some(network) = req.network.clone() else {
                return Err(VBoxError::argument(
                    "You need to specify the --network option",
                ));
            };
            if state.natnet(&netname).is_some() {
                return Err(VBoxError::argument("NATNetwork server already exists"));
            }
            if parse_cidr(&network).is_none() {
                return Err(
                    VBoxError::argument(format!("Invalid network '{network}'")).with_exit(1)
                );
            }
            let mut n = NatNetwork {
                name: netname.clone(),
                cidr: network,
                enabled: true,
                dhcp: true,
                ipv6: false,
                ipv6_prefix: "fd17:625c:f037:2::/64".into(),
                ipv6_default: false,
                rules: Vec::new(),
                loopback: Vec::new(),
                started: false,
            };
            // The DHCP server object is made when the network first starts, not here
            // (NATNetwork::setNeedDhcpServer only records the wish).
            req.apply(&mut n)?;
            state.natnets.push(n);
            Ok(())
        }
        "modify" => {
            let i = state
                .natnet(&netname)
                .ok_or_else(|| VBoxError::argument("NATNetwork server does not exist"))?;
            let mut n = state.natnets[i].clone();
            req.apply(&mut n)?;
            state.natnets[i] = n;
            Ok(())
        }
        "remove" => {
            let i = state
                .natnet(&netname)
                .ok_or_else(|| VBoxError::argument("NATNetwork server does not exist"))?;
            // removeNATNetwork leaves the DHCP server object behind (VirtualBoxImpl.cpp); its
            // process stops with the network.
            nat_network_service::stop(state, &netname);
            state.natnets.remove(i);
            Ok(())
        }
        "start" | "stop" => {
            if state.natnet(&netname).is_none() {
                return Err(VBoxError::argument("NATNetwork server does not exist"));
            }
            if sub == "start" {
                // NATNetwork::start fails without error info: VBoxManage prints the bare code and
                // context, then its own line (errorArgument: exit 2).
                nat_network_service::start(&ctx.store, state, &netname, ctx.emu.family).map_err(
                    |_| VBoxError::Chain {
                        first: Box::new(VBoxError::Bare {
                            code: vbox_error::E_FAIL,
                            text: "Unspecified error",
                            context: vbox_error::context(
                                "Start()",
                                621,
                                "VBoxManageNATNetwork.cpp",
                            ),
                        }),
                        then: vec!["Failed to start network".into()],
                        exit: 2,
                    },
                )
            } else {
                nat_network_service::stop(state, &netname);
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[derive(Default)]
struct Request {
    netname: Option<String>,
    network: Option<String>,
    enable: Option<bool>,
    dhcp: Option<bool>,
    ipv6: Option<bool>,
    ipv6_prefix: Option<String>,
    ipv6_default: Option<bool>,
    pf4: Vec<String>,
    lo4: Vec<String>,
    delete_named: bool,
    seen: Vec<&'static str>,
}

impl Request {
    fn has_settings(&self) -> bool {
        self.network.is_some()
            || self.enable.is_some()
            || self.dhcp.is_some()
            || self.ipv6.is_some()
            || !self.pf4.is_empty()
            || !self.lo4.is_empty()
    }

    fn once(&mut self, id: &'static str, name: &str) -> Result<(), VBoxError> {
        if self.seen.contains(&id) {
            return Err(VBoxError::argument(format!(
                "You can specify {name} only once."
            )));
        }
        self.seen.push(id);
        Ok(())
    }

    fn set(
        &mut self,
        id: &'static str,
        name: &'static str,
        value: Option<String>,
    ) -> Result<(), VBoxError> {
        let v = value.unwrap_or_default();
        match id {
            "netname" => {
                self.once(id, "--netname")?;
                self.netname = Some(v);
            }
            "network" => {
                self.once(id, name)?;
                self.network = Some(v);
            }
            "enable" | "disable" => {
                self.once("enable", "--enable/--disable")?;
                self.enable = Some(id == "enable");
            }
            "dhcp" => {
                self.once(id, name)?;
                self.dhcp = getopt::parse_bool(&v);
            }
            "ipv6" => {
                self.once(id, name)?;
                self.ipv6 = getopt::parse_bool(&v);
            }
            "ipv6prefix" => self.ipv6_prefix = Some(v),
            "ipv6default" => self.ipv6_default = getopt::parse_bool(&v),
            "pf4" => self.pf4.push(v),
            "pf6" => {}
            "lo4" => self.lo4.push(v),
            _ => {}
        }
        Ok(())
    }

    fn apply(&self, n: &mut NatNetwork) -> Result<(), VBoxError> {
        if let Some(net) = &self.network {
            if parse_cidr(net).is_none() {
                return Err(VBoxError::argument(format!("Invalid network '{net}'")).with_exit(1));
            }
            n.cidr = net.clone();
        }
        if let Some(e) = self.enable {
            n.enabled = e;
        }
        if let Some(d) = self.dhcp {
            n.dhcp = d;
        }
        if let Some(v) = self.ipv6 {
            n.ipv6 = v;
        }
        if let Some(p) = &self.ipv6_prefix {
            n.ipv6_prefix = p.clone();
        }
        if let Some(v) = self.ipv6_default {
            n.ipv6_default = v;
        }
        let mut i = 0;
        while i < self.pf4.len() {
            let rule = &self.pf4[i];
            if rule == "delete" {
                let Some(name) = self.pf4.get(i + 1) else {
                    return Err(VBoxError::argument(format!(
                        "Invalid port-forward rule {rule}"
                    )));
                };
                n.rules.retain(|r| &r.name != name);
                i += 2;
                continue;
            }
            let parsed = NatNetRule::parse(rule)
                .ok_or_else(|| VBoxError::argument(format!("Invalid port-forward rule {rule}")))?;
            if n.rules.iter().any(|r| r.name == parsed.name) {
                return Err(VBoxError::com(
                    "A NAT rule of this name already exists",
                    crate::vbox::vbox_error::NS_ERROR_INVALID_ARG,
                    "NATNetworkWrap",
                    "INATNetwork",
                    crate::vbox::vbox_error::context(
                        "AddPortForwardRule(RT_BOOL(fIPv6), Bstr(Pfd.szName).raw(), enmProtocol, Bstr(Pfd.szSrcIp).raw(), Pfd.u16SrcPort, Bstr(Pfd.szDstIp).raw(), Pfd.u16DstPort)",
                        381,
                        "VBoxManageNATNetwork.cpp",
                    ),
                ));
            }
            n.rules.push(parsed);
            i += 1;
        }
        for lo in &self.lo4 {
            if lo.split_once('=').is_none() {
                return Err(VBoxError::argument(format!(
                    "Invalid loopback mapping {lo}"
                )));
            }
            n.loopback.push(lo.clone());
        }
        Ok(())
    }
}

/// `Yes`/`No`, as VBoxManage's listings say a flag.
pub fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_gateway_are_reexported() {
        assert_eq!(gateway("10.0.9.0/24"), "10.0.9.1");
        assert_eq!(parse_cidr("10.0.9.7/24").unwrap().0.to_string(), "10.0.9.0");
        assert!(parse_cidr("10.0.9.0").is_none());
        use crate::net::nat_network_service::default_dhcp;
        use crate::vbox::emulation::Family;
        let d = default_dhcp("n", "10.0.9.0/24", Family::V7_1).unwrap();
        assert_eq!(
            (d.ip.as_str(), d.lower.as_str(), d.upper.as_str()),
            ("10.0.9.3", "10.0.9.4", "10.0.9.254")
        );
        let d = default_dhcp("n", "10.0.9.0/24", Family::V7_2).unwrap();
        assert_eq!(
            (d.ip.as_str(), d.lower.as_str(), d.upper.as_str()),
            ("10.0.9.2", "10.0.9.3", "10.0.9.254")
        );
    }
}
