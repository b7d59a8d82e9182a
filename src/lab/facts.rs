//! Lab facts: the values templates see (VMs, addresses, MACs, networks, the lab's own vars),
//! and rendering templates with them.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::model::{Lab, MacAddress, Network, NetworkKind, TemplateText, Vm};
use super::source::Span;
use super::template_check::template_environment;

/// What only the running lab knows: MACs VirtualBox has, addresses leased by DHCP.
#[derive(Debug, Clone, Default)]
pub struct RuntimeFacts {
    /// MAC of each adapter, by (VM name, slot).
    pub macs: HashMap<(String, u8), MacAddress>,
    /// Leased address of adapters without a fixed one, by (VM name, slot).
    pub leases: HashMap<(String, u8), Ipv4Addr>,
}

/// A template that failed to render, with where it is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    /// What went wrong.
    pub message: String,
    /// Where in the lab file or template file.
    pub span: Span,
}

/// The template context of a lab, without `vm`.
pub fn lab_context(lab: &Lab, runtime: &RuntimeFacts) -> Value {
    let vms: Map<String, Value> = lab
        .vms
        .iter()
        .map(|vm| (vm.name.clone(), vm_value(lab, vm, runtime)))
        .collect();
    let mut groups: Map<String, Value> = Map::new();
    for vm in &lab.vms {
        let entry = groups
            .entry(vm.group.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(vms[&vm.name].clone());
        }
    }
    let networks: Map<String, Value> = lab
        .networks
        .iter()
        .map(|network| (network.name.clone(), network_value(network)))
        .collect();
    json!({
        "lab": { "name": lab.name, "description": lab.description },
        "vars": lab.vars,
        "vms": vms,
        "groups": groups,
        "networks": networks,
    })
}

/// The context for rendering a template for one VM: the lab context plus `vm`.
pub fn vm_context(lab_context: &Value, vm: &str) -> Value {
    let mut context = lab_context.clone();
    let this = lab_context["vms"][vm].clone();
    if let Value::Object(map) = &mut context {
        map.insert("vm".into(), this);
    }
    context
}

/// Renders a template with a context.
pub fn render(template: &TemplateText, context: &Value) -> Result<String, RenderError> {
    if !template.is_template() {
        return Ok(template.source.clone());
    }
    let env = template_environment();
    env.render_str(
        &template.source,
        minijinja::Value::from(minijinja::value::Serde(context)),
    )
    .map_err(|error| {
        let range = error.range().unwrap_or(0..template.source.len());
        RenderError {
            message: format!(
                "template error: {}",
                error.detail().unwrap_or(&error.to_string())
            ),
            span: template.span_of(range),
        }
    })
}

fn vm_value(lab: &Lab, vm: &Vm, runtime: &RuntimeFacts) -> Value {
    let mut ips = Map::new();
    let mut macs = Map::new();
    let mut nics = Vec::new();
    for nic in &vm.nics {
        let ip = nic
            .ip
            .or_else(|| runtime.leases.get(&(vm.name.clone(), nic.slot)).copied())
            .or_else(|| {
                matches!(
                    lab.network(&nic.network).map(|n| &n.kind),
                    Some(NetworkKind::Nat)
                )
                .then(|| Ipv4Addr::new(10, 0, 2, 15))
            });
        let mac = nic
            .mac
            .or_else(|| runtime.macs.get(&(vm.name.clone(), nic.slot)).copied());
        if let Some(ip) = ip {
            ips.entry(nic.network.clone())
                .or_insert(Value::String(ip.to_string()));
        }
        if let Some(mac) = mac {
            macs.entry(nic.network.clone())
                .or_insert(Value::String(mac.to_string()));
        }
        nics.push(json!({
            "slot": nic.slot,
            "net": nic.network,
            "ip": ip.map(|ip| ip.to_string()),
            "mac": mac.map(|mac| mac.to_string()),
        }));
    }
    let primary = match &vm.ssh {
        super::model::SshRoute::Address { ip, .. } => Some(ip.to_string()),
        super::model::SshRoute::Leased { network, .. } => {
            ips.get(network).and_then(Value::as_str).map(str::to_string)
        }
        super::model::SshRoute::Forward { .. } => None,
    }
    .or_else(|| {
        vm.nics
            .iter()
            .find_map(|nic| nic.ip.map(|ip| ip.to_string()))
    });
    json!({
        "name": vm.name,
        "vbox_name": vm.vbox_name,
        "group": vm.group,
        "index": vm.index,
        "count": vm.count,
        "image": vm.image,
        "memory": vm.memory,
        "cpus": vm.cpus,
        "ip": primary,
        "ips": ips,
        "macs": macs,
        "nics": nics,
    })
}

fn network_value(network: &Network) -> Value {
    let cidr = network.cidr();
    let vbox_name = match &network.kind {
        NetworkKind::HostOnly { interface, .. } => interface.clone(),
        NetworkKind::NatNetwork { vbox_name, .. } | NetworkKind::Internal { vbox_name, .. } => {
            Some(vbox_name.clone())
        }
        NetworkKind::Nat => None,
    };
    let dhcp = network.dhcp();
    json!({
        "name": network.name,
        "type": network.kind_name(),
        "vbox_name": vbox_name,
        "cidr": cidr.map(|cidr| cidr.to_string()),
        "prefix": cidr.map(|cidr| cidr.prefix_len()),
        "netmask": cidr.map(|cidr| cidr.netmask().to_string()),
        "host": match &network.kind { NetworkKind::HostOnly { host, .. } => Some(host.to_string()), _ => None },
        "gateway": network.gateway().map(|gateway| gateway.to_string()),
        "dhcp_server": dhcp.map(|dhcp| dhcp.server.to_string()),
        "dhcp_lower": dhcp.map(|dhcp| dhcp.lower.to_string()),
        "dhcp_upper": dhcp.map(|dhcp| dhcp.upper.to_string()),
    })
}
