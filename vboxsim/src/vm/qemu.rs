//! A real virtual machine, seen from its VM process: QEMU boots the appliance's own disk (the
//! imported VMDK, with a qcow2 differencing image per disk layer above it), with one emulated
//! NIC per enabled adapter, at the PCI slot VirtualBox gives it, on a tap device in the
//! world's bridge of its network (or behind the adapter's own NAT engine). The VM's power
//! button, reset and pause go through QEMU's monitor (QMP).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::appliance::flavour::pci_device;
use crate::model::ids::mac_colon;
use crate::model::lease::{NicLease, Segment};
use crate::model::machine::{Machine, PowerState};
use crate::net::host_net::{self, ip};
use crate::net::nat_engine::NatEngine;
use crate::net::relay::Forwarder;
use crate::store::Store;
use crate::vm::port_forwards;

const QEMU: &str = "qemu-system-x86_64";
const QEMU_IMG: &str = "qemu-img";
/// QEMU monitors of every world's VMs (see `qmp_socket`).
const QMP_DIR: &str = "/run/vboxsim-qmp";
/// How long writing or reading a saved state may take (memory size over disk speed).
const SAVE_LIMIT: Duration = Duration::from_secs(240);

pub struct QemuGuest {
    /// None until QEMU is started (after the NICs' links exist).
    qemu: Option<Child>,
    qmp: PathBuf,
    /// Per adapter slot: the tap QEMU uses, and the links made for it (removed at teardown).
    taps: Vec<(u32, String)>,
    links: Vec<String>,
    engines: Vec<(u32, NatEngine)>,
    forwarders: Vec<Forwarder>,
    leases: Vec<NicLease>,
    cables: Vec<(u32, bool)>,
    paused: bool,
    exited: bool,
    torn_down: bool,
}

/// What a QEMU world needs from this machine (scripts/setup installs it).
pub fn check_host() -> Result<(), String> {
    for (tool, package) in [(QEMU, "qemu-system-x86"), (QEMU_IMG, "qemu-utils")] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        if !found {
            return Err(format!("{tool} is missing ({package}): run scripts/setup"));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing: QEMU's NICs need tap devices".into());
    }
    Ok(())
}

/// The disk image file a layer directory belongs to (see `layers::layer_of`).
fn image_of(layer: &str) -> &str {
    layer.strip_suffix(".layer").unwrap_or(layer)
}

/// The files QEMU VMs keep in a base layer: the qcow2 copy of the imported disk, its lock, and
/// the overlay of the master when the master itself boots.
const QEMU_FILES: [&str; 3] = [BASE_COPY, "base.lock", "disk.qcow2"];
const BASE_COPY: &str = "base.qcow2";

/// True when the base layer `layer` holds a real disk: its image is a VMDK and import unpacked
/// nothing from it (vboxsim's own appliances carry a tar of files, unpacked into the layer).
fn is_real_disk(layer: &str) -> bool {
    let Ok(mut f) = std::fs::File::open(image_of(layer)) else {
        return false;
    };
    let mut head = [0u8; 4];
    if std::io::Read::read_exact(&mut f, &mut head).is_err() || &head != b"KDMV" {
        return false;
    }
    std::fs::read_dir(layer).is_ok_and(|entries| {
        entries.flatten().all(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            QEMU_FILES.contains(&name.as_str()) || name.starts_with("base.qcow2.")
        })
    })
}

