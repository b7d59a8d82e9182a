//! A world for one test (`vboxsim world create`), driven through `vboxsim world exec` the way a
//! VirtualBox user on that host would: VBoxManage, ssh, ping. Destroyed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::BIN;

/// A world for one test; destroyed (VMs, namespace, state) when dropped, even on failure.
pub struct TestWorld {
    pub name: String,
    pub root: PathBuf,
    pub key: PathBuf,
}

pub fn require_host() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the world tests need root (network namespaces, mounts)"
    );
    if let Err(e) = vboxsim::vm::namespace::check_host() {
        panic!("{e}");
    }
    for tool in [
        "/usr/bin/ssh",
        "/usr/bin/ping",
        "/usr/bin/curl",
        "/usr/sbin/nginx",
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/setup"
        );
    }
}

impl TestWorld {
    pub fn new(tag: &str) -> TestWorld {
        TestWorld::create(tag, &[])
    }

    /// A world made with more `world create` options (`--vms qemu`, `--host macos`).
    pub fn create(tag: &str, options: &[&str]) -> TestWorld {
        require_host();
        let name = format!("t{}-{tag}", std::process::id());
        let root = std::env::temp_dir().join(format!("vboxsim-e2e-{name}"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let key = root.join("id_ed25519");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(st.success());
        let w = TestWorld { name, root, key };
        let mut args = vec!["world", "create", w.name.as_str()];
        args.extend_from_slice(options);
        let out = w.tool(&args);
        assert!(
            out.status.success(),
            "world create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        w
    }

    pub fn tool(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("VBOXSIM_ROOT", &self.root)
            .env_remove("VBOXSIM_GUEST")
            .env_remove("VBOXSIM_TIME_SCALE")
            .env_remove("VBOX_USER_HOME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs CMD as the world's host.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        let mut args = vec!["world", "exec", &self.name, "--"];
        args.extend_from_slice(cmd);
        self.tool(&args)
    }

    pub fn vbm(&self, args: &[&str]) -> String {
        let mut cmd = vec!["VBoxManage"];
        cmd.extend_from_slice(args);
        let out = self.exec(&cmd);
        assert!(
            out.status.success(),
            "VBoxManage {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn ssh_args(&self, port: &str, target: &str) -> Vec<String> {
        [
            "ssh",
            "-i",
            &self.key.display().to_string(),
            "-p",
            port,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=3",
            // A session whose guest address went away fails in seconds instead of hanging.
            "-o",
            "ServerAliveInterval=2",
            "-o",
            "ServerAliveCountMax=5",
            "-o",
            "LogLevel=ERROR",
            &format!("student@{target}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Runs a shell command in the guest over SSH (after waiting for sshd).
    pub fn ssh(&self, port: &str, target: &str, command: &str) -> Output {
        let mut args = self.ssh_args(port, target);
        args.push(command.into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.exec(&refs)
    }

    pub fn ssh_ok(&self, target: &str, command: &str) -> String {
        let out = self.ssh("22", target, command);
        assert!(
            out.status.success(),
            "ssh {target} {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn wait_ssh(&self, port: &str, target: &str) {
        self.wait_ssh_for(port, target, Duration::from_secs(60));
    }

    /// Waits up to `limit` for sshd of `target` to run a command.
    pub fn wait_ssh_for(&self, port: &str, target: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.ssh(port, target, "true").status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("sshd of {target}:{port} never answered");
    }

    /// A VM's MAC of adapter `slot`, as showvminfo shows it.
    pub fn mac(&self, vm: &str, slot: u32) -> String {
        self.vbm(&["showvminfo", vm, "--machinereadable"])
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("macaddress{slot}=\""))
                    .map(|m| m.trim_end_matches('"').to_string())
            })
            .unwrap_or_default()
    }

    pub fn vm_state(&self, vm: &str) -> String {
        self.vbm(&["showvminfo", vm, "--machinereadable"])
            .lines()
            .find_map(|l| {
                l.strip_prefix("VMState=\"")
                    .map(|s| s.trim_end_matches('"').to_string())
            })
            .unwrap_or_default()
    }

    pub fn wait_state(&self, vm: &str, want: &str, within: Duration) {
        let start = Instant::now();
        while self.vm_state(vm) != want {
            assert!(start.elapsed() < within, "{vm} never became {want}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn host_key(&self, target: &str) -> String {
        let out = self.exec(&["ssh-keyscan", "-T", "3", "-t", "ed25519", target]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_string()
    }

    pub fn netns_exists(&self) -> bool {
        Path::new(&format!("/run/netns/vboxsim-{}", self.name)).exists()
    }

    /// `vboxnet0` with the host on 192.168.56.1 and an enabled DHCP server at .100 leasing
    /// `lower`–`upper`.
    pub fn host_only_with_dhcp(&self, lower: &str, upper: &str) {
        self.vbm(&["hostonlyif", "create"]);
        self.vbm(&["hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1"]);
        self.vbm(&[
            "dhcpserver",
            "add",
            "--interface",
            "vboxnet0",
            "--server-ip",
            "192.168.56.100",
            "--netmask",
            "255.255.255.0",
            "--lower-ip",
            lower,
            "--upper-ip",
            upper,
            "--enable",
        ]);
    }

    /// `master` imported from `ova` with a `base` snapshot, and `names` cloned from it as linked
    /// clones, the way labctl brings up a lab.
    pub fn linked_clones(&self, ova: &str, names: &[&str]) {
        self.vbm(&["import", ova, "--vsys", "0", "--vmname", "master"]);
        self.vbm(&["snapshot", "master", "take", "base"]);
        for vm in names {
            self.vbm(&[
                "clonevm",
                "master",
                "--snapshot",
                "base",
                "--options",
                "link",
                "--name",
                vm,
                "--register",
            ]);
        }
    }
}

impl Drop for TestWorld {
    fn drop(&mut self) {
        let _ = self.tool(&["world", "destroy", &self.name]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
