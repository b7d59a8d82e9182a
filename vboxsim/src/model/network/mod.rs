//! The host's virtual networks: host-only interfaces, NAT networks and DHCP servers.

mod dhcp_server;
mod host_only_if;
mod host_only_net;
mod nat_network;

pub use dhcp_server::{DhcpServer, FixedAddress, FixedKey, ServerProcess};
pub use host_only_if::HostOnlyIf;
pub use host_only_net::HostOnlyNet;
pub use nat_network::{NatNetRule, NatNetwork};
