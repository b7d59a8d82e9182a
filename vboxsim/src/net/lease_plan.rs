//! Where each enabled NIC of a starting VM is plugged, and the address the network has set
//! aside for it: a DHCP server's reservation (by VM + slot, else by MAC) or plain NAT's
//! 10.0.2.15. Nothing here configures a guest: a guest gets an address only by asking the
//! network's DHCP server itself (or by static configuration of its own).

use std::net::Ipv4Addr;

use crate::model::lease::{NicLease, Segment};
use crate::model::network::FixedKey;
use crate::model::nic::Attachment;
use crate::model::state::State;

fn prefix_of(mask: &str) -> u32 {
    mask.parse::<Ipv4Addr>()
        .map(|m| u32::from(m).count_ones())
        .unwrap_or(24)
}

/// Where machine `idx`'s enabled NICs are plugged, with their reserved addresses.
pub fn plan(state: &State, idx: usize) -> Vec<NicLease> {
    let m = state.machines[idx].clone();
    let mut out = Vec::new();
    for (i, nic) in m.hw.nics.iter().enumerate() {
        if !nic.enabled() {
            continue;
        }
        let slot = i as u32 + 1;
        let (segment, dhcp_net, gateway) = match nic.attachment {
            Attachment::Hostonly => (
                Segment::HostOnly(nic.hostonly_adapter.clone()),
                Some(format!("HostInterfaceNetworking-{}", nic.hostonly_adapter)),
                None,
            ),
            Attachment::Natnetwork => {
                let gw = state
                    .natnets
                    .iter()
                    .find(|n| n.name == nic.nat_network)
                    .and_then(|n| crate::net::cidr::gateway(&n.cidr).parse().ok());
                let dhcp_on = state
                    .natnets
                    .iter()
                    .any(|n| n.name == nic.nat_network && n.dhcp);
                (
                    Segment::NatNetwork(nic.nat_network.clone()),
                    dhcp_on.then(|| nic.nat_network.clone()),
                    gw,
                )
            }
            Attachment::HostonlyNet => (
                Segment::HostOnlyNet(nic.hostonly_network.clone()),
                None,
                None,
            ),
            Attachment::Intnet => (
                Segment::Intnet(nic.intnet.clone()),
                Some(nic.intnet.clone()),
                None,
            ),
            Attachment::Nat => {
                let (net, len) = if nic.natnet == "nat" || nic.natnet.is_empty() {
                    (Ipv4Addr::new(10, 0, 2, 0), 24)
                } else {
                    crate::net::cidr::parse_cidr(&nic.natnet)
                        .unwrap_or((Ipv4Addr::new(10, 0, 2, 0), 24))
                };
                let base = u32::from(net);
                out.push(NicLease {
                    slot,
                    mac: nic.mac.clone(),
                    cable: nic.cable,
                    segment: Segment::Nat,
                    addr: Some((Ipv4Addr::from(base + 15), len)),
                    gateway: Some(Ipv4Addr::from(base + 2)),
                });
                continue;
            }
            _ => (Segment::Unplugged, None, None),
        };
        let addr = dhcp_net.and_then(|net| lease(state, &net, &m.uuid, slot, &nic.mac));
        out.push(NicLease {
            slot,
            mac: nic.mac.clone(),
            cable: nic.cable,
            segment,
            addr,
            gateway,
        });
    }
    out
}

fn lease(
    state: &State,
    network: &str,
    vm_uuid: &str,
    slot: u32,
    mac: &str,
) -> Option<(Ipv4Addr, u32)> {
    let server = state
        .dhcpservers
        .iter()
        .find(|d| d.network == network && d.enabled)?;
    let prefix = prefix_of(&server.mask);
    let fixed = server
        .fixed
        .iter()
        .find(|f| matches!(&f.key, FixedKey::VmNic { vm_uuid: u, nic, .. } if u == vm_uuid && *nic == slot))
        .or_else(|| server.fixed.iter().find(|f| f.key == FixedKey::Mac(mac.to_string())))?;
    Some((fixed.ip.parse().ok()?, prefix))
}
