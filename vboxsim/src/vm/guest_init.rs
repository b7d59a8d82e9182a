//! The guest's init (`vboxsim guest-init CONFIG`). Stage 1 runs in the guest's fresh mount,
//! UTS, network and IPC namespaces (set up by the VM process) and forks stage 2, PID 1 of the
//! guest's PID namespace, which builds the root filesystem (overlays + pivot_root), takes the
//! appliance's host name, names the NICs and brings up what the appliance's own network
//! configuration says (`vm::guest_network`), creates the appliance user, makes SSH host keys that
//! belong to this VM, starts sshd, reaps zombies, reports addresses when the appliance has Guest
//! Additions, and on SIGTERM (ACPI power button) or a power command in the guest
//! (`vm::guest_power`) stops every service cleanly and halts or reboots.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::appliance::flavour::{self, ApplianceInfo};
use crate::appliance::make_ova::{ApplianceUser, USER_FILE};
use crate::vm::guest_config::GuestConfig;
use crate::vm::{guest_network, guest_power};

const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HOSTKEY_MARKER: &str = "/var/lib/vboxsim-guest/hostkeys-of";
/// Written once the appliance's login user is made: that is the appliance's installation, done
/// once per disk, so what the guest changes afterwards (a key Vagrant inserts and the insecure
/// key it removes, a new password) stays on the disk as on a real one.
const LOGIN_MARKER: &str = "/var/lib/vboxsim-guest/login-installed";

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn mount(
    src: &str,
    target: &str,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> Result<(), String> {
    let (s, t, f, d) = (cstr(src), cstr(target), cstr(fstype), cstr(data));
    // SAFETY: mount(2) with valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            t.as_ptr(),
            if fstype.is_empty() {
                std::ptr::null()
            } else {
                f.as_ptr()
            },
            flags,
            if data.is_empty() {
                std::ptr::null()
            } else {
                d.as_ptr().cast()
            },
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "mount {fstype} {src} on {target} ({data}): {}",
            std::io::Error::last_os_error()
        ))
    }
}

fn log(msg: &str) {
    eprintln!("guest-init: {msg}");
}

/// Runs a program of the guest with its clean environment; its stderr is the error.
pub(crate) fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .env_clear()
        .env("PATH", GUEST_PATH)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub fn main(args: &[String]) -> i32 {
    let Some(path) = args.first() else {
        eprintln!("vboxsim guest-init: internal entry point (CONFIG)");
        return 2;
    };
    let cfg: GuestConfig = match std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(c) => c,
        None => {
            log(&format!("cannot read {path}"));
            return 1;
        }
    };
    let mut go = String::new();
    if std::io::stdin().lock().read_line(&mut go).is_err() || go.trim() != "go" {
        return 1;
    }
    let sigset = block_signals();
    // SAFETY: fork in a single-threaded process; the child only runs Rust code of this crate.
    let child = unsafe { libc::fork() };
    if child < 0 {
        log("fork failed");
        return 1;
    }
    if child == 0 {
        // SAFETY: ask to die with stage 1.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
        let code = match pid1(&cfg, &sigset) {
            Ok(code) => code,
            Err(e) => {
                log(&e);
                1
            }
        };
        // SAFETY: leave the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    loop {
        let mut status = 0;
        // SAFETY: non-blocking wait for our one child.
        let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
        if r == child {
            return if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                1
            };
        }
        if let Some(sig) = wait_signal(&sigset, Duration::from_millis(200))
            && (sig == libc::SIGUSR1 || sig == libc::SIGTERM)
        {
            // SAFETY: forward the ACPI request to the guest's PID 1.
            unsafe {
                libc::kill(child, libc::SIGTERM);
            }
        }
    }
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a zeroed local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [
            libc::SIGTERM,
            libc::SIGUSR1,
            libc::SIGCHLD,
            libc::SIGINT,
            libc::SIGPWR,
            libc::SIGHUP,
            guest_power::poweroff_signal(),
            guest_power::reboot_signal(),
        ] {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_signal(set: &libc::sigset_t, timeout: Duration) -> Option<i32> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: sigtimedwait with valid pointers.
    let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
    (sig > 0).then_some(sig)
}

