//! A real guest, seen from its VM process: veths into the world's bridges (or into a NAT
//! engine), the guest's init started in fresh namespaces, port forwarders, and teardown.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::model::ids::mac_colon;
use crate::model::lease::{NicLease, Segment};
use crate::model::machine::{Machine, PowerState};
use crate::net::host_net::{self, ip};
use crate::net::nat_engine::NatEngine;
use crate::net::relay::Forwarder;
use crate::store::Store;
use crate::vm::guest_config::{GuestConfig, GuestNic};
use crate::vm::guest_network::NicReport;
use crate::vm::port_forwards;

pub const SYSTEMCTL: &str = "/usr/local/lib/vboxsim/systemctl3.py";

pub struct NamespaceGuest {
    init: Child,
    up: Arc<AtomicBool>,
    uuid: String,
    host_veths: Vec<(u32, String)>,
    engines: Vec<(u32, NatEngine)>,
    forwarders: Vec<Forwarder>,
    leases: Vec<NicLease>,
    /// The latest Guest Additions report of the guest's NICs.
    report: Arc<std::sync::Mutex<Option<Vec<NicReport>>>>,
    exit_status: Option<i32>,
    paused: bool,
    exited: bool,
}

fn short(uuid: &str) -> String {
    uuid.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(6)
        .collect()
}

/// What the guest needs from the host that the setup script installs.
pub fn check_host() -> Result<(), String> {
    for (path, what) in [
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh-keygen", "openssh-client"),
        ("/usr/sbin/ip", "iproute2"),
        ("/usr/bin/nsenter", "util-linux"),
        ("/usr/sbin/useradd", "passwd"),
        ("/usr/sbin/dnsmasq", "dnsmasq-base"),
        ("/sbin/dhclient", "isc-dhcp-client"),
        ("/usr/sbin/ifup", "ifupdown"),
        ("/usr/sbin/netplan", "netplan.io"),
        ("/lib/systemd/systemd-networkd", "systemd"),
        ("/usr/bin/dbus-daemon", "dbus"),
        ("/usr/bin/udevadm", "udev"),
        (SYSTEMCTL, "docker-systemctl-replacement"),
    ] {
        if !std::path::Path::new(path).exists() {
            return Err(format!("{path} is missing ({what}): run scripts/setup"));
        }
    }
    Ok(())
}

