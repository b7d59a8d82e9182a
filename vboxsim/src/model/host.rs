//! The host a simulated VirtualBox runs on. It decides what differs between VirtualBox on
//! Linux, macOS and Windows: on macOS, VirtualBox 7 has host-only *networks* (vmnet,
//! `hostonlynet`) and no host-only interfaces (`hostonlyif create` fails: reference §9.2,
//! Vagrant issues #12959/#12983); on Windows, host-only adapters are named `VirtualBox Host-Only
//! Ethernet Adapter`, `… #2`, and the 6.1.28+ allowed-range rule does not apply (reference
//! §3.2, §9.4).

use serde::{Deserialize, Serialize};

use crate::vbox::emulation::Emulation;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Host {
    #[default]
    Linux,
    Macos,
    Windows,
}

impl Host {
    pub const NAMES: &'static str = "linux, macos, windows";

    pub fn parse(name: &str) -> Option<Host> {
        match name {
            "linux" => Some(Host::Linux),
            "macos" => Some(Host::Macos),
            "windows" => Some(Host::Windows),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Host::Linux => "linux",
            Host::Macos => "macos",
            Host::Windows => "windows",
        }
    }

    /// What `list hostinfo` calls the operating system (RTSystemQueryOSInfo's product name).
    pub fn os_name(self) -> &'static str {
        match self {
            Host::Linux => "Linux",
            Host::Macos => "Darwin",
            Host::Windows => "Windows",
        }
    }

    /// VirtualBox 7 on macOS: host-only networks (vmnet) instead of host-only interfaces.
    pub fn has_vmnet(self, emu: &Emulation) -> bool {
        self == Host::Macos && emu.family >= crate::vbox::emulation::Family::V7_0
    }

    /// The name VirtualBox gives the `n`-th host-only interface it creates (0-based).
    pub fn host_only_name(self, n: usize) -> String {
        match (self, n) {
            (Host::Windows, 0) => "VirtualBox Host-Only Ethernet Adapter".into(),
            (Host::Windows, n) => format!("VirtualBox Host-Only Ethernet Adapter #{}", n + 1),
            (_, n) => format!("vboxnet{n}"),
        }
    }

    /// The program name VBoxManage's errors start with: IPRT prints the executable's file name
    /// (reference §1.3), `VBoxManage.exe` on Windows.
    pub fn program_name(self) -> &'static str {
        match self {
            Host::Windows => "VBoxManage.exe",
            Host::Linux | Host::Macos => "VBoxManage",
        }
    }

    /// The `callee` of an API error's Details line: XPCOM's `nsISupports` on Linux and macOS,
    /// COM's `IUnknown` on Windows (reference §1.5).
    pub fn com_callee(self) -> &'static str {
        match self {
            Host::Windows => "IUnknown",
            Host::Linux | Host::Macos => "nsISupports",
        }
    }

    /// The name of a COM status code as VirtualBox prints it: 0x80004005 is XPCOM's
    /// `NS_ERROR_FAILURE` on Linux and macOS, `E_FAIL` on Windows (reference §1.5).
    pub fn code_name(self, name: &'static str) -> &'static str {
        match (self, name) {
            (Host::Windows, "NS_ERROR_FAILURE") => "E_FAIL",
            (_, name) => name,
        }
    }

    /// The 6.1.28+ allowed host-only ranges apply on Linux and macOS only.
    pub fn restricts_host_only_ranges(self) -> bool {
        self != Host::Windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_its_adapters_with_a_number_from_the_second() {
        assert_eq!(
            Host::Windows.host_only_name(0),
            "VirtualBox Host-Only Ethernet Adapter"
        );
        assert_eq!(
            Host::Windows.host_only_name(1),
            "VirtualBox Host-Only Ethernet Adapter #2"
        );
        assert_eq!(Host::Linux.host_only_name(1), "vboxnet1");
    }

    #[test]
    fn windows_names_com_failures_the_com_way() {
        assert_eq!(Host::Windows.code_name("NS_ERROR_FAILURE"), "E_FAIL");
        assert_eq!(
            Host::Linux.code_name("NS_ERROR_FAILURE"),
            "NS_ERROR_FAILURE"
        );
        assert_eq!(
            Host::Windows.code_name("VBOX_E_OBJECT_NOT_FOUND"),
            "VBOX_E_OBJECT_NOT_FOUND"
        );
        assert_eq!(Host::Windows.com_callee(), "IUnknown");
        assert_eq!(Host::Macos.com_callee(), "nsISupports");
    }
}
