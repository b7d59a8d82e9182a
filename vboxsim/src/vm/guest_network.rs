//! The guest's own networking, run by its init: NICs named as the appliance's kernel names them
//! with the MACs VirtualBox shows, and brought up only as the appliance's own configuration says
//! (ifupdown at boot, as Debian's networking.service and udev's ifupdown-hotplug do), by the
//! guest's own DHCP client. A NIC the appliance does not configure stays down with no address.
//! With Guest Additions, the addresses the guest has are what VBoxService reports.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::appliance::flavour::ApplianceInfo;
use crate::vm::guest_config::GuestNic;
use crate::vm::guest_init::run;

const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Programs PID 1 starts must not inherit the signals it blocks: a DHCP client that outlives
/// `ifup` must die of the SIGTERM of a shutdown.
fn default_signal_mask(cmd: &mut Command) -> &mut Command {
    // SAFETY: only sigemptyset/sigprocmask (async-signal-safe) between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        })
    }
}

/// Names the NICs as the appliance's kernel does and gives each its MAC; returns the names in
/// slot order. Only the loopback is brought up: the rest is the appliance's configuration's job.
pub fn plug(nics: &[GuestNic], info: &ApplianceInfo) -> Result<Vec<String>, String> {
    run("ip", &["link", "set", "lo", "up"])?;
    let mut names = Vec::new();
    for (index, nic) in nics.iter().enumerate() {
        let name = info.nic_name(index);
        run("ip", &["link", "set", "dev", &nic.veth, "name", &name])?;
        run("ip", &["link", "set", "dev", &name, "address", &nic.mac])?;
        names.push(name);
    }
    Ok(names)
}

/// Brings up what the appliance configures, with its own tools: `ifup -a` (the `auto`
/// interfaces) then `ifup --allow=hotplug` for each NIC the kernel found, as Debian does at
/// boot. Returns what failed, for the VM's log; a guest whose configuration fails still boots.
pub fn bring_up(names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if !Path::new("/etc/network/interfaces").exists() {
        return problems;
    }
    let ifup = ["/usr/sbin/ifup", "/sbin/ifup"]
        .into_iter()
        .find(|path| Path::new(path).exists());
    let Some(ifup) = ifup else {
        problems.push(
            "/etc/network/interfaces exists but ifup is missing (ifupdown: run scripts/setup)"
                .into(),
        );
        return problems;
    };
    let run = |args: &[&str]| -> Option<String> {
        let out = default_signal_mask(&mut Command::new(ifup))
            .args(args)
            .env_clear()
            .env("PATH", GUEST_PATH)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "ifup {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(error) => Some(format!("ifup: {error}")),
        }
    };
    problems.extend(run(&["-a", "--read-environment"]));
    for name in names {
        problems.extend(run(&["--allow=hotplug", name]));
    }
    problems
}

/// One NIC as Guest Additions report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicReport {
    pub name: String,
    /// MAC as VirtualBox writes it (12 upper-case hex digits).
    pub mac: String,
    /// `a.b.c.d/len`, the first IPv4 address, if any.
    pub addr: Option<String>,
    pub up: bool,
}

/// What the guest's NICs are now (for Guest Additions' `Net/*` properties).
pub fn report(names: &[String]) -> Vec<NicReport> {
    names
        .iter()
        .map(|name| {
            let mac = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
                .unwrap_or_default()
                .trim()
                .replace(':', "")
                .to_ascii_uppercase();
            let up = std::fs::read_to_string(format!("/sys/class/net/{name}/operstate"))
                .map(|state| state.trim() == "up")
                .unwrap_or(false);
            let addr = Command::new("ip")
                .args(["-o", "-4", "addr", "show", "dev", name])
                .env_clear()
                .env("PATH", GUEST_PATH)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()
                .and_then(|out| first_inet(&String::from_utf8_lossy(&out.stdout)));
            NicReport {
                name: name.clone(),
                mac,
                addr,
                up,
            }
        })
        .collect()
}

/// The first `inet a.b.c.d/len` of `ip -o -4 addr` output.
fn first_inet(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|word| *word == "inet")?;
        words.next().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_inet_address_is_read() {
        let text = "2: eth0    inet 192.168.56.21/24 brd 192.168.56.255 scope global dynamic eth0\\       valid_lft 1190sec preferred_lft 1190sec\n";
        assert_eq!(first_inet(text).as_deref(), Some("192.168.56.21/24"));
        assert_eq!(first_inet(""), None);
    }
}
