//! What labctl configures inside a guest after it boots, and the shell script that does it.
//!
//! An appliance brings up only the NIC it was installed with (the course's appliance: `eth0` by
//! DHCP through ifupdown, seed 003 step 5; Ubuntu's: `enp0s3` through netplan), so labctl logs in
//! over adapter 1 and configures every other lab NIC itself, found by MAC (the guest names its
//! NICs its own way): DHCP where the network has VirtualBox's DHCP server (the lab's reservation
//! gives a fixed address), a static address where it has none. It writes one file of its own per
//! network system, marked as labctl's and replaced whole when the lab changes, and never edits
//! the appliance's files. It also gives the guest the VM's name as host name (and 127.0.1.1 in
//! /etc/hosts, as Debian's installer writes it).
//!
//! Pure: the planner builds a `GuestSetup`; the executor runs `script()` as root and records
//! `digest()`, so a lab whose guests already have their setup plans nothing.

use std::fmt;
use std::fmt::Write as _;

use ipnet::Ipv4Net;
use serde::Serialize;
use sha2::Digest as _;

use crate::lab::Lab;
use crate::lab::model::{MacAddress, NetworkKind, Vm};
use crate::plan::action::NicSetting;

/// How one NIC is configured in the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum NicConfig {
    /// By the guest's DHCP client; `expect` is the address the lab reserved for it.
    Dhcp {
        /// The reserved address, checked once the NIC is up.
        expect: Option<std::net::Ipv4Addr>,
    },
    /// A fixed address configured in the guest (the network has no DHCP server).
    Static {
        /// Address and prefix.
        address: Ipv4Net,
    },
    /// Link up, no address (an internal network the lab gives no addresses).
    LinkOnly,
}

/// One NIC labctl configures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestNic {
    /// Adapter slot.
    pub slot: u8,
    /// Lab network.
    pub network: String,
    /// The MAC the guest finds it by.
    pub mac: MacAddress,
    /// How.
    #[serde(flatten)]
    pub config: NicConfig,
}

/// Everything labctl sets up in one guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestSetup {
    /// The lab (for the marker of labctl's files).
    pub lab: String,
    /// Host name.
    pub hostname: String,
    /// NICs other than adapter 1, in slot order.
    pub nics: Vec<GuestNic>,
}

/// Exit status of the script when the guest's network system is one labctl cannot configure.
pub const UNSUPPORTED_SYSTEM: i32 = 22;

impl GuestSetup {
    /// The setup of `vm` with the MACs its adapters get (`nics` from its VM settings).
    /// `reservations`: host-only networks' DHCP servers reserve fixed addresses (not so on
    /// VirtualBox 7 for macOS, where the address is set in the guest).
    pub fn for_vm(lab: &Lab, vm: &Vm, nics: &[NicSetting], reservations: bool) -> Self {
        let mut guest_nics = Vec::new();
        for nic in vm.nics.iter().filter(|nic| nic.slot != 1) {
            let (Some(network), Some(setting)) = (
                lab.network(&nic.network),
                nics.iter().find(|setting| setting.slot == nic.slot),
            ) else {
                continue;
            };
            let fixed = |cidr: Option<Ipv4Net>| match (nic.ip, cidr) {
                (Some(ip), Some(cidr)) => Ipv4Net::new(ip, cidr.prefix_len())
                    .map_or(NicConfig::LinkOnly, |address| NicConfig::Static { address }),
                _ => NicConfig::LinkOnly,
            };
            let config = match &network.kind {
                NetworkKind::HostOnly { cidr, .. } if !reservations && nic.ip.is_some() => {
                    fixed(Some(*cidr))
                }
                NetworkKind::HostOnly { dhcp: Some(_), .. }
                | NetworkKind::NatNetwork { dhcp: Some(_), .. } => {
                    NicConfig::Dhcp { expect: nic.ip }
                }
                NetworkKind::HostOnly {
                    cidr, dhcp: None, ..
                }
                | NetworkKind::NatNetwork {
                    cidr, dhcp: None, ..
                } => fixed(Some(*cidr)),
                NetworkKind::Nat => NicConfig::Dhcp { expect: None },
                NetworkKind::Internal { cidr, .. } => fixed(*cidr),
            };
            guest_nics.push(GuestNic {
                slot: nic.slot,
                network: nic.network.clone(),
                mac: setting.mac,
                config,
            });
        }
        Self {
            lab: lab.name.clone(),
            hostname: hostname_of(&vm.vbox_name),
            nics: guest_nics,
        }
    }

