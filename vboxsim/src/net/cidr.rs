//! IPv4 ranges as VirtualBox's network commands take them (`10.0.2.0/24`), and the gateway a NAT
//! network puts at `.1`. Shared by the commands, the model and the world's networks.

use std::net::Ipv4Addr;

/// The gateway (`.1`) of a NAT network's CIDR.
pub fn gateway(cidr: &str) -> String {
    match parse_cidr(cidr) {
        Some((net, _)) => Ipv4Addr::from(u32::from(net) + 1).to_string(),
        None => String::new(),
    }
}

/// `10.0.2.0/24` → (network address, prefix length).
pub fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if !(1..=30).contains(&len) {
        return None;
    }
    let mask = u32::MAX << (32 - len);
    Some((Ipv4Addr::from(u32::from(ip) & mask), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_gateway() {
        assert_eq!(gateway("10.0.9.0/24"), "10.0.9.1");
        assert_eq!(parse_cidr("10.0.9.7/24").unwrap().0.to_string(), "10.0.9.0");
        assert!(parse_cidr("10.0.9.0/31").is_none());
    }
}
