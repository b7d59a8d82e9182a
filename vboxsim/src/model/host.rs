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

    /// A path of this machine as VirtualBox on the simulated host prints it. On Windows, paths
    /// are drive-letter paths with backslashes (`C:\Users\me\VirtualBox VMs\web1\web1.vbox`;
    /// IPRT's RTPathAbs on Windows, reference §11.3 `CfgFile`). The world's files live on this
    /// Linux machine, so its root `/` stands for drive `C:\` (a simulation device, not a
    /// VirtualBox behaviour): `/home/me/x.vbox` is shown as `C:\home\me\x.vbox`.
    pub fn shown_path(self, path: &str) -> String {
        if self != Host::Windows || !path.starts_with('/') {
            return path.to_string();
        }
        let backslashed = path.replace('/', "\\");
        // `/D:/x` is how `local_path` keeps a path on another drive.
        let other_drive = path
            .as_bytes()
            .get(1..3)
            .is_some_and(|d| d[0].is_ascii_uppercase() && d[1] == b':');
        if other_drive {
            backslashed[1..].to_string()
        } else {
            format!("C:{backslashed}")
        }
    }

    /// A path given on VBoxManage's command line as this machine's path (`shown_path` undone).
    /// On Windows both separators are accepted (IPRT's RTPATH_IS_SLASH), a drive letter is
    /// case-insensitive, and a path from the root without a drive (`\x` or `/x`) is on the
    /// current drive, C:. A path on another drive names a file this world does not have; it is
    /// kept under `/<letter>:/` so that opening it fails as a missing file does.
    pub fn local_path(self, arg: &str) -> String {
        if self != Host::Windows {
            return arg.to_string();
        }
        let slashed = arg.replace('\\', "/");
        let bytes = slashed.as_bytes();
        if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
            let rest = &slashed[2..];
            if bytes[0].eq_ignore_ascii_case(&b'c') {
                return if rest.starts_with('/') {
                    rest.to_string()
                } else {
                    format!("/{rest}")
                };
            }
            return format!("/{}:{rest}", bytes[0].to_ascii_uppercase() as char);
        }
        slashed
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
    fn windows_shows_paths_on_drive_c_and_reads_them_back() {
        let host = "/home/me/VirtualBox VMs/web1/web1.vbox";
        let shown = Host::Windows.shown_path(host);
        assert_eq!(shown, r"C:\home\me\VirtualBox VMs\web1\web1.vbox");
        assert_eq!(Host::Windows.local_path(&shown), host);
        assert_eq!(
            Host::Windows.local_path(r"c:\home\me\x.ova"),
            "/home/me/x.ova"
        );
        assert_eq!(
            Host::Windows.local_path(r"\home\me\x.ova"),
            "/home/me/x.ova"
        );
        assert_eq!(Host::Windows.local_path("/home/me/x.ova"), "/home/me/x.ova");
        assert_eq!(Host::Windows.local_path(r"labs\x.ova"), "labs/x.ova");
        assert_eq!(Host::Windows.local_path(r"d:\x.ova"), "/D:/x.ova");
        assert_eq!(Host::Windows.shown_path("/D:/x.ova"), r"D:\x.ova");
        assert_eq!(Host::Linux.shown_path(host), host);
        assert_eq!(Host::Macos.local_path(r"a\b"), r"a\b");
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
