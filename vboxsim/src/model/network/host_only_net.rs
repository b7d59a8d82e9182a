//! A host-only network of VirtualBox 7 on macOS (`hostonlynet add`, vmnet): a network whose DHCP
//! range is the lower/upper addresses given at creation, with no reservations; the host gets the
//! network's first address (reference §9.3; the host address is macOS vmnet's behaviour, not
//! verified in VirtualBox's source: a guess).

use serde::{Deserialize, Serialize};

use super::ServerProcess;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostOnlyNet {
    pub name: String,
    pub id: String,
    pub netmask: String,
    pub lower: String,
    pub upper: String,
    pub enabled: bool,
    /// vmnet's DHCP server for the network, while it runs.
    #[serde(default)]
    pub process: Option<ServerProcess>,
}

impl HostOnlyNet {
    /// `VBoxNetworkName` in `list hostonlynets`.
    pub fn network_name(&self) -> String {
        format!("hostonly-{}", self.name)
    }
}
