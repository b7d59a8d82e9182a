//! A classic host-only interface (`vboxnetN`) of the host.

use serde::{Deserialize, Serialize};

/// A classic host-only interface (`vboxnetN`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostOnlyIf {
    pub name: String,
    pub guid: String,
    pub ip: String,
    pub mask: String,
    pub ipv6: String,
    pub ipv6_len: u32,
    pub mac: String,
    pub dhcp: bool,
}

impl HostOnlyIf {
    pub fn network_name(&self) -> String {
        format!("HostInterfaceNetworking-{}", self.name)
    }
}
