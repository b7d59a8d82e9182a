//! Worlds: isolated simulated hosts. A world is a network namespace `vboxsim-NAME` (loopback up)
//! plus a state directory `$VBOXSIM_ROOT/worlds/NAME/{vbox-home,machines,bin}`; `world exec`
//! runs any program as the world's host (inside the namespace, `VBoxManage` first on PATH, the
//! world's `VBOX_USER_HOME`). Destroying a world kills its VM processes (by recorded PID and
//! start time) and every process left in its namespace, then removes the namespace and the state.

use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::net::host_net::ip;
use crate::store::{Store, process_start_time};
use crate::worlds_root::root;

pub struct World {
    pub name: String,
    pub dir: PathBuf,
}

impl World {
    pub fn named(name: &str) -> Result<World, String> {
        let ok = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !name.starts_with('.');
        if !ok {
            return Err(format!(
                "invalid world name '{name}' (letters, digits, '-', '_', '.'; at most 40)"
            ));
        }
        Ok(World {
            name: name.into(),
            dir: root().join("worlds").join(name),
        })
    }

    pub fn netns(&self) -> String {
        format!("vboxsim-{}", self.name)
    }

    fn netns_path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(self.netns())
    }

    pub fn vbox_home(&self) -> PathBuf {
        self.dir.join("vbox-home")
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    pub fn exists(&self) -> bool {
        self.dir.exists() || self.netns_path().exists()
    }

    pub fn create(
        &self,
        replace: bool,
        host: crate::model::host::Host,
        vms: &str,
    ) -> Result<(), String> {
        require_root()?;
        if vms == "qemu" {
            crate::vm::qemu::check_host()?;
        }
        if self.exists() {
            if !replace {
                return Err(format!(
                    "world '{}' already exists (use --replace to recreate it)",
                    self.name
                ));
            }
            self.destroy()?;
        }
        ip(&["netns", "add", &self.netns()])?;
        ip(&["-n", &self.netns(), "link", "set", "lo", "up"])?;
        let machines = self.dir.join("machines");
        for d in [self.vbox_home(), machines.clone(), self.bin()] {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let exe = std::env::current_exe().map_err(|e| format!("cannot find vboxsim: {e}"))?;
        for name in ["VBoxManage", "vboxsim"] {
            let link = self.bin().join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&exe, &link)
                .map_err(|e| format!("{}: {e}", link.display()))?;
        }
        let store = Store::at(&self.vbox_home());
        let lock = store.lock()?;
        let mut state = store.read()?;
        state.machine_folder = Some(machines.display().to_string());
        state.host = host;
        store.write(&state, &lock)?;
        let meta = serde_json::json!({ "name": self.name, "netns": self.netns(), "host": host.name(), "vms": vms, "created_ns": crate::model::ids::now_ns() });
        std::fs::write(self.dir.join("world.json"), meta.to_string()).map_err(|e| e.to_string())
    }

    /// What runs the world's VMs: `namespace` (the default) or `qemu` (`--vms qemu`).
    pub fn vms(&self) -> String {
        std::fs::read(self.dir.join("world.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("vms").and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_else(|| "namespace".into())
    }

    /// Replaces this process with `cmd` run as the world's host; returns only on failure.
    pub fn exec(&self, cmd: &[String]) -> String {
        if !self.netns_path().exists() || !self.dir.exists() {
            return format!(
                "world '{}' does not exist (vboxsim world create {})",
                self.name, self.name
            );
        }
        let Some(program) = cmd.first() else {
            return "world exec needs a command after --".into();
        };
        let ns = match std::fs::File::open(self.netns_path()) {
            Ok(f) => f,
            Err(e) => return format!("cannot open {}: {e}", self.netns_path().display()),
        };
        // SAFETY: setns on a namespace file we opened; affects this (single-threaded) process.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return format!(
                "cannot enter {}: {} (needs root)",
                self.netns(),
                std::io::Error::last_os_error()
            );
        }
        let path = match std::env::var("PATH") {
            Ok(p) if !p.is_empty() => format!("{}:{p}", self.bin().display()),
            _ => format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                self.bin().display()
            ),
        };
        let mut command = Command::new(program);
        // The world's VMs run on what it was made with, unless the caller says otherwise.
        if std::env::var_os("VBOXSIM_GUEST").is_none() && self.vms() == "qemu" {
            command.env("VBOXSIM_GUEST", "qemu");
        }
        let err = command
            .args(&cmd[1..])
            .env("PATH", path)
            .env("VBOX_USER_HOME", self.vbox_home())
            .env("VBOXSIM_WORLD", &self.name)
            .env("VBOXSIM_ROOT", root())
            .exec();
        format!("cannot run {program}: {err}")
    }

    /// Stops everything of the world and removes it; fine on half-made or half-destroyed worlds.
    pub fn destroy(&self) -> Result<(), String> {
        require_root()?;
        let mut victims: Vec<(u32, u64)> = Vec::new();
        if let Ok(state) = Store::at(&self.vbox_home()).read_raw() {
            for m in &state.machines {
                if let Some(s) = &m.session {
                    victims.push((s.pid, s.start_time));
                }
            }
        }
        if let Ok(meta) = std::fs::metadata(self.netns_path()) {
            victims.extend(processes_in_netns(meta.dev(), meta.ino()));
        }
        for (pid, start) in &victims {
            if process_start_time(*pid) == Some(*start) {
                // SAFETY: a VM process or a process living in this world's namespace.
                unsafe {
                    libc::kill(*pid as i32, libc::SIGKILL);
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while victims
            .iter()
            .any(|(p, s)| process_start_time(*p) == Some(*s))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.netns_path().exists() {
            ip(&["netns", "delete", &self.netns()])?;
        }
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| format!("cannot remove {}: {e}", self.dir.display()))?;
        }
        Ok(())
    }
}

