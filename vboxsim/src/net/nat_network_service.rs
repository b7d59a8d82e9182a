//! A NAT network's service as VirtualBox runs it. `NATNetwork::start` (Main/src-server/
//! NATNetworkImpl.cpp) creates the network's DHCP server object on the first start when the
//! network wants DHCP (`natnetwork add --dhcp on` only sets a flag), with the server at `.3` and
//! the pool from `.4` to the last host address (`i_recalculateIpv4AddressAssignments`), and
//! starts it; an existing object is started as it is. The service runs while VMs use the network:
//! the first VM to power up starts it, the last to stop stops it (VirtualBoxImpl.cpp
//! `i_natNetworkRefInc`/`i_natNetworkRefDec`), and `natnetwork start|stop` do the same by hand.

use std::net::Ipv4Addr;

use crate::model::machine::PowerState;
use crate::model::network::DhcpServer;
use crate::model::nic::Attachment;
use crate::model::state::State;
use crate::net::{cidr, dhcp_service};
use crate::store::Store;
use crate::vbox::emulation::Family;

/// The DHCP server object `NATNetwork::start` creates for a network of `cidr`: its address is
/// the first offset `i_findFirstAvailableOffset` finds, the pool starts at the next. Up to 7.1
/// the offset skips the host loopback mapping every new network has (`127.0.0.1=2`), so .3 and
/// .4 (NATNetworkImpl.cpp 7.1.12, lines 1074–1120); 7.2's loop no longer skips it, so .2 and .3
/// (NATNetworkImpl.cpp of 7.2.0; VirtualBox/virtualbox issue #627 reports the .3 pool on 7.2.6).
pub fn default_dhcp(name: &str, network: &str, family: Family) -> Option<DhcpServer> {
    let (net, len) = cidr::parse_cidr(network)?;
    let base = u32::from(net);
    let mask = u32::MAX << (32 - len);
    let broadcast = base | !mask;
    let server = if family >= Family::V7_2 { 2 } else { 3 };
    Some(DhcpServer {
        network: name.to_string(),
        ip: Ipv4Addr::from(base + server).to_string(),
        mask: Ipv4Addr::from(mask).to_string(),
        lower: Ipv4Addr::from(base + server + 1).to_string(),
        upper: Ipv4Addr::from(broadcast - 1).to_string(),
        enabled: true,
        fixed: Vec::new(),
        process: None,
    })
}

/// Starts the NAT network's service: its DHCP server (created first when missing). A disabled
/// network starts nothing.
pub fn start(store: &Store, state: &mut State, name: &str, family: Family) -> Result<(), String> {
    let Some(i) = state.natnet(name) else {
        return Ok(());
    };
    let natnet = state.natnets[i].clone();
    if !natnet.enabled {
        return Ok(());
    }
    state.natnets[i].started = true;
    if !natnet.dhcp {
        return Ok(());
    }
    if state.dhcp(name).is_none()
        && let Some(server) = default_dhcp(name, &natnet.cidr, family)
    {
        state.dhcpservers.push(server);
    }
    dhcp_service::ensure_running(store, state, name)
}

/// Stops the NAT network's service (its DHCP server; the object stays).
pub fn stop(state: &mut State, name: &str) {
    if let Some(i) = state.natnet(name) {
        state.natnets[i].started = false;
    }
    if let Some(i) = state.dhcp(name)
        && let Some(process) = state.dhcpservers[i].process.take()
    {
        dhcp_service::stop(process);
    }
}

/// The VM `uuid` stopped: NAT networks no other running VM uses stop.
pub fn release(state: &mut State, uuid: &str) {
    let Some(idx) = state.find(uuid) else {
        return;
    };
    let used: Vec<String> = state.machines[idx]
        .hw
        .nics
        .iter()
        .filter(|nic| nic.enabled() && nic.attachment == Attachment::Natnetwork)
        .map(|nic| nic.nat_network.clone())
        .collect();
    for name in used {
        let still_used = state.machines.iter().any(|m| {
            m.uuid != uuid
                && m.session.is_some()
                && matches!(m.state, PowerState::Running | PowerState::Paused)
                && m.hw.nics.iter().any(|nic| {
                    nic.enabled()
                        && nic.attachment == Attachment::Natnetwork
                        && nic.nat_network == name
                })
        });
        if !still_used {
            stop(state, &name);
        }
    }
}