/// The imported disk as QEMU opens it: a qcow2 copy of the VMDK, made once per base layer (under
/// a lock: a lab's VMs start together). QEMU will not migrate a VM whose chain holds a VMDK
/// ("does not support live migration"), and `savestate` is a migration to a file.
fn base_copy(layer: &str) -> Result<String, String> {
    let copy = format!("{layer}/{BASE_COPY}");
    if Path::new(&copy).exists() {
        return Ok(copy);
    }
    let lock = std::fs::File::create(format!("{layer}/base.lock"))
        .map_err(|e| format!("{layer}/base.lock: {e}"))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is dropped.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {layer}/base.lock"));
    }
    if Path::new(&copy).exists() {
        return Ok(copy);
    }
    let partial = format!("{copy}.{}", std::process::id());
    let out = Command::new(QEMU_IMG)
        .args(["convert", "-q", "-O", "qcow2", image_of(layer), &partial])
        .output()
        .map_err(|e| format!("cannot run {QEMU_IMG}: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(format!(
            "{QEMU_IMG} convert {}: {}",
            image_of(layer),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::rename(&partial, &copy).map_err(|e| format!("{copy}: {e}"))?;
    Ok(copy)
}

/// The chain of images QEMU opens, lowest first: the imported VMDK (as its qcow2 copy), then the qcow2 of each
/// frozen layer that was ever written, then the VM's own top layer's qcow2 (made on first
/// boot on top of the chain below it).
fn disk_chain(layers: &[String]) -> Result<String, String> {
    let (base, above) = layers.split_first().ok_or("the VM's disk has no layer")?;
    let base_image = image_of(base);
    if !is_real_disk(base) {
        return Err(format!(
            "{base_image} is not a real disk: QEMU VMs boot only appliances made with \
             `vboxsim make-ova --real`"
        ));
    }
    let mut below = (base_copy(base)?, "qcow2");
    let Some((top, frozen)) = above.split_last() else {
        // The master itself, booted: its writes go to a qcow2 in its own layer.
        return overlay(&format!("{base}/disk.qcow2"), &below);
    };
    for layer in frozen {
        let q = format!("{layer}/disk.qcow2");
        if Path::new(&q).exists() {
            below = (q, "qcow2");
        }
    }
    overlay(&format!("{top}/disk.qcow2"), &below)
}

fn overlay(file: &str, (backing, format): &(String, &str)) -> Result<String, String> {
    if !Path::new(file).exists() {
        if let Some(dir) = Path::new(file).parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let out = Command::new(QEMU_IMG)
            .args([
                "create", "-q", "-f", "qcow2", "-F", format, "-b", backing, file,
            ])
            .output()
            .map_err(|e| format!("cannot run {QEMU_IMG}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{QEMU_IMG} create {file}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(file.to_string())
}

/// QEMU's model of the adapter type VirtualBox emulates.
fn nic_model(nictype: &str) -> &'static str {
    match nictype {
        "Am79C970A" | "Am79C973" | "Am79C960" => "pcnet",
        "virtio" => "virtio-net-pci",
        _ => "e1000",
    }
}

/// `kvm` where this machine runs KVM guests (VBOXSIM_QEMU_ACCEL overrides), else `tcg`.
fn accelerator() -> String {
    if let Ok(a) = std::env::var("VBOXSIM_QEMU_ACCEL")
        && !a.is_empty()
    {
        return a;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let kvm_opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    accelerator_for(&cpuinfo, kvm_opens).into()
}

/// KVM needs the processor's virtualisation extensions (`vmx`, `svm`) as well as `/dev/kvm`:
/// a sandbox or a VM without nested virtualisation can offer the device while guests never
/// run (measured on the machine this was written on: no `vmx` flag, guests hang). QEMU falls
/// back to TCG itself when KVM fails to initialise (`kvm:tcg`).
fn accelerator_for(cpuinfo: &str, kvm_opens: bool) -> &'static str {
    let extensions = cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .any(|line| {
            line.split_whitespace()
                .any(|flag| flag == "vmx" || flag == "svm")
        });
    if extensions && kvm_opens {
        "kvm:tcg"
    } else {
        "tcg"
    }
}

/// Where QEMU's monitor listens for this VM. Not in the VM's folder: a UNIX socket's path must
/// be shorter than 108 bytes (sun_path), and a world's VM folders are deeper than that for long
/// world or lab names. UUIDs are unique across worlds.
fn qmp_socket(uuid: &str) -> Result<PathBuf, String> {
    let dir = Path::new(QMP_DIR);
    std::fs::create_dir_all(dir).map_err(|e| format!("{QMP_DIR}: {e}"))?;
    Ok(dir.join(format!("{uuid}.qmp")))
}

/// `text` as one word for /bin/sh (QEMU runs `exec:` migration URIs through it).
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn short(uuid: &str) -> String {
    uuid.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(6)
        .collect()
}

impl QemuGuest {
    pub fn boot(store: &Store, m: &Machine) -> Result<QemuGuest, String> {
        if !host_net::in_world() {
            return Err(
                "real VMs run only inside a world: vboxsim world exec NAME -- VBoxManage startvm …"
                    .into(),
            );
        }
        check_host()?;
        host_net::sync(store)?;
        let state = store.read()?;
        let disk = m.disk.as_ref().ok_or("the VM has no disk to boot from")?;
        let top = disk_chain(&disk.layers)?;
        let qmp = qmp_socket(&m.uuid)?;
        let _ = std::fs::remove_file(&qmp);
        let mut guest = QemuGuest {
            qemu: None,
            qmp,
            taps: Vec::new(),
            links: Vec::new(),
            engines: Vec::new(),
            forwarders: Vec::new(),
            leases: m.nic_leases.clone(),
            cables: m.nic_leases.iter().map(|l| (l.slot, l.cable)).collect(),
            paused: false,
            exited: false,
            torn_down: false,
        };
        if let Err(e) = guest.plug(m).and_then(|()| guest.start(m, &top)) {
            guest.teardown();
            return Err(e);
        }
        guest.forwarders = port_forwards::start(m, &state, &guest.leases, &guest.engines);
        Ok(guest)
    }

    /// A tap per adapter: in the world's bridge of its network, or, for plain NAT, in a
    /// private bridge with the veth that leads to the adapter's NAT engine.
    fn plug(&mut self, m: &Machine) -> Result<(), String> {
        let id = short(&m.uuid);
        for l in m.nic_leases.clone() {
            let tap = format!("vt{id}{}", l.slot);
            let _ = ip(&["link", "del", &tap]);
            ip(&["tuntap", "add", "dev", &tap, "mode", "tap"])?;
            self.links.push(tap.clone());
            let bridge = match &l.segment {
                Segment::Nat => {
                    let host = format!("vh{id}{}", l.slot);
                    let inner = format!("vg{id}{}", l.slot);
                    let private = format!("vb{id}{}", l.slot);
                    for link in [&host, &private] {
                        let _ = ip(&["link", "del", link]);
                    }
                    ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
                    self.links.push(inner.clone());
                    let engine = NatEngine::attach(
                        &host,
                        &l,
                        &format!("{}/nat{}.leases", m.log_folder(), l.slot),
                    )?;
                    self.engines.push((l.slot, engine));
                    ip(&["link", "add", &private, "type", "bridge"])?;
                    self.links.push(private.clone());
                    ip(&["link", "set", &inner, "master", &private])?;
                    ip(&["link", "set", &inner, "up"])?;
                    ip(&["link", "set", &private, "up"])?;
                    Some(private)
                }
                Segment::HostOnly(name) => Some(host_net::hostonly_bridge(name)),
                Segment::HostOnlyNet(name) => Some(host_net::hostonlynet_bridge(name)),
                Segment::NatNetwork(name) => Some(host_net::natnet_bridge(name)),
                Segment::Intnet(name) => Some(host_net::intnet_bridge(name)),
                Segment::Unplugged => None,
            };
            if let Some(br) = bridge {
                ip(&["link", "set", &tap, "master", &br])?;
            }
            ip(&["link", "set", &tap, "up"])?;
            self.taps.push((l.slot, tap));
        }
        Ok(())
    }

    fn start(&mut self, m: &Machine, disk: &str) -> Result<(), String> {
        let serial = format!("{}/serial.log", m.log_folder());
        let mut cmd = Command::new(QEMU);
        cmd.args(["-name", &m.name, "-uuid", &m.hardware_uuid])
            .args(["-machine", &format!("pc,accel={}", accelerator())])
            .args(["-m", &m.hw.memory.to_string()])
            .args(["-smp", &m.hw.cpus.max(1).to_string()])
            .args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-rtc", "base=utc"])
            .args(["-serial", &format!("file:{serial}")])
            .args([
                "-qmp",
                &format!("unix:{},server=on,wait=off", self.qmp.display()),
            ])
            // VirtualBox's SATA controller (an AHCI) sits at PCI device 13.
            .args(["-device", "ahci,id=sata,addr=0xd"])
            .args([
                "-drive",
                &format!("if=none,id=disk0,file={disk},format=qcow2,cache=writeback"),
            ])
            .args(["-device", "ide-hd,drive=disk0,bus=sata.0"]);
        let restore = m
            .saved_state
            .as_deref()
            .filter(|file| Path::new(file).is_file());
        if let Some(file) = restore {
            cmd.args(["-incoming", &format!("exec:cat {}", sh_quote(file))]);
        }
        for l in &self.leases {
            let Some(nic) = m.hw.nics.get(l.slot as usize - 1) else {
                continue;
            };
            let Some((_, tap)) = self.taps.iter().find(|(s, _)| *s == l.slot) else {
                continue;
            };
            cmd.args([
                "-netdev",
                &format!("tap,id=net{},ifname={tap},script=no,downscript=no", l.slot),
            ])
            .args([
                "-device",
                &format!(
                    "{},netdev=net{},mac={},addr={:#x}",
                    nic_model(&nic.nictype),
                    l.slot,
                    mac_colon(&l.mac),
                    pci_device(l.slot)
                ),
            ]);
        }
        let log = std::fs::File::create(format!("{}/qemu.log", m.log_folder()))
            .map_err(|e| format!("cannot write qemu.log: {e}"))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let qemu = self.qemu.insert(
            cmd.stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {QEMU}: {e}"))?,
        );
        // The monitor's socket appears once QEMU has set the machine up.
        let start = Instant::now();
        while !self.qmp.exists() {
            if let Ok(Some(status)) = qemu.try_wait() {
                let log = std::fs::read_to_string(format!("{}/qemu.log", m.log_folder()))
                    .unwrap_or_default();
                return Err(format!("{QEMU} ended ({status}): {}", log.trim()));
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("{QEMU} did not open its monitor in 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(file) = restore {
            self.wait_restored(file)?;
        }
        for (slot, cable) in self.cables.clone() {
            if !cable {
                let _ = self.qmp(&format!(
                    r#"{{"execute":"set_link","arguments":{{"name":"net{slot}","up":false}}}}"#
                ));
            }
        }
        Ok(())
    }

    /// Runs one QMP command; Err with QEMU's error (or the transport's).
    fn qmp(&self, command: &str) -> Result<(), String> {
        self.qmp_answer(command).map(drop)
    }

    /// Runs one QMP command and returns its `return` value.
    fn qmp_answer(&self, command: &str) -> Result<serde_json::Value, String> {
        let stream = UnixStream::connect(&self.qmp).map_err(|e| format!("QMP: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut lines = BufReader::new(stream).lines();
        let mut next = || -> Result<serde_json::Value, String> {
            loop {
                let line = lines
                    .next()
                    .ok_or("QMP: connection closed")?
                    .map_err(|e| format!("QMP: {e}"))?;
                let v: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| format!("QMP: {e}"))?;
                // Events may come between a command and its answer.
                if v.get("event").is_none() {
                    return Ok(v);
                }
            }
        };
        next()?; // greeting
        let mut answer = serde_json::Value::Null;
        for c in [r#"{"execute":"qmp_capabilities"}"#, command] {
            writer
                .write_all(format!("{c}\n").as_bytes())
                .map_err(|e| format!("QMP: {e}"))?;
            answer = next()?;
            if let Some(e) = answer.get("error") {
                return Err(format!("QMP {c}: {e}"));
            }
        }
        Ok(answer.get("return").cloned().unwrap_or_default())
    }

    /// `savestate`: the guest stopped, its memory and devices streamed into `file` by QEMU's
    /// migration (the format QEMU reads back with `-incoming`).
    pub fn save(&mut self, file: &str) -> Result<(), String> {
        if let Some(dir) = Path::new(file).parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        self.qmp(r#"{"execute":"stop"}"#)?;
        let uri = serde_json::to_string(&format!("exec:cat > {}", sh_quote(file)))
            .map_err(|e| e.to_string())?;
        self.qmp(&format!(
            r#"{{"execute":"migrate","arguments":{{"uri":{uri}}}}}"#
        ))?;
        let start = Instant::now();
        loop {
            let status = self.qmp_answer(r#"{"execute":"query-migrate"}"#)?;
            match status.get("status").and_then(|s| s.as_str()) {
                Some("completed") => return Ok(()),
                Some("failed") | Some("cancelled") => {
                    return Err(format!("migration to {file}: {status}"));
                }
                _ if start.elapsed() > SAVE_LIMIT => {
                    return Err(format!("saving to {file} took over {SAVE_LIMIT:?}"));
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Waits until a VM started with `-incoming` has read its saved state, and runs it: the
    /// state was saved stopped, and QEMU restores that run state (its global state), while a
    /// VirtualBox VM resumes from a saved state running.
    fn wait_restored(&self, file: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let status = self.qmp_answer(r#"{"execute":"query-status"}"#)?;
            match status.get("status").and_then(|s| s.as_str()) {
                Some("running") => return Ok(()),
                Some("inmigrate") | None => {}
                Some(_) => {
                    self.qmp(r#"{"execute":"cont"}"#)?;
                    continue;
                }
            }
            let migration = self.qmp_answer(r#"{"execute":"query-migrate"}"#)?;
            if migration.get("status").and_then(|s| s.as_str()) == Some("failed") {
                return Err(format!("restoring {file}: {migration}"));
            }
            if start.elapsed() > SAVE_LIMIT {
                return Err(format!("restoring {file} took over {SAVE_LIMIT:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn is_up(&mut self) -> bool {
        !self.has_exited()
    }

    pub fn has_exited(&mut self) -> bool {
        let ended = self
            .qemu
            .as_mut()
            .is_none_or(|q| matches!(q.try_wait(), Ok(Some(_)) | Err(_)));
        if !self.exited && ended {
            self.exited = true;
            self.teardown();
        }
        self.exited
    }

    pub fn kill(&mut self) {
        if let Some(q) = self.qemu.as_mut()
            && !self.exited
        {
            let _ = q.kill();
            let _ = q.wait();
        }
        self.exited = true;
        self.teardown();
    }

    /// ACPI: QEMU presses the power button; the guest's own init shuts it down and QEMU ends.
    /// A guest that ignores the button is powered off after `timeout`, or two minutes when
    /// that is longer: a real guest under TCG needs time to stop its services.
    pub fn shutdown(&mut self, timeout: Duration) {
        let timeout = timeout.max(Duration::from_secs(120));
        if self.paused {
            let _ = self.qmp(r#"{"execute":"cont"}"#);
        }
        let _ = self.qmp(r#"{"execute":"system_powerdown"}"#);
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self
                .qemu
                .as_mut()
                .is_none_or(|q| matches!(q.try_wait(), Ok(Some(_))))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    pub fn reload(&mut self, m: &Machine, state: &crate::model::state::State) {
        let paused = m.state == PowerState::Paused;
        if paused != self.paused {
            let _ = self.qmp(if paused {
                r#"{"execute":"stop"}"#
            } else {
                r#"{"execute":"cont"}"#
            });
            self.paused = paused;
        }
        for (slot, cable) in self.cables.clone() {
            let now =
                m.hw.nics
                    .get(slot as usize - 1)
                    .map(|n| n.cable)
                    .unwrap_or(true);
            if now != cable {
                let _ = self.qmp(&format!(
                    r#"{{"execute":"set_link","arguments":{{"name":"net{slot}","up":{now}}}}}"#
                ));
            }
        }
        self.cables = self
            .cables
            .iter()
            .map(|(slot, _)| {
                let now = m.hw.nics.get(*slot as usize - 1).map(|n| n.cable);
                (*slot, now.unwrap_or(true))
            })
            .collect();
        self.forwarders.clear();
        self.forwarders = port_forwards::start(m, state, &self.leases, &self.engines);
    }

    /// Frees what the VM used, once: a reset's new QEMU of the same VM listens on the same
    /// monitor path by the time this guest is dropped.
    fn teardown(&mut self) {
        if self.torn_down {
            return;
        }
        self.torn_down = true;
        self.forwarders.clear();
        for link in self.links.drain(..) {
            let _ = ip(&["link", "del", &link]);
        }
        self.taps.clear();
        self.engines.clear();
        let _ = std::fs::remove_file(&self.qmp);
    }
}

impl Drop for QemuGuest {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_layer(dir: &std::path::Path, files: &[&str]) -> String {
        std::fs::create_dir_all(dir).unwrap();
        let image = dir.join("base.vmdk");
        std::fs::write(&image, b"KDMV\x03\0\0\0").unwrap();
        let layer = crate::layers::layer_of(image.to_str().unwrap());
        std::fs::create_dir_all(&layer).unwrap();
        for f in files {
            std::fs::write(format!("{layer}/{f}"), "x").unwrap();
        }
        layer
    }

    #[test]
    fn kvm_only_with_the_processor_s_extensions_and_the_device() {
        let vmx = "processor\t: 0\nflags\t\t: fpu vme vmx sse2\n";
        let plain = "processor\t: 0\nflags\t\t: fpu vme sse2\n";
        assert_eq!(accelerator_for(vmx, true), "kvm:tcg");
        assert_eq!(accelerator_for(vmx, false), "tcg");
        assert_eq!(accelerator_for(plain, true), "tcg");
        assert_eq!(accelerator_for("flags : svm\n", true), "kvm:tcg");
    }

    #[test]
    fn an_appliance_of_files_is_refused_with_what_to_use_instead() {
        let dir = std::env::temp_dir().join(format!("vboxsim-qemu-{}", std::process::id()));
        let seed = base_layer(&dir.join("seed"), &["appliance.json"]);
        let err = disk_chain(&[seed]).unwrap_err();
        assert!(err.contains("make-ova --real"), "{err}");
        let real = base_layer(&dir.join("real"), &[]);
        assert!(is_real_disk(&real));
        let booted = base_layer(
            &dir.join("booted"),
            &["base.qcow2", "base.lock", "disk.qcow2"],
        );
        assert!(
            is_real_disk(&booted),
            "QEMU's own files do not make it an appliance of files"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