fn unblock_for_children(set: &libc::sigset_t) {
    // Children must not inherit our blocked signals (sshd, services).
    // SAFETY: restores the mask in this process; spawned children inherit the default mask.
    unsafe {
        libc::sigprocmask(libc::SIG_UNBLOCK, set, std::ptr::null_mut());
    }
}

/// PID 1 of the guest; returns its exit status (`guest_power::REBOOT_STATUS` to reboot).
fn pid1(cfg: &GuestConfig, sigset: &libc::sigset_t) -> Result<i32, String> {
    build_root(cfg)?;
    // SAFETY: clearing the environment of PID 1 before anything reads it.
    for (k, _) in std::env::vars_os() {
        unsafe { std::env::remove_var(k) };
    }
    unsafe {
        std::env::set_var("PATH", GUEST_PATH);
        std::env::set_var("HOME", "/root");
        std::env::set_var("LANG", "C.UTF-8");
    }
    let appliance = flavour::read("/");
    set_hostname(&appliance);
    let nics = guest_network::plug(&cfg.nics, &appliance)?;
    // /run is a fresh tmpfs: create what packages declare in tmpfiles.d (e.g. /run/haproxy),
    // as systemd does at boot.
    if Path::new("/usr/bin/systemd-tmpfiles").exists()
        && let Err(e) = run("systemd-tmpfiles", &["--create", "--boot"])
    {
        log(&format!("tmpfiles: {e}"));
    }
    // networking.service runs before network.target, which sshd waits for.
    for problem in guest_network::bring_up(&nics, &appliance) {
        log(&format!("network: {problem}"));
    }
    if let Err(e) = apply_user() {
        log(&format!("appliance user: {e}"));
    }
    host_keys(&cfg.uuid)?;
    // Spawned children get a clean signal mask; PID 1 keeps blocking and waits synchronously.
    if cfg.boot_delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(cfg.boot_delay_ms));
    }
    if cfg.start_sshd {
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.args([
            "-o",
            "UsePAM=no",
            "-o",
            "PasswordAuthentication=yes",
            "-o",
            "PubkeyAuthentication=yes",
        ])
        .stdin(Stdio::null());
        let set = *sigset;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                unblock_for_children(&set);
                Ok(())
            });
        }
        if !cmd.status().map(|s| s.success()).unwrap_or(false) {
            log("sshd failed to start");
        }
    }
    start_enabled_services(sigset);
    // Booted: the VM process learns it (and, with Guest Additions, what VBoxService reports).
    let mut out = std::io::stdout();
    let _ = out.write_all(b"up\n");
    let _ = out.flush();
    let mut reported = None;
    let mut next_report = Instant::now();
    loop {
        reap();
        if appliance.guest_additions && Instant::now() >= next_report {
            next_report = Instant::now() + Duration::from_secs(1);
            let now = guest_network::report(&nics);
            if reported.as_ref() != Some(&now) {
                if let Ok(line) = serde_json::to_string(&now) {
                    let _ = out.write_all(format!("net {line}\n").as_bytes());
                    let _ = out.flush();
                }
                reported = Some(now);
            }
        }
        match wait_signal(sigset, Duration::from_millis(500)) {
            Some(libc::SIGTERM) | Some(libc::SIGPWR) | Some(libc::SIGINT) => {
                shutdown();
                return Ok(0);
            }
            Some(sig) if sig == guest_power::poweroff_signal() => {
                log("power off requested in the guest");
                shutdown();
                return Ok(0);
            }
            Some(sig) if sig == guest_power::reboot_signal() => {
                log("reboot requested in the guest");
                shutdown();
                return Ok(guest_power::REBOOT_STATUS);
            }
            _ => {}
        }
    }
}

/// The appliance keeps its own host name (its `/etc/hostname`) until someone changes it.
fn set_hostname(appliance: &ApplianceInfo) {
    let name = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| appliance.hostname.clone());
    let h = cstr(&name);
    // SAFETY: sethostname with a valid buffer, in our own UTS namespace.
    unsafe {
        libc::sethostname(h.as_ptr(), name.len());
    }
}

/// Where a VM keeps the services that were enabled when it first booted.
const SERVICE_BASELINE: &str = "/var/lib/vboxsim-guest/baseline-services";

