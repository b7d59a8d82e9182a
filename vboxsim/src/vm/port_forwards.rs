//! The port forwards of a running VM, whatever runs its guest: NAT adapters' rules (dialled
//! through the adapter's NAT engine) and NAT network rules whose guest address is this VM's
//! (dialled directly from the world's host).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::model::lease::{NicLease, Segment};
use crate::model::machine::Machine;
use crate::model::state::State;
use crate::net::nat_engine::NatEngine;
use crate::net::relay::{Connector, Forwarder};

/// Starts every forward of `m` whose NIC has a lease; a rule that cannot listen is reported
/// in the VM's log and skipped, as VirtualBox's NAT does.
pub fn start(
    m: &Machine,
    state: &State,
    leases: &[NicLease],
    engines: &[(u32, NatEngine)],
) -> Vec<Forwarder> {
    let mut forwarders = natnet_forwarders(state, leases);
    for l in leases {
        let Some(nic) = m.hw.nics.get(l.slot as usize - 1) else {
            continue;
        };
        let Some((_, engine)) = engines.iter().find(|(s, _)| *s == l.slot) else {
            continue;
        };
        let default_ip = l
            .addr
            .map(|(a, _)| a)
            .unwrap_or(Ipv4Addr::new(10, 0, 2, 15));
        for r in nic.nat_rules.iter().filter(|r| r.proto == "tcp") {
            let host_ip: Ipv4Addr = r.host_ip.parse().unwrap_or(Ipv4Addr::LOCALHOST);
            let guest_ip: Ipv4Addr = r.guest_ip.parse().unwrap_or(default_ip);
            match Forwarder::start(
                SocketAddr::from((host_ip, r.host_port)),
                SocketAddr::from((guest_ip, r.guest_port)),
                engine.connector(),
            ) {
                Ok(f) => forwarders.push(f),
                Err(e) => eprintln!("vboxsim: NAT rule '{}': {e}", r.name),
            }
        }
    }
    forwarders
}

fn natnet_forwarders(state: &State, leases: &[NicLease]) -> Vec<Forwarder> {
    let direct: Connector =
        Arc::new(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)));
    let mut forwarders = Vec::new();
    for l in leases {
        let (Segment::NatNetwork(net), Some((addr, _))) = (&l.segment, l.addr) else {
            continue;
        };
        let Some(n) = state.natnets.iter().find(|n| &n.name == net) else {
            continue;
        };
        for r in n
            .rules
            .iter()
            .filter(|r| r.proto == "tcp" && r.guest_ip == addr.to_string())
        {
            let host_ip: Ipv4Addr = r.host_ip.parse().unwrap_or(Ipv4Addr::LOCALHOST);
            match Forwarder::start(
                SocketAddr::from((host_ip, r.host_port)),
                SocketAddr::from((addr, r.guest_port)),
                direct.clone(),
            ) {
                Ok(f) => forwarders.push(f),
                Err(e) => eprintln!("vboxsim: NAT network rule '{}': {e}", r.name),
            }
        }
    }
    forwarders
}