/// (pid, start time) of every process whose network namespace is the given one.
fn processes_in_netns(dev: u64, ino: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            && m.dev() == dev
            && m.ino() == ino
            && let Some(start) = process_start_time(pid)
        {
            out.push((pid, start));
        }
    }
    out
}

fn require_root() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("worlds need root (network namespaces, mounts): run as root".into());
    }
    Ok(())
}

pub fn list() -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(root().join("worlds")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let healthy = Path::new("/run/netns")
                .join(format!("vboxsim-{name}"))
                .exists();
            out.push((name, healthy));
        }
    }
    out.sort();
    out
}

pub fn main(args: &[String]) -> i32 {
    let fail = |msg: String| {
        eprintln!("vboxsim world: {msg}");
        1
    };
    match args.first().map(String::as_str) {
        Some("create") => {
            let mut name = None;
            let mut replace = false;
            let mut host = crate::model::host::Host::Linux;
            let mut vms = "namespace".to_string();
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--replace" => replace = true,
                    "--host" => {
                        let value = rest.next().map(String::as_str).unwrap_or("");
                        let Some(parsed) = crate::model::host::Host::parse(value) else {
                            return fail(format!(
                                "--host must be one of {}, not '{value}'",
                                crate::model::host::Host::NAMES
                            ));
                        };
                        host = parsed;
                    }
                    "--vms" => {
                        let value = rest.next().map(String::as_str).unwrap_or("");
                        if !matches!(value, "namespace" | "qemu") {
                            return fail(format!("--vms must be namespace or qemu, not '{value}'"));
                        }
                        vms = value.to_string();
                    }
                    n if name.is_none() && !n.starts_with('-') => name = Some(n.to_string()),
                    other => return fail(format!("unexpected argument '{other}'")),
                }
            }
            let Some(name) = name else {
                return fail(
                    "usage: vboxsim world create NAME [--replace] [--host linux|macos|windows] [--vms namespace|qemu]"
                        .into(),
                );
            };
            match World::named(&name).and_then(|w| w.create(replace, host, &vms)) {
                Ok(()) => 0,
                Err(e) => fail(e),
            }
        }
        Some("exec") => {
            let (Some(name), Some("--")) = (args.get(1), args.get(2).map(String::as_str)) else {
                return fail("usage: vboxsim world exec NAME -- CMD [ARGS...]".into());
            };
            match World::named(name) {
                Ok(w) => fail(w.exec(&args[3..])),
                Err(e) => fail(e),
            }
        }
        Some("destroy") => {
            let Some(name) = args.get(1) else {
                return fail("usage: vboxsim world destroy NAME".into());
            };
            match World::named(name).and_then(|w| w.destroy()) {
                Ok(()) => 0,
                Err(e) => fail(e),
            }
        }
        Some("list") => {
            for (name, healthy) in list() {
                if healthy {
                    println!("{name}");
                } else {
                    println!("{name} (namespace missing: destroy it)");
                }
            }
            0
        }
        _ => fail(format!(
            "unknown world command\n{}",
            crate::tool::usage::USAGE
        )),
    }
}