/// Starts the services enabled in this VM, as systemd does at boot. The guest's base is this
/// machine's root, whose own enabled services are not the appliance's: the units wanted at the
/// VM's first boot are its baseline (never started), those enabled since — by provisioning,
/// `systemctl enable` — start, in the background, on every boot.
fn start_enabled_services(sigset: &libc::sigset_t) {
    let listed = Command::new("/usr/bin/systemctl")
        .arg("default-services")
        .env_clear()
        .env("PATH", GUEST_PATH)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(listed) = listed else {
        return;
    };
    let wanted: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let Ok(baseline) = std::fs::read_to_string(SERVICE_BASELINE) else {
        if let Some(dir) = Path::new(SERVICE_BASELINE).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(SERVICE_BASELINE, wanted.join("\n") + "\n");
        return;
    };
    let baseline: Vec<&str> = baseline.lines().collect();
    let enabled: Vec<&String> = wanted
        .iter()
        .filter(|unit| !baseline.contains(&unit.as_str()))
        .collect();
    if enabled.is_empty() {
        return;
    }
    log(&format!(
        "starting enabled services: {}",
        enabled
            .iter()
            .map(|unit| unit.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let mut cmd = Command::new("/usr/bin/systemctl");
    cmd.arg("start")
        .args(enabled)
        .env_clear()
        .env("PATH", GUEST_PATH)
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let set = *sigset;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            unblock_for_children(&set);
            Ok(())
        });
    }
    if let Err(e) = cmd.spawn() {
        log(&format!("cannot start enabled services: {e}"));
    }
}

fn reap() {
    loop {
        let mut status = 0;
        // SAFETY: reaping any exited child (PID 1 duty).
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r <= 0 {
            break;
        }
    }
}