    /// A digest of everything the setup writes: equal digests, nothing to do.
    pub fn digest(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let digest = sha2::Sha256::digest(json.as_bytes());
        digest.iter().take(12).fold(String::new(), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
    }

    fn marker(&self) -> String {
        format!(
            "# Written by labctl for lab {}: replaced whole when the lab changes; do not edit.",
            self.lab
        )
    }

    /// The POSIX shell script that applies the setup; run as root. It finds each NIC by MAC,
    /// detects the network system, writes labctl's own file for it only when its content
    /// changed, brings the NICs up, and waits (up to 60 s) until each has its address. It
    /// prints one line per NIC: `nic SLOT NAME ADDRESS`.
    pub fn script(&self) -> String {
        let mut s = String::from(
            "set -u\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        );
        s.push_str(&self.hostname_part());
        if self.nics.is_empty() {
            return s;
        }
        s.push_str(
            "iface_of() {\n  for dev in /sys/class/net/*; do\n    \
             [ \"$(cat \"$dev/address\" 2>/dev/null)\" = \"$1\" ] && { echo \"${dev##*/}\"; return 0; }\n  \
             done\n  return 1\n}\n",
        );
        for nic in &self.nics {
            let _ = writeln!(
                s,
                "n{slot}=$(iface_of {mac}) || {{ echo \"labctl: the guest has no NIC with MAC {mac} (adapter {slot}, network {net})\" >&2; exit 21; }}",
                slot = nic.slot,
                mac = nic.mac,
                net = nic.network,
            );
        }
        s.push_str(&format!(
            "if [ -f /etc/network/interfaces ] && command -v ifup >/dev/null; then system=ifupdown\n\
             elif ls /etc/netplan/*.yaml >/dev/null 2>&1 && command -v netplan >/dev/null; then system=netplan\n\
             elif [ -d /run/systemd/netif ] && command -v networkctl >/dev/null; then system=networkd\n\
             else\n  echo \"labctl: cannot tell how this guest configures its network: no ifupdown (/etc/network/interfaces), netplan or systemd-networkd\" >&2\n  exit {UNSUPPORTED_SYSTEM}\nfi\n",
        ));
        s.push_str("case $system in\n");
        s.push_str("ifupdown)\n");
        s.push_str(&self.ifupdown_part());
        s.push_str(";;\nnetplan)\n");
        s.push_str(&self.netplan_part());
        s.push_str(";;\nnetworkd)\n");
        s.push_str(&self.networkd_part());
        s.push_str(";;\nesac\n");
        s.push_str(&self.check_part());
        s
    }

    fn hostname_part(&self) -> String {
        format!(
            "want={name}\n\
             [ \"$(cat /etc/hostname 2>/dev/null)\" = \"$want\" ] || echo \"$want\" > /etc/hostname\n\
             [ \"$(hostname)\" = \"$want\" ] || hostname \"$want\"\n\
             if grep -q '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then\n  \
             grep -Eq \"^127\\.0\\.1\\.1[[:space:]]+$want\\$\" /etc/hosts || sed -i \"s/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1\\t$want/\" /etc/hosts\n\
             else\n  printf '127.0.1.1\\t%s\\n' \"$want\" >> /etc/hosts\nfi\n",
            name = self.hostname
        )
    }

    /// Writes `$new` to `$file` when it differs (atomically); sets `changed`.
    fn write_file_part(path: &str) -> String {
        format!(
            "file={path}\nchanged=0\n\
             if [ \"$(cat \"$file\" 2>/dev/null)\" != \"$new\" ]; then\n  \
             mkdir -p \"${{file%/*}}\" && printf '%s\\n' \"$new\" > \"$file.labctl-tmp\" && mv \"$file.labctl-tmp\" \"$file\" || exit 24\n  \
             changed=1\nfi\n"
        )
    }

    fn ifupdown_part(&self) -> String {
        let mut new = format!("{}\n", self.marker());
        for nic in &self.nics {
            let name = format!("$n{}", nic.slot);
            let _ = write!(new, "\nauto {name}\n");
            match &nic.config {
                NicConfig::Dhcp { .. } => {
                    let _ = writeln!(new, "iface {name} inet dhcp");
                }
                NicConfig::Static { address } => {
                    let _ = write!(new, "iface {name} inet static\n    address {address}\n");
                }
                NicConfig::LinkOnly => {
                    let _ = write!(
                        new,
                        "iface {name} inet manual\n    up ip link set dev \\$IFACE up\n"
                    );
                }
            }
        }
        let names: Vec<String> = self
            .nics
            .iter()
            .map(|nic| format!("$n{}", nic.slot))
            .collect();
        format!(
            "if ! grep -Eq '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\\.d' /etc/network/interfaces; then\n  \
             echo \"labctl: /etc/network/interfaces does not read /etc/network/interfaces.d/, where labctl writes its own file\" >&2\n  exit 23\nfi\n\
             new=$(cat <<LABCTL_EOF\n{new}LABCTL_EOF\n)\n\
             file=/etc/network/interfaces.d/labctl\n\
             if [ \"$(cat \"$file\" 2>/dev/null)\" != \"$new\" ]; then\n  \
             for i in $(sed -n 's/^auto //p' \"$file\" 2>/dev/null); do ifdown --force \"$i\" >/dev/null 2>&1; done\n  \
             printf '%s\\n' \"$new\" > \"$file.labctl-tmp\" && mv \"$file.labctl-tmp\" \"$file\" || exit 24\n\
             fi\n\
             for i in {names}; do\n  \
             ifquery --state \"$i\" >/dev/null 2>&1 || ifup \"$i\" >&2 || {{ echo \"labctl: ifup $i failed\" >&2; exit 25; }}\n\
             done\n",
            names = names.join(" "),
        )
    }

    fn netplan_part(&self) -> String {
        let mut new = format!("{}\nnetwork:\n  version: 2\n  ethernets:\n", self.marker());
        // Each NIC by the name the guest gave the MAC (found above), not by `match:
        // macaddress:`: netplan 0.106 and later render that as networkd's
        // PermanentMACAddress=, which a NIC whose MAC was changed, or a virtual one, lacks.
        for nic in &self.nics {
            let _ = writeln!(new, "    $n{slot}:", slot = nic.slot);
            match &nic.config {
                // By MAC, not by networkd's default DUID: that comes from /etc/machine-id,
                // which clones of one disk share, and VirtualBox's DHCP server takes a client
                // identifier over the MAC (Dhcpd/ClientId.cpp, `operator==`), so clones would
                // be one client to it.
                NicConfig::Dhcp { .. } => {
                    new.push_str("      dhcp4: true\n      dhcp-identifier: mac\n")
                }
                NicConfig::Static { address } => {
                    let _ = write!(
                        new,
                        "      dhcp4: false\n      addresses: [\"{address}\"]\n"
                    );
                }
                NicConfig::LinkOnly => new.push_str("      dhcp4: false\n"),
            }
        }
        // Where netplan renders for systemd-networkd, `netplan generate` + `networkctl reload`
        // configures exactly the links whose files changed. `netplan apply` would also
        // `networkctl reconfigure` every managed link, dropping and re-acquiring the DHCP lease
        // of adapter 1, under the SSH session that runs this script. Other renderers
        // (NetworkManager) get `netplan apply`.
        let rendered: Vec<String> = self
            .nics
            .iter()
            .map(|nic| {
                format!(
                    "[ -e \"/run/systemd/network/10-netplan-$n{}.network\" ]",
                    nic.slot
                )
            })
            .collect();
        format!(
            "new=$(cat <<LABCTL_EOF\n{new}LABCTL_EOF\n)\n{write}\
             chmod 600 \"$file\"\n\
             if [ $changed = 1 ]; then\n  \
             if netplan generate >&2 && {rendered} && command -v networkctl >/dev/null && networkctl reload >&2; then :\n  \
             else netplan apply >&2 || {{ echo \"labctl: netplan apply failed\" >&2; exit 25; }}; fi\n\
             fi\n",
            write = Self::write_file_part("/etc/netplan/90-labctl.yaml"),
            rendered = rendered.join(" && "),
        )
    }

    fn networkd_part(&self) -> String {
        let mut s = String::from("any=0\n");
        for nic in &self.nics {
            let mut new = format!(
                "{}\n[Match]\nMACAddress={}\n\n[Network]\n",
                self.marker(),
                nic.mac
            );
            match &nic.config {
                // By MAC: see the netplan part.
                NicConfig::Dhcp { .. } => {
                    new.push_str("DHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n")
                }
                NicConfig::Static { address } => {
                    let _ = writeln!(new, "Address={address}");
                }
                NicConfig::LinkOnly => new.push_str("LinkLocalAddressing=no\n"),
            }
            let _ = write!(
                s,
                "new=$(cat <<'LABCTL_EOF'\n{new}LABCTL_EOF\n)\n{write}[ $changed = 1 ] && any=1\n",
                write = Self::write_file_part(&format!(
                    "/etc/systemd/network/10-labctl-nic{}.network",
                    nic.slot
                )),
            );
        }
        s.push_str("if [ $any = 1 ]; then networkctl reload >&2 && networkctl reconfigure");
        for nic in &self.nics {
            let _ = write!(s, " \"$n{}\"", nic.slot);
        }
        s.push_str(" >&2 || { echo \"labctl: networkctl failed\" >&2; exit 25; }; fi\n");
        s
    }

    fn check_part(&self) -> String {
        let mut s = String::from("deadline=$(( $(date +%s) + 60 ))\n");
        for nic in &self.nics {
            let name = format!("$n{}", nic.slot);
            let (test, wanted) = match &nic.config {
                NicConfig::Dhcp { expect: Some(ip) } => (
                    format!("ip -4 -o addr show dev \"{name}\" | grep -q ' inet {ip}/'"),
                    format!("its reserved address {ip}"),
                ),
                NicConfig::Dhcp { expect: None } => (
                    format!("ip -4 -o addr show dev \"{name}\" | grep -q ' inet '"),
                    "an address by DHCP".to_string(),
                ),
                NicConfig::Static { address } => (
                    format!(
                        "ip -4 -o addr show dev \"{name}\" | grep -q ' inet {}/'",
                        address.addr()
                    ),
                    format!("the address {address}"),
                ),
                NicConfig::LinkOnly => (
                    format!("ip -o link show dev \"{name}\" | grep -q 'state UP\\|,UP'"),
                    "its link up".to_string(),
                ),
            };
            let _ = write!(
                s,
                "until {test}; do\n  \
                 [ $(date +%s) -lt $deadline ] || {{ echo \"labctl: {name} (adapter {slot}, network {net}) did not get {wanted}; it has: $(ip -4 -o addr show dev \"{name}\" | awk '{{print $4}}')\" >&2; exit 26; }}\n  \
                 sleep 0.5\ndone\n\
                 echo \"nic {slot} {name} $(ip -4 -o addr show dev \"{name}\" | awk '{{print $4}}' | head -n1)\"\n",
                slot = nic.slot,
                net = nic.network,
            );
        }
        s
    }
}

/// A valid host name from a VM's VirtualBox name: lower-case letters, digits and `-`, at most
/// 63 characters.
pub fn hostname_of(vbox_name: &str) -> String {
    let name: String = vbox_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() { "vm".into() } else { name }
}

impl fmt::Display for GuestSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host name {}", self.hostname)?;
        for nic in &self.nics {
            write!(f, "; adapter {} ({}) ", nic.slot, nic.network)?;
            match &nic.config {
                NicConfig::Dhcp { expect: Some(ip) } => write!(f, "DHCP → {ip}")?,
                NicConfig::Dhcp { expect: None } => write!(f, "DHCP")?,
                NicConfig::Static { address } => write!(f, "static {address}")?,
                NicConfig::LinkOnly => write!(f, "link only")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(internal: &str) -> GuestSetup {
        GuestSetup {
            lab: "t".into(),
            hostname: "t-web1".into(),
            nics: vec![
                GuestNic {
                    slot: 2,
                    network: "back".into(),
                    mac: MacAddress::parse("08:00:27:00:00:02").unwrap(),
                    config: NicConfig::Dhcp { expect: None },
                },
                GuestNic {
                    slot: 3,
                    network: "priv".into(),
                    mac: MacAddress::parse("08:00:27:00:00:03").unwrap(),
                    config: NicConfig::Static {
                        address: internal.parse().unwrap(),
                    },
                },
            ],
        }
    }

    #[test]
    fn the_script_finds_nics_by_mac_and_writes_labctls_own_files() {
        let script = setup("10.8.0.5/24").script();
        assert!(script.contains("n2=$(iface_of 08:00:27:00:00:02)"));
        assert!(script.contains("auto $n3\niface $n3 inet static\n    address 10.8.0.5/24\n"));
        assert!(script.contains("iface $n2 inet dhcp"));
        assert!(script.contains("file=/etc/network/interfaces.d/labctl"));
        assert!(
            script.contains(
                "  ethernets:\n    $n2:\n      dhcp4: true\n      dhcp-identifier: mac\n    $n3:\n"
            ),
            "netplan by the name found from the MAC"
        );
        assert!(
            script.contains("netplan generate >&2 && [ -e \"/run/systemd/network/10-netplan-$n2.network\" ] && [ -e \"/run/systemd/network/10-netplan-$n3.network\" ] && command -v networkctl >/dev/null && networkctl reload >&2; then"),
            "networkd reloads only what changed; netplan apply otherwise"
        );
        assert!(
            script.contains("MACAddress=08:00:27:00:00:02"),
            "networkd by MAC"
        );
        assert!(
            script.contains("grep -q ' inet 10.8.0.5/'"),
            "the address is checked"
        );
        assert!(script.contains("want=t-web1"));
        assert!(
            !script.contains("/etc/network/interfaces\n"),
            "the appliance's own file is only read"
        );
    }

    #[test]
    fn the_digest_follows_what_is_written() {
        assert_eq!(setup("10.8.0.5/24").digest(), setup("10.8.0.5/24").digest());
        assert_ne!(setup("10.8.0.5/24").digest(), setup("10.8.0.6/24").digest());
    }

    #[test]
    fn a_guest_with_only_adapter_one_gets_only_its_host_name() {
        let only = GuestSetup {
            lab: "t".into(),
            hostname: "t-a".into(),
            nics: Vec::new(),
        };
        let script = only.script();
        assert!(script.contains("want=t-a"));
        assert!(!script.contains("iface_of"));
        assert_eq!(only.to_string(), "host name t-a");
    }

    #[test]
    fn host_names_are_valid() {
        assert_eq!(hostname_of("exam3-web1"), "exam3-web1");
        assert_eq!(hostname_of("Lab_Web 1"), "lab-web-1");
        assert_eq!(hostname_of("__"), "vm");
        assert_eq!(hostname_of(&"x".repeat(80)).len(), 63);
    }
}
