//! Renders the lab's topology (VMs, networks with their ranges, addresses, `after` edges) as
//! Mermaid (renders on GitHub) or Graphviz DOT.

use std::fmt::Write;

use crate::lab::Lab;
use crate::lab::model::{Network, NetworkKind, Vm};

fn network_label(network: &Network) -> String {
    let range = network
        .cidr()
        .map(|cidr| format!(" {cidr}"))
        .unwrap_or_default();
    let name = match &network.kind {
        NetworkKind::HostOnly {
            interface: Some(interface),
            ..
        } => format!(" ({interface})"),
        NetworkKind::NatNetwork { vbox_name, .. } | NetworkKind::Internal { vbox_name, .. } => {
            format!(" ({vbox_name})")
        }
        _ => String::new(),
    };
    format!("{}{name}: {}{range}", network.name, network.kind_name())
}

fn nic_label(lab: &Lab, vm: &Vm, network: &str) -> String {
    let nic = vm.nic_on(network);
    let address = nic.and_then(|nic| nic.ip).map(|ip| ip.to_string());
    let address = match (address, lab.network(network).map(|network| &network.kind)) {
        (Some(address), _) => address,
        (None, Some(NetworkKind::Nat)) => "10.0.2.15".to_string(),
        (
            None,
            Some(
                NetworkKind::HostOnly { dhcp: Some(_), .. }
                | NetworkKind::NatNetwork { dhcp: Some(_), .. },
            ),
        ) => "DHCP".to_string(),
        (None, _) => String::new(),
    };
    match nic {
        Some(nic) if address.is_empty() => format!("nic{}", nic.slot),
        Some(nic) => format!("nic{} {address}", nic.slot),
        None => address,
    }
}

fn id(prefix: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{safe}")
}

/// The topology as a Mermaid flowchart.
pub fn mermaid(lab: &Lab) -> String {
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(out, "  host[\"host\"]");
    for network in &lab.networks {
        let _ = writeln!(
            out,
            "  {}{{{{\"{}\"}}}}",
            id("net", &network.name),
            network_label(network)
        );
        if matches!(network.kind, NetworkKind::HostOnly { .. }) {
            let host = network
                .gateway()
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  host ---|\"{host}\"| {}", id("net", &network.name));
        }
    }
    for vm in &lab.vms {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{} MB, {} CPU\"]",
            id("vm", &vm.name),
            vm.name,
            vm.memory,
            vm.cpus
        );
        for nic in &vm.nics {
            let _ = writeln!(
                out,
                "  {} ---|\"{}\"| {}",
                id("vm", &vm.name),
                nic_label(lab, vm, &nic.network),
                id("net", &nic.network)
            );
        }
        for dependency in &vm.after {
            let _ = writeln!(
                out,
                "  {} -.->|after| {}",
                id("vm", &vm.name),
                id("vm", dependency)
            );
        }
    }
    out
}

/// The topology as a Graphviz digraph.
pub fn dot(lab: &Lab) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
        lab.name
    );
    let _ = writeln!(out, "  host [shape=box3d, label=\"host\"];");
    for network in &lab.networks {
        let _ = writeln!(
            out,
            "  {} [shape=hexagon, label=\"{}\"];",
            id("net", &network.name),
            network_label(network)
        );
        if matches!(network.kind, NetworkKind::HostOnly { .. }) {
            let host = network
                .gateway()
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  host -> {} [dir=none, label=\"{host}\"];",
                id("net", &network.name)
            );
        }
    }
    for vm in &lab.vms {
        let _ = writeln!(
            out,
            "  {} [shape=box, label=\"{}\\n{} MB, {} CPU\"];",
            id("vm", &vm.name),
            vm.name,
            vm.memory,
            vm.cpus
        );
        for nic in &vm.nics {
            let _ = writeln!(
                out,
                "  {} -> {} [dir=none, label=\"{}\"];",
                id("vm", &vm.name),
                id("net", &nic.network),
                nic_label(lab, vm, &nic.network)
            );
        }
        for dependency in &vm.after {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dashed, label=\"after\"];",
                id("vm", &vm.name),
                id("vm", dependency)
            );
        }
    }
    out.push_str("}\n");
    out
}
