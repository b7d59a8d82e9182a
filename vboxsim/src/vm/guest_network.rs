//! The guest's own networking, run by its init: NICs named as the appliance's kernel names them
//! with the MACs VirtualBox shows, and brought up only as the appliance's own configuration says
//! (ifupdown at boot, as Debian's networking.service and udev's ifupdown-hotplug do), by the
//! guest's own DHCP client. A NIC the appliance does not configure stays down with no address.
//! Appliances that run systemd-networkd (Ubuntu) get it with D-Bus and netplan's rendering.
//! With Guest Additions, the addresses the guest has are what VBoxService reports.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
        let name = info.nic_name(index, nic.slot);
        run("ip", &["link", "set", "dev", &nic.veth, "name", &name])?;
        run("ip", &["link", "set", "dev", &name, "address", &nic.mac])?;
        names.push(name);
    }
    Ok(names)
}

/// Brings up what the appliance configures, with its own tools: ifupdown where the disk has
/// it; netplan and systemd-networkd where the appliance runs networkd. Returns what failed, for
/// the VM's log; a guest whose configuration fails still boots.
pub fn bring_up(names: &[String], info: &ApplianceInfo) -> Vec<String> {
    let mut problems = ifupdown(names);
    if info.networkd {
        problems.extend(networkd());
    }
    problems
}

/// Ubuntu's boot, for the network: netplan's systemd generator renders /etc/netplan into
/// /run/systemd/network (`netplan generate`, as /lib/systemd/system-generators/netplan does),
/// then D-Bus and systemd-networkd start, and networkd's own DHCP client configures the NICs
/// the rendered files name. `netplan apply` later talks to networkd over D-Bus
/// (`networkctl reload`), as on Ubuntu.
///
/// A necessary difference, marked: guests have no udevd, and networkd waits for udev to
/// initialise every link unless /sys is read-only, which is how systemd tells it runs in a
/// container (systemd's src/shared/udev-util.c, `udev_available()`; systemd.io's container
/// interface). So /sys is remounted read-only in these guests.
fn networkd() -> Vec<String> {
    let mut problems = Vec::new();
    let has_yaml = std::fs::read_dir("/etc/netplan")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .unwrap_or(false);
    if has_yaml {
        if Path::new("/usr/sbin/netplan").exists() {
            if let Err(e) = run("netplan", &["generate"]) {
                problems.push(e);
            }
        } else {
            problems.push("/etc/netplan has configuration but netplan is missing (netplan.io: run scripts/setup)".into());
        }
    }
    if let Err(e) = remount_sys_read_only() {
        problems.push(e);
    }
    let _ = std::fs::create_dir_all("/run/dbus");
    if let Err(e) = start_daemon(
        "/usr/bin/dbus-daemon",
        &["--system", "--nofork", "--nopidfile"],
        None,
    ) {
        problems.push(e);
    }
    wait_for_path("/run/dbus/system_bus_socket", Duration::from_secs(5));
    // systemd-networkd.service is Type=notify and ordered before network.target, which sshd
    // waits for: the boot goes on once networkd says READY=1 (sd_notify), so a client that logs
    // in finds networkd on the bus (`netplan apply` reloads it through `networkctl reload`).
    if let Err(e) = start_notify_daemon("/lib/systemd/systemd-networkd", Duration::from_secs(20)) {
        problems.push(e);
    }
    problems
}

/// Starts a daemon of the guest in the background. Daemons log to the VM's log (stderr);
/// stdout is the guest's channel to its VM.
fn start_daemon(program: &str, args: &[&str], notify_socket: Option<&str>) -> Result<(), String> {
    if !Path::new(program).exists() {
        return Err(format!(
            "{program} is missing (dbus, systemd: run scripts/setup)"
        ));
    }
    let mut cmd = Command::new(program);
    default_signal_mask(&mut cmd)
        .args(args)
        .env_clear()
        .env("PATH", GUEST_PATH)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(socket) = notify_socket {
        cmd.env("NOTIFY_SOCKET", socket);
    }
    cmd.spawn().map(drop).map_err(|e| format!("{program}: {e}"))
}

/// Starts a Type=notify daemon and waits for its READY=1 on a notification socket, as systemd
/// does before starting what is ordered after it.
fn start_notify_daemon(program: &str, limit: Duration) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixDatagram;
    let path = "/run/vboxsim-notify";
    let _ = std::fs::remove_file(path);
    let socket = UnixDatagram::bind(path).map_err(|e| format!("{path}: {e}"))?;
    // networkd drops to its own user before it notifies.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| format!("{path}: {e}"))?;
    start_daemon(program, &[], Some(path))?;
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let result = loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            break Err(format!("{program} did not report READY=1 within {limit:?}"));
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("{path}: {e}"))?;
        match socket.recv(&mut buf) {
            Ok(n)
                if String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == "READY=1") =>
            {
                break Ok(());
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => break Err(format!("{path}: {e}")),
        }
    };
    let _ = std::fs::remove_file(path);
    result
}

/// `udevadm` of a guest (first in PATH, in /usr/local/sbin): guests run no udevd, so the
/// uevents `udevadm trigger` asks the kernel for reach nobody and its write to a read-only /sys
/// would fail; on a real guest udevd takes them and applies rules vboxsim does not model
/// (net_setup_link: names are already the PCI-slot names). `trigger` therefore succeeds doing
/// nothing, as a real one would for these NICs; everything else is the real udevadm (`settle`
/// returns at once without udevd). A necessary difference, marked.
pub const UDEVADM: &str = "#!/bin/sh\n\
# vboxsim: no udevd runs in this guest (see vboxsim's CONFORMANCE.md).\n\
[ \"$1\" = trigger ] && exit 0\n\
exec /usr/bin/udevadm \"$@\"\n";

fn remount_sys_read_only() -> Result<(), String> {
    let sys = std::ffi::CString::new("/sys").unwrap_or_default();
    let flags =
        libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    // SAFETY: remounting an existing mount point with a valid NUL-terminated path.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            sys.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "remount /sys read-only: {}",
            std::io::Error::last_os_error()
        ))
    }
}

fn wait_for_path(path: &str, limit: Duration) {
    let start = Instant::now();
    while !Path::new(path).exists() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// ifupdown at boot: `ifup -a` (the `auto` interfaces) then `ifup --allow=hotplug` for each NIC
/// the kernel found, as Debian's networking.service and udev's ifupdown-hotplug do.
fn ifupdown(names: &[String]) -> Vec<String> {
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
