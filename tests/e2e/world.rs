//! A simulated VirtualBox host for one test: a vboxsim world (its own network namespace and
//! VirtualBox state under a private `VBOXSIM_ROOT`), an appliance, and a folder for lab files.
//! labctl and VBoxManage run inside it as a user would run them; everything is torn down when
//! the world is dropped, even when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// labctl, as cargo built it for these tests.
pub const LABCTL: &str = env!("CARGO_BIN_EXE_labctl");

/// The password of the test appliance's login user; tests check it never shows.
pub const PASSWORD: &str = "Pw-e2e-7Xq2-notshown";

/// The start of a test lab named `name`: the appliance `base.ova` (user `student`, password
/// from `LAB_PASSWORD`) and a host-only network `lab` on 192.168.56.0/24.
pub fn lab_preamble(name: &str) -> String {
    format!(
        "[lab]\nname = \"{name}\"\n\n[images.base]\nova = \"base.ova\"\nuser = \"student\"\n\
         password_env = \"LAB_PASSWORD\"\n\n[networks.lab]\ntype = \"hostonly\"\ncidr = \"192.168.56.0/24\"\n"
    )
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Both streams, for messages and for searching.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with both streams unless the command exited with `code`.
    #[track_caller]
    pub fn expect(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: exit {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The vboxsim binary: built beside labctl by `cargo build --workspace`.
pub fn vboxsim() -> PathBuf {
    let path = Path::new(LABCTL).with_file_name("vboxsim");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`; scripts/test does)",
        path.display()
    );
    path
}

/// Fails loudly, saying what to install, when this machine cannot run simulated worlds.
pub fn require_host() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "the end-to-end tests need root (network namespaces, mounts): run them as root"
    );
    for (tool, package) in [
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh", "openssh-client"),
        ("/usr/bin/ping", "iputils-ping"),
        ("/usr/sbin/haproxy", "haproxy"),
        ("/usr/sbin/nginx", "nginx"),
        (
            "/usr/local/lib/vboxsim/systemctl3.py",
            "docker-systemctl-replacement",
        ),
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing ({package}): run scripts/setup as root"
        );
    }
}

/// One simulated host.
pub struct World {
    /// The world's name.
    pub name: String,
    /// `VBOXSIM_ROOT` of this world (and nothing else).
    root: PathBuf,
    /// Folder holding lab files, the appliance and labctl's state folder.
    pub dir: PathBuf,
    /// The VirtualBox release the world emulates (`VBOXSIM_VERSION`), when not the default.
    version: Option<String>,
}

static WORLDS: AtomicU32 = AtomicU32::new(0);

impl World {
    /// Creates a world with an appliance `base.ova` (user `student`, password [`PASSWORD`]).
    pub fn new(tag: &str) -> Self {
        Self::on_host(tag, "linux")
    }

    /// The same, on a simulated host of another kind (`macos`, `windows`).
    pub fn on_host(tag: &str, host: &str) -> Self {
        require_host();
        let number = WORLDS.fetch_add(1, Ordering::SeqCst);
        let name = format!("e{}-{number}-{tag}", std::process::id());
        let root = std::env::temp_dir().join(format!("labctl-e2e-{name}"));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("lab");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let world = Self {
            name,
            root,
            dir,
            version: None,
        };
        let made = world.tool(&[
            "make-ova",
            "--out",
            &world.dir.join("base.ova").display().to_string(),
            "--user",
            "student",
            "--password",
            PASSWORD,
        ]);
        assert!(
            made.status.success(),
            "make-ova: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let created = world.tool(&["world", "create", &world.name, "--host", host]);
        assert!(
            created.status.success(),
            "world create: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        world
    }

    /// The same world answering as another VirtualBox release (`6.1.50r161033`, `7.1.4r165100`).
    pub fn emulating(mut self, version: &str) -> Self {
        self.version = Some(version.to_string());
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(vboxsim());
        match &self.version {
            Some(version) => command.env("VBOXSIM_VERSION", version),
            None => command.env_remove("VBOXSIM_VERSION"),
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .env("VBOXSIM_ROOT", &self.root)
            .env("LAB_PASSWORD", PASSWORD)
            .env_remove("VBOXSIM_GUEST")
            .env_remove("VBOXSIM_TIME_SCALE")
            .env_remove("VBOXSIM_CALL_LOG")
            .env_remove("VBOX_USER_HOME")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("LABCTL_LAB")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    fn tool(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run vboxsim")
    }

    fn inside(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut all = vec!["world", "exec", &self.name, "--", program];
        all.extend_from_slice(args);
        let mut command = self.command(&all);
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// Runs labctl as the world's host, in the lab folder.
    pub fn labctl(&self, args: &[&str]) -> Run {
        self.labctl_with(args, &[])
    }

    /// Runs labctl with extra environment variables.
    pub fn labctl_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.inside(LABCTL, args, env).output().expect("run labctl"))
    }

    /// Starts labctl without waiting for it (its output is captured).
    pub fn spawn_labctl(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.inside(LABCTL, args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start labctl")
    }

    /// What the world's VirtualBox shows of its networks and DHCP servers, and what its DHCP
    /// servers and VMs logged: for the message of a failed end-to-end test.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for list in ["hostonlyifs", "natnets", "dhcpservers", "runningvms"] {
            out.push_str(&format!(
                "--- list {list}\n{}",
                self.vbox(&["list", list]).all()
            ));
        }
        out.push_str(&format!(
            "--- ip addr\n{}",
            self.host("ip", &["-br", "addr"]).all()
        ));
        let world = self.root.join("worlds").join(&self.name);
        let logs = [world.join("vbox-home")]
            .into_iter()
            .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
            .map(|entry| entry.path())
            .filter(|path| {
                let name = path.display().to_string();
                name.ends_with("-Dhcpd.log")
                    || name.ends_with("-Dhcpd.dnsmasq.conf")
                    || name.ends_with("-Dhcpd.leases")
            });
        for path in logs {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(25).collect();
            out.push_str(&format!("--- {}\n", path.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        for machine in std::fs::read_dir(world.join("machines"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let log = machine.path().join("Logs/VBox.log");
            if let Ok(text) = std::fs::read_to_string(&log) {
                let tail: Vec<&str> = text.lines().rev().take(8).collect();
                out.push_str(&format!("--- {}\n", log.display()));
                for line in tail.into_iter().rev() {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Runs VBoxManage as the world's host.
    pub fn vbox(&self, args: &[&str]) -> Run {
        Run::from(
            self.inside("VBoxManage", args, &[])
                .output()
                .expect("run VBoxManage"),
        )
    }

    /// Runs VBoxManage and returns its stdout; panics when it fails.
    #[track_caller]
    pub fn vbox_ok(&self, args: &[&str]) -> String {
        let run = self.vbox(args);
        run.expect(0, &format!("VBoxManage {}", args.join(" ")));
        run.stdout
    }

    /// Runs any program as the world's host.
    pub fn host(&self, program: &str, args: &[&str]) -> Run {
        self.host_with(program, args, &[])
    }

    /// Runs any program as the world's host, with extra environment variables.
    pub fn host_with(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(
            self.inside(program, args, env)
                .output()
                .expect("run a program"),
        )
    }

    /// Runs `vboxsim fault …` against this world's VirtualBox.
    pub fn fault(&self, args: &[&str]) {
        let mut all = vec!["fault"];
        all.extend_from_slice(args);
        let program = vboxsim().display().to_string();
        self.host(&program, &all).expect(0, "vboxsim fault");
    }

    /// Writes a file into the lab folder and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("lab sub-folder");
        }
        std::fs::write(&path, text).expect("write lab file");
        path
    }

    /// The registered VM names.
    pub fn vm_names(&self) -> Vec<String> {
        self.vbox_ok(&["list", "vms"])
            .lines()
            .filter_map(|line| line.split('"').nth(1).map(str::to_string))
            .collect()
    }

    /// Every file under the world's machine folder (VM settings, disks, layers, logs), as
    /// paths relative to it: what a destroyed lab must not leave behind.
    pub fn machine_files(&self) -> Vec<String> {
        let base = self.root.join("worlds").join(&self.name).join("machines");
        let mut found = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() && !path.is_symlink() {
                    stack.push(path);
                } else {
                    found.push(
                        path.strip_prefix(&base)
                            .unwrap_or(&path)
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        found.sort();
        found
    }
}

/// The calls a VBOXSIM_CALL_LOG recorded.
pub fn calls(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|call| {
            call["argv"]
                .as_array()
                .map(|argv| {
                    argv.iter()
                        .filter_map(|arg| arg.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// Reads what a spawned labctl printed once it ended.
pub fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().expect("wait for labctl"))
}

impl Drop for World {
    fn drop(&mut self) {
        let destroyed = self.tool(&["world", "destroy", &self.name]);
        if !destroyed.status.success() {
            eprintln!(
                "world destroy {}: {}",
                self.name,
                String::from_utf8_lossy(&destroyed.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
