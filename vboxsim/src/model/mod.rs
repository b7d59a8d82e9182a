//! The data VirtualBox keeps: machines, NICs, snapshots, networks, leases, identifiers.

pub mod guest_property;
pub mod hardware;
pub mod host;
pub mod ids;
pub mod lease;
pub mod machine;
pub mod network;
pub mod nic;
pub mod snapshot;
pub mod state;
