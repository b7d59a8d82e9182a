//! Real networks of a world: bridges for host-only interfaces, NAT networks and internal
//! networks in the world's network namespace, and the plumbing around them.

pub mod cidr;
pub mod dhcp_service;
pub mod host_net;
pub mod lease_plan;
pub mod nat_engine;
pub mod nat_network_service;
pub mod relay;