/// ACPI shutdown: services get SIGTERM (as systemd's final stage does), then a grace, then SIGKILL.
fn shutdown() {
    log("ACPI shutdown: stopping services");
    // SAFETY: signal every process of the guest's PID namespace (PID 1 itself is spared).
    unsafe {
        libc::kill(-1, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        reap();
        // SAFETY: probe whether any process is left.
        let any = unsafe { libc::kill(-1, 0) } == 0;
        if !any {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above, for stragglers.
    unsafe {
        libc::kill(-1, libc::SIGKILL);
        libc::sync();
    }
    reap();
}

/// `/usr/bin/systemctl` of a guest: the systemctl replacement, except that users other than
/// root read the system's unit states from `/run` as they would from systemd (the replacement
/// otherwise looks in a private folder of theirs when `/run` is not writable, and reports
/// every service of the system as inactive), and unit names with glob characters match only
/// units in memory, as systemctl(1) says ("Parameter Syntax": patterns match units that are
/// active or failed), so `systemctl stop 'netplan-wpa-*.service'` with none running succeeds, as
/// netplan apply needs; the replacement would call the pattern an unknown unit. Changing a unit
/// still needs root. Init scripts it runs are not redirected to systemctl again, as those
/// systemd runs are not (once netplan has made /run/systemd/system, Debian's LSB hook would).
fn systemctl_wrapper(replacement: &str) -> String {
    format!(
        r#"#!/usr/bin/python3
import fnmatch, importlib.util, os, subprocess, sys
{power}def expand_patterns(argv):
    verbs = ("start", "stop", "restart", "try-restart", "reload", "reload-or-restart",
             "kill", "is-active", "is-failed", "status")
    words = [a for a in argv if not a.startswith("-")]
    if not words or words[0] not in verbs or not any(set(w) & set("*?[") for w in words[1:]):
        return argv
    listed = subprocess.run([sys.executable, __file__, "list-units", "--no-legend"],
                            capture_output=True, text=True).stdout.splitlines()
    in_memory = [f[0] for f in (l.split() for l in listed) if len(f) > 2 and f[2] in ("active", "failed")]
    out = []
    for a in argv:
        if a.startswith("-") or a == words[0] or not (set(a) & set("*?[")):
            out.append(a)
        else:
            out.extend(u for u in in_memory if fnmatch.fnmatchcase(u, a))
    if not [a for a in out if not a.startswith("-")][1:]:
        sys.exit(3 if words[0] in ("is-active", "is-failed", "status") else 0)
    return out
sys.argv[1:] = expand_patterns(sys.argv[1:])
# systemd runs a SysV script as its own child (PPID 1), so Debian's init-functions
# (/lib/lsb/init-functions.d/40-systemd) do not redirect it back to systemctl; here the
# replacement is the parent, and this variable is how that hook is told the same.
os.environ["SYSTEMCTL_SKIP_REDIRECT"] = "1"
spec = importlib.util.spec_from_file_location("systemctl3", {replacement:?})
systemctl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(systemctl)
if os.geteuid() != 0:
    user_run = systemctl.get_RUN
    systemctl.get_RUN = lambda root=False: "/run" if root and os.path.isdir("/run") else user_run(root)
sys.argv[0] = "systemctl"
sys.exit(systemctl.main())
"#,
        power = guest_power::systemctl_lines(),
    )
}

/// Guests have no network beyond their world, and their packages are this machine's: apt in a
/// guest sees no package sources, so installing a package this machine has is a no-op (never
/// an attempt to download a newer version), one it lacks is "Unable to locate package", and
/// `apt-get update` does nothing.
fn offline_apt(additions: &str) -> Result<(), String> {
    let conf_dir = format!("{additions}/etc/apt/apt.conf.d");
    let state = format!("{additions}/var/lib/vboxsim-guest/apt");
    for dir in [
        conf_dir.clone(),
        format!("{state}/lists/partial"),
        format!("{state}/sources.list.d"),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{dir}: {e}"))?;
    }
    let conf = format!("{conf_dir}/99vboxsim-offline");
    std::fs::write(
        &conf,
        "// vboxsim: guests have no package sources (see vboxsim's README).\n\
         Dir::Etc::SourceList \"/dev/null\";\n\
         Dir::Etc::SourceParts \"/var/lib/vboxsim-guest/apt/sources.list.d\";\n\
         Dir::State::Lists \"/var/lib/vboxsim-guest/apt/lists\";\n",
    )
    .map_err(|e| format!("{conf}: {e}"))
}

fn build_root(cfg: &GuestConfig) -> Result<(), String> {
    mount("", "/", "", libc::MS_REC | libc::MS_PRIVATE, "")?;
    mount("tmpfs", &cfg.additions_mnt, "tmpfs", 0, "mode=0755")?;
    let bin = format!("{}/usr/bin", cfg.additions_mnt);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{bin}: {e}"))?;
    let wrapper = format!("{bin}/systemctl");
    std::fs::write(&wrapper, systemctl_wrapper(&cfg.systemctl))
        .map_err(|e| format!("{wrapper}: {e}"))?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{wrapper}: {e}"))?;
    let sbin = format!("{}/usr/sbin", cfg.additions_mnt);
    std::fs::create_dir_all(&sbin).map_err(|e| format!("{sbin}: {e}"))?;
    for command in guest_power::COMMANDS {
        let path = format!("{sbin}/{command}");
        std::fs::write(&path, guest_power::script()).map_err(|e| format!("{path}: {e}"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{path}: {e}"))?;
    }
    let local_sbin = format!("{}/usr/local/sbin", cfg.additions_mnt);
    std::fs::create_dir_all(&local_sbin).map_err(|e| format!("{local_sbin}: {e}"))?;
    let udevadm = format!("{local_sbin}/udevadm");
    std::fs::write(&udevadm, guest_network::UDEVADM).map_err(|e| format!("{udevadm}: {e}"))?;
    std::fs::set_permissions(&udevadm, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{udevadm}: {e}"))?;
    offline_apt(&cfg.additions_mnt)?;
    // The whole host root is the appliance's base; "/" and the VM's own layers cannot be lowers
    // of one overlay (they would overlap), so the base is an overlay of its own, stacked below.
    mount(
        "overlay",
        &cfg.base_mnt,
        "overlay",
        libc::MS_RDONLY,
        &format!("lowerdir={}:/", cfg.additions_mnt),
    )?;
    let mut lowers: Vec<String> = cfg.lower_layers.iter().rev().cloned().collect();
    lowers.push(cfg.base_mnt.clone());
    mount(
        "overlay",
        &cfg.root_mnt,
        "overlay",
        0,
        &format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            cfg.upper,
            cfg.work
        ),
    )?;
    let r = &cfg.root_mnt;
    mount(
        "/dev",
        &format!("{r}/dev"),
        "",
        libc::MS_BIND | libc::MS_REC,
        "",
    )?;
    mount(
        "proc",
        &format!("{r}/proc"),
        "proc",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "",
    )?;
    mount(
        "sysfs",
        &format!("{r}/sys"),
        "sysfs",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "",
    )?;
    mount(
        "tmpfs",
        &format!("{r}/run"),
        "tmpfs",
        libc::MS_NOSUID | libc::MS_NODEV,
        "mode=0755",
    )?;
    mount(
        "tmpfs",
        &format!("{r}/tmp"),
        "tmpfs",
        libc::MS_NOSUID | libc::MS_NODEV,
        "mode=1777",
    )?;
    let pts = format!("{r}/dev/pts");
    if mount(
        "devpts",
        &pts,
        "devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5",
    )
    .is_ok()
    {
        let _ = mount(
            &format!("{pts}/ptmx"),
            &format!("{r}/dev/ptmx"),
            "",
            libc::MS_BIND,
            "",
        );
    }
    for h in &cfg.hide {
        let target = format!("{r}{h}");
        if Path::new(&target).is_dir() {
            let _ = mount("tmpfs", &target, "tmpfs", 0, "mode=0700,size=1m");
        }
    }
    std::env::set_current_dir(r).map_err(|e| format!("chdir {r}: {e}"))?;
    let dot = cstr(".");
    // SAFETY: pivot_root(".", ".") stacks the old root on top of the new one; detaching it
    // leaves only the guest's root (the documented trick that needs no put_old directory).
    unsafe {
        if libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) != 0 {
            return Err(format!("pivot_root: {}", std::io::Error::last_os_error()));
        }
        if libc::umount2(dot.as_ptr(), libc::MNT_DETACH) != 0 {
            return Err(format!(
                "umount old root: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))
}

/// Creates the appliance's login user from the disk, on the disk's first boot only (see
/// LOGIN_MARKER); a clone shares its parent's disk contents, marker included.
fn apply_user() -> Result<(), String> {
    if Path::new(LOGIN_MARKER).exists() {
        return Ok(());
    }
    let path = format!("/{USER_FILE}");
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    let user: ApplianceUser = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if !passwd
        .lines()
        .any(|l| l.split(':').next() == Some(user.name.as_str()))
    {
        run("useradd", &["-m", "-s", "/bin/bash", &user.name])?;
    }
    match &user.password_hash {
        Some(hash) => run("usermod", &["-p", hash, &user.name])?,
        None => run("usermod", &["-p", "*", &user.name])?,
    }
    let home = passwd_home(&user.name).unwrap_or_else(|| format!("/home/{}", user.name));
    let ssh = format!("{home}/.ssh");
    std::fs::create_dir_all(&ssh).map_err(|e| format!("{ssh}: {e}"))?;
    let keys = format!("{ssh}/authorized_keys");
    std::fs::write(
        &keys,
        user.authorized_keys
            .iter()
            .map(|k| format!("{k}\n"))
            .collect::<String>(),
    )
    .map_err(|e| format!("{keys}: {e}"))?;
    let _ = std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700));
    let _ = std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600));
    run("chown", &["-R", &format!("{0}:{0}", user.name), &ssh])?;
    let sudoers = format!("/etc/sudoers.d/vboxsim-{}", user.name);
    std::fs::write(&sudoers, format!("{} ALL=(ALL) NOPASSWD:ALL\n", user.name))
        .map_err(|e| format!("{sudoers}: {e}"))?;
    let _ = std::fs::set_permissions(&sudoers, std::fs::Permissions::from_mode(0o440));
    if let Some(parent) = Path::new(LOGIN_MARKER).parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(LOGIN_MARKER, "").map_err(|e| format!("{LOGIN_MARKER}: {e}"))
}

fn passwd_home(name: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .and_then(|l| l.split(':').nth(5))
        .map(str::to_string)
}

/// Host keys belong to the VM's disk: made on the first boot of this VM (a clone gets its own),
/// kept across reboots. The host's own keys (seen through the base layer) are never used.
fn host_keys(uuid: &str) -> Result<(), String> {
    if std::fs::read_to_string(HOSTKEY_MARKER)
        .map(|s| s.trim() == uuid)
        .unwrap_or(false)
    {
        return Ok(());
    }
    if let Ok(dir) = std::fs::read_dir("/etc/ssh") {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with("ssh_host_") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    run("ssh-keygen", &["-A"])?;
    if let Some(parent) = Path::new(HOSTKEY_MARKER).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(HOSTKEY_MARKER, uuid).map_err(|e| format!("{HOSTKEY_MARKER}: {e}"))
}
