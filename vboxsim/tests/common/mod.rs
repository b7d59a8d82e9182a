//! Test harness: a private VirtualBox (own VBOX_USER_HOME and HOME under the temp dir) driven
//! through the real binary invoked as `VBoxManage`; cleaned up on drop, VM processes included.

#![allow(dead_code)]

pub mod test_world;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_vboxsim");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stderr without progress bars (they are checked separately).
    pub fn errors(&self) -> String {
        self.stderr
            .lines()
            .filter(|l| !l.starts_with("0%"))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

pub struct Sim {
    pub dir: PathBuf,
    pub version: String,
    pub extra_env: Vec<(String, String)>,
}

impl Sim {
    pub fn new(name: &str) -> Sim {
        Sim::with_version(name, "7.0.20r163906")
    }

    pub fn with_version(name: &str, version: &str) -> Sim {
        let dir = std::env::temp_dir().join(format!("vboxsim-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).expect("temp dir");
        Sim {
            dir,
            version: version.into(),
            extra_env: Vec::new(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    pub fn vbox_home(&self) -> PathBuf {
        self.dir.join("vbox")
    }

    pub fn machines(&self) -> PathBuf {
        self.home().join("VirtualBox VMs")
    }

    pub fn command(&self, argv0: &str) -> Command {
        let mut c = Command::new(BIN);
        c.arg0(argv0)
            .env("HOME", self.home())
            .env("VBOX_USER_HOME", self.vbox_home())
            .env("VBOXSIM_VERSION", &self.version)
            .env("VBOXSIM_GUEST", "none")
            .env_remove("VBOXSIM_TIME_SCALE")
            .env_remove("VBOXSIM_CALL_LOG")
            .env_remove("VBOXSIM_WORLD")
            .env("VBOXSIM_NETWORKS_CONF", "/nonexistent")
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub fn vbm(&self, args: &[&str]) -> Run {
        Run::from(
            self.command("VBoxManage")
                .args(args)
                .output()
                .expect("run VBoxManage"),
        )
    }

    pub fn tool(&self, args: &[&str]) -> Run {
        Run::from(
            self.command("vboxsim")
                .args(args)
                .output()
                .expect("run vboxsim"),
        )
    }

    /// Runs and asserts exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.vbm(args);
        assert_eq!(
            r.code, 0,
            "VBoxManage {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// An OVA of the default (`course`) flavour with one user; returns its path.
    pub fn ova(&self, name: &str, nics: u32) -> String {
        self.ova_with(name, nics, &[])
    }

    /// An OVA whose appliance has Guest Additions.
    pub fn ova_with_additions(&self, name: &str, nics: u32) -> String {
        self.ova_with(name, nics, &["--guest-additions"])
    }

    fn ova_with(&self, name: &str, nics: u32, extra: &[&str]) -> String {
        let out = self.dir.join(format!("{name}.ova"));
        let key = self.dir.join("id.pub");
        std::fs::write(&key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 test@vboxsim\n").unwrap();
        let r = self.tool(
            &[
                "make-ova",
                "--out",
                out.to_str().unwrap(),
                "--user",
                "student",
                "--authorized-key",
                key.to_str().unwrap(),
                "--name",
                name,
                "--nics",
                &nics.to_string(),
                "--memory",
                "512",
                "--cpus",
                "2",
            ]
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>(),
        );
        assert_eq!(r.code, 0, "make-ova failed: {}", r.stderr);
        out.display().to_string()
    }

    /// `showvminfo --machinereadable` as a key → value map (quotes stripped).
    pub fn info(&self, vm: &str) -> std::collections::BTreeMap<String, String> {
        let r = self.ok(&["showvminfo", vm, "--machinereadable"]);
        r.stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim_matches('"').to_string(),
                    v.trim_matches('"').to_string(),
                )
            })
            .collect()
    }

    pub fn state_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.vbox_home().join("vboxsim-state.json"))
            .unwrap_or_else(|_| "{}".into());
        serde_json::from_str(&text).expect("state is valid JSON")
    }
}

/// Kills the VM processes the state records (by pid, checked against their start time).
pub fn kill_vm_processes(state_file: &Path) {
    let Ok(text) = std::fs::read_to_string(state_file) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    for m in v["machines"].as_array().cloned().unwrap_or_default() {
        let Some(pid) = m["session"]["pid"].as_u64() else {
            continue;
        };
        let start = m["session"]["start_time"].as_u64();
        if vboxsim::store::process_start_time(pid as u32) == start {
            // SAFETY: signalling a process this test started (verified by its start time).
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        kill_vm_processes(&self.vbox_home().join("vboxsim-state.json"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