impl NamespaceGuest {
    pub fn boot(store: &Store, m: &Machine) -> Result<NamespaceGuest, String> {
        if !host_net::in_world() {
            return Err("real guests run only inside a world: vboxsim world exec NAME -- VBoxManage startvm …".into());
        }
        check_host()?;
        host_net::sync(store)?;
        let state = store.read()?;
        let disk = m.disk.as_ref().ok_or("the VM has no disk to boot from")?;
        let upper = disk
            .layers
            .last()
            .cloned()
            .ok_or("the VM's disk has no layer")?;
        let lower_layers = disk.layers[..disk.layers.len() - 1].to_vec();
        let work = format!("{upper}.work");
        let additions_mnt = format!("{}/.vboxsim/additions", m.vm_dir);
        let base_mnt = format!("{}/.vboxsim/base", m.vm_dir);
        let root_mnt = format!("{}/.vboxsim/root", m.vm_dir);
        for d in [&work, &additions_mnt, &base_mnt, &root_mnt] {
            std::fs::create_dir_all(d).map_err(|e| format!("{d}: {e}"))?;
        }
        let id = short(&m.uuid);
        let mut nics = Vec::new();
        for l in &m.nic_leases {
            nics.push(GuestNic {
                veth: format!("vg{id}{}", l.slot),
                mac: mac_colon(&l.mac),
                slot: l.slot,
            });
        }
        let hide = vec![
            crate::worlds_root::root()
                .join("worlds")
                .display()
                .to_string(),
        ];
        let cfg = GuestConfig {
            uuid: m.uuid.clone(),
            lower_layers,
            upper,
            work,
            additions_mnt,
            base_mnt,
            root_mnt,
            systemctl: SYSTEMCTL.into(),
            hide,
            nics,
            start_sshd: std::env::var("VBOXSIM_NO_SSHD")
                .map(|v| v != "1")
                .unwrap_or(true),
            boot_delay_ms: crate::vbox::latency::Latency::from_env()
                .of(crate::vbox::latency::BOOT_TO_SSH)
                .as_millis() as u64,
        };
        let cfg_path = format!("{}/guest-config.json", m.log_folder());
        std::fs::write(
            &cfg_path,
            serde_json::to_vec_pretty(&cfg).map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("{cfg_path}: {e}"))?;
        // The VM process's own image, which stays usable even when the vboxsim file was replaced
        // (rebuilt or upgraded) while the VM runs: a reset then still finds its guest's init.
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg0("vboxsim")
            .arg("guest-init")
            .arg(&cfg_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        // SAFETY: between fork and exec only prctl/unshare (async-signal-safe syscalls).
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                let flags = libc::CLONE_NEWNS
                    | libc::CLONE_NEWUTS
                    | libc::CLONE_NEWNET
                    | libc::CLONE_NEWPID
                    | libc::CLONE_NEWIPC;
                if libc::unshare(flags) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let init = cmd
            .spawn()
            .map_err(|e| format!("cannot start the guest's init: {e}"))?;
        let mut guest = NamespaceGuest {
            up: Arc::new(AtomicBool::new(false)),
            uuid: m.uuid.clone(),
            host_veths: Vec::new(),
            engines: Vec::new(),
            forwarders: Vec::new(),
            leases: m.nic_leases.clone(),
            report: Arc::new(std::sync::Mutex::new(None)),
            exit_status: None,
            paused: false,
            exited: false,
            init,
        };
        if let Err(e) = guest.plug(m, &state) {
            guest.kill();
            return Err(e);
        }
        Ok(guest)
    }

    /// Creates the NICs' links, starts the init, and the port forwarders.
    fn plug(&mut self, m: &Machine, state: &crate::model::state::State) -> Result<(), String> {
        let pid = self.init.id().to_string();
        let id = short(&m.uuid);
        for l in m.nic_leases.clone() {
            let host = format!("vh{id}{}", l.slot);
            let guest = format!("vg{id}{}", l.slot);
            let _ = ip(&["link", "del", &host]);
            match &l.segment {
                Segment::Nat => {
                    ip(&["link", "add", &host, "type", "veth", "peer", "name", &guest])?;
                    let engine = NatEngine::attach(
                        &host,
                        &l,
                        &format!("{}/nat{}.leases", m.log_folder(), l.slot),
                    )?;
                    self.engines.push((l.slot, engine));
                }
                seg => {
                    let bridge = match seg {
                        Segment::HostOnly(name) => Some(host_net::hostonly_bridge(name)),
                        Segment::HostOnlyNet(name) => Some(host_net::hostonlynet_bridge(name)),
                        Segment::NatNetwork(name) => Some(host_net::natnet_bridge(name)),
                        Segment::Intnet(name) => Some(host_net::intnet_bridge(name)),
                        _ => None,
                    };
                    ip(&["link", "add", &host, "type", "veth", "peer", "name", &guest])?;
                    if let Some(br) = bridge {
                        ip(&["link", "set", &host, "master", &br])?;
                    }
                    if l.cable && !matches!(seg, Segment::Unplugged) {
                        ip(&["link", "set", &host, "up"])?;
                    }
                    self.host_veths.push((l.slot, host.clone()));
                }
            }
            ip(&["link", "set", &guest, "netns", &pid])?;
        }
        let mut stdin = self.init.stdin.take().ok_or("guest init has no stdin")?;
        stdin
            .write_all(b"go\n")
            .map_err(|e| format!("guest init: {e}"))?;
        drop(stdin);
        if let Some(out) = self.init.stdout.take() {
            let up = self.up.clone();
            let report = self.report.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if line.trim() == "up" {
                        up.store(true, Ordering::SeqCst);
                    } else if let Some(json) = line.strip_prefix("net ")
                        && let Ok(nics) = serde_json::from_str::<Vec<NicReport>>(json)
                        && let Ok(mut latest) = report.lock()
                    {
                        *latest = Some(nics);
                    }
                }
            });
        }
        self.start_forwarders(m, state);
        Ok(())
    }

    fn start_forwarders(&mut self, m: &Machine, state: &crate::model::state::State) {
        self.forwarders.clear();
        self.forwarders = port_forwards::start(m, state, &self.leases, &self.engines);
    }

    pub fn is_up(&mut self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    pub fn has_exited(&mut self) -> bool {
        if !self.exited
            && let Ok(Some(status)) = self.init.try_wait()
        {
            self.exit_status = status.code();
            self.exited = true;
            self.teardown();
        }
        self.exited
    }

    /// The guest's init ended asking to be started again.
    pub fn rebooted(&mut self) -> bool {
        self.has_exited() && self.exit_status == Some(crate::vm::guest_power::REBOOT_STATUS)
    }

    /// The latest Guest Additions report (None before the first).
    pub fn additions_report(&mut self) -> Option<Vec<NicReport>> {
        self.report.lock().ok().and_then(|latest| latest.clone())
    }

    pub fn kill(&mut self) {
        let _ = self.init.kill();
        let _ = self.init.wait();
        self.exited = true;
        self.teardown();
    }

    /// ACPI: the guest's init stops its services and halts; killed if it takes too long.
    pub fn shutdown(&mut self, timeout: Duration) {
        if self.paused {
            self.freeze(false);
        }
        // SAFETY: signalling our own child (stage 1 forwards it to the guest's PID 1).
        unsafe {
            libc::kill(self.init.id() as i32, libc::SIGUSR1);
        }
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.init.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    pub fn reload(&mut self, m: &Machine, state: &crate::model::state::State) {
        let paused = m.state == PowerState::Paused;
        if paused != self.paused {
            self.freeze(paused);
            self.paused = paused;
        }
        for (slot, host) in &self.host_veths {
            let cable =
                m.hw.nics
                    .get(*slot as usize - 1)
                    .map(|n| n.cable)
                    .unwrap_or(true);
            let _ = ip(&["link", "set", host, if cable { "up" } else { "down" }]);
        }
        self.start_forwarders(m, state);
    }

    /// Stops or continues every process of the guest (pause/resume).
    fn freeze(&self, stop: bool) {
        let pid = self.init.id();
        let Ok(target) = std::fs::read_link(format!("/proc/{pid}/ns/pid_for_children")) else {
            return;
        };
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in dir.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if std::fs::read_link(format!("/proc/{p}/ns/pid"))
                .ok()
                .as_ref()
                == Some(&target)
            {
                // SAFETY: signalling a process of this VM's guest.
                unsafe {
                    libc::kill(p, if stop { libc::SIGSTOP } else { libc::SIGCONT });
                }
            }
        }
    }

    fn teardown(&mut self) {
        self.forwarders.clear();
        for (_, host) in self.host_veths.drain(..) {
            let _ = ip(&["link", "del", &host]);
        }
        self.engines.clear();
        let _ = &self.uuid;
    }
}

impl Drop for NamespaceGuest {
    fn drop(&mut self) {
        if !self.exited {
            self.kill();
        }
    }
}
