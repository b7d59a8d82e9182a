//! The VM process (VBoxHeadless's role): started detached by `startvm`, it holds the VM's
//! session, runs the guest, answers poweroff/ACPI/reset/reload signals, and records the
//! outcome in the store. Its death without a word makes the VM `aborted`.

use std::io::BufRead;
use std::time::{Duration, Instant};

use crate::model::ids;
use crate::model::machine::{Machine, PowerState};
use crate::store::Store;
use crate::vbox::ctx::lock_grace_ms;
use crate::vbox::emulation::Emulation;
use crate::vbox::latency::{self, Latency};
use crate::vm::guest::Guest;
use crate::vm::publish;

/// Signals the VM process waits for.
const SIGNALS: [i32; 5] = [
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGHUP,
    libc::SIGINT,
];

fn block_signals() -> libc::sigset_t {
    // SAFETY: plain sigset manipulation on a zeroed set owned by this frame.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_signal(set: &libc::sigset_t, timeout: Duration) -> Option<i32> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: sigtimedwait with a valid set and timespec.
    let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
    (sig > 0).then_some(sig)
}

struct Args {
    home: String,
    uuid: String,
}

fn parse(args: &[String]) -> Option<Args> {
    let mut home = None;
    let mut uuid = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--home" => home = it.next().cloned(),
            "--uuid" => uuid = it.next().cloned(),
            _ => return None,
        }
    }
    Some(Args {
        home: home?,
        uuid: uuid?,
    })
}

fn log(line: &str) {
    eprintln!("{} vboxsim: {line}", ids::vbox_time(ids::now_ns()));
}

/// Redirects stdout/stderr into the VM's `Logs/VBox.log` (rotating the previous ones).
fn open_log(m: &Machine) {
    let dir = m.log_folder();
    let _ = std::fs::create_dir_all(&dir);
    for n in (1..3).rev() {
        let from = if n == 1 {
            format!("{dir}/VBox.log")
        } else {
            format!("{dir}/VBox.log.{}", n - 1)
        };
        let _ = std::fs::rename(from, format!("{dir}/VBox.log.{n}"));
    }
    if let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/VBox.log"))
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: dup2 onto stdout/stderr of this process.
        unsafe {
            libc::dup2(f.as_raw_fd(), 1);
            libc::dup2(f.as_raw_fd(), 2);
        }
    }
}

pub fn main(args: &[String]) -> i32 {
    let Some(a) = parse(args) else {
        eprintln!("vboxsim vm-process: internal entry point (--home DIR --uuid UUID)");
        return 2;
    };
    // SAFETY: setsid in a fresh child; detaches from the caller's session and terminal.
    unsafe {
        libc::setsid();
    }
    close_inherited_fds();
    let sigset = block_signals();
    let mut go = String::new();
    if std::io::stdin().lock().read_line(&mut go).is_err() || go.trim() != "go" {
        return 1;
    }
    let store = Store {
        home: a.home.clone().into(),
    };
    let emu = Emulation::from_env()
        .unwrap_or_else(|_| Emulation::parse(Emulation::DEFAULT).expect("default version parses"));
    let lat = Latency::from_env();
    let machine = match store
        .read()
        .ok()
        .and_then(|s| s.find(&a.uuid).map(|i| s.machines[i].clone()))
    {
        Some(m) => m,
        None => return 1,
    };
    // SAFETY: dup of our own stdout, kept for the handshake with startvm.
    let handshake = unsafe { libc::dup(1) };
    open_log(&machine);
    log(&format!(
        "VM '{}' ({}) powering on, boot {}",
        machine.name, machine.uuid, machine.boot_id
    ));
    let powered = Guest::power_on(&store, &machine);
    if let Some(file) = machine.saved_state.as_deref() {
        // Resumed from (or, for a guest that keeps no memory image, booted past): spent.
        let _ = std::fs::remove_file(file);
        forget_saved_state(&store, &machine.uuid);
    }
    let mut guest = match powered {
        Ok(g) => g,
        Err(e) => {
            log(&format!("power on failed: {e}"));
            return 1;
        }
    };
    // SAFETY: write to and close the handshake descriptor we dup'ed above.
    unsafe {
        libc::write(handshake, b"ok\n".as_ptr().cast(), 3);
        libc::close(handshake);
    }
    let boot_delay =
        if crate::vm::guest::Backend::from_env() == Ok(crate::vm::guest::Backend::Hollow) {
            lat.of(latency::BOOT_TO_SSH)
        } else {
            Duration::ZERO
        };
    let mut booted_at = Instant::now() + boot_delay;
    let mut published: Option<Vec<crate::vm::guest_network::NicReport>> = None;
    loop {
        if Instant::now() >= booted_at
            && guest.is_up()
            && let Some(report) = guest.additions_report()
            && published.as_ref() != Some(&report)
        {
            if let Err(e) = publish::publish(
                &store,
                &machine.uuid,
                &report,
                &emu.additions_version(),
                &emu.revision(),
            ) {
                log(&format!("cannot publish guest properties: {e}"));
            }
            published = Some(report);
        }
        match wait_signal(&sigset, Duration::from_millis(100)) {
            Some(libc::SIGTERM) | Some(libc::SIGINT) => {
                // `savestate` sets the target state and the file before signalling.
                let saving = store
                    .read_raw()
                    .ok()
                    .and_then(|s| s.find(&machine.uuid).map(|i| s.machines[i].clone()))
                    .filter(|m| m.state == PowerState::Saved)
                    .and_then(|m| m.saved_state);
                match saving {
                    Some(file) => {
                        log("save state");
                        if let Err(e) = guest.save(&file) {
                            log(&format!("saving the state failed: {e}"));
                        }
                    }
                    None => log("power off"),
                }
                guest.kill();
                release_networks(&store, &machine.uuid);
                return 0;
            }
            Some(libc::SIGUSR1) => {
                log("ACPI power button");
                guest.shutdown(Duration::from_secs(20));
                let _ = publish::retract(&store, &machine.uuid);
                finish(&store, &machine.uuid);
                return 0;
            }
            Some(libc::SIGUSR2) => {
                log("reset");
                guest.kill();
                guest = match Guest::power_on(&store, &machine) {
                    Ok(g) => g,
                    Err(e) => {
                        log(&format!("reset failed: {e}"));
                        finish_aborted(&store, &machine.uuid);
                        return 1;
                    }
                };
                booted_at = Instant::now() + boot_delay;
                published = None;
            }
            Some(libc::SIGHUP) => {
                if let Ok(state) = store.read()
                    && let Some(i) = state.find(&machine.uuid)
                {
                    guest.reload(&state.machines[i], &state);
                }
            }
            _ => {}
        }
        if guest.has_exited() {
            if guest.rebooted() {
                log("guest rebooted");
                let _ = publish::retract(&store, &machine.uuid);
                guest = match Guest::power_on(&store, &machine) {
                    Ok(g) => g,
                    Err(e) => {
                        log(&format!("reboot failed: {e}"));
                        finish_aborted(&store, &machine.uuid);
                        return 1;
                    }
                };
                booted_at = Instant::now() + boot_delay;
                published = None;
                continue;
            }
            log("guest halted");
            let _ = publish::retract(&store, &machine.uuid);
            finish(&store, &machine.uuid);
            return 0;
        }
    }
}

/// Changes the state under the store's lock (raw: this process's own session is live).
fn update(store: &Store, change: impl FnOnce(&mut crate::model::state::State)) {
    let Ok(lock) = store.lock() else { return };
    let Ok(mut state) = store.read_raw() else {
        return;
    };
    change(&mut state);
    let _ = store.write(&state, &lock);
}

/// The VM started: its saved state is no longer there to resume from.
fn forget_saved_state(store: &Store, uuid: &str) {
    update(store, |state| {
        if let Some(i) = state.find(uuid) {
            state.machines[i].saved_state = None;
        }
    });
}

/// The VM no longer uses its networks: NAT networks no other running VM uses stop.
fn release_networks(store: &Store, uuid: &str) {
    update(store, |state| {
        crate::net::nat_network_service::release(state, uuid)
    });
}

/// The guest stopped by itself or by ACPI: powered off, session released with its grace.
fn finish(store: &Store, uuid: &str) {
    set_final(store, uuid, PowerState::PowerOff);
}

fn finish_aborted(store: &Store, uuid: &str) {
    set_final(store, uuid, PowerState::Aborted);
}

fn set_final(store: &Store, uuid: &str, to: PowerState) {
    update(store, |state| {
        if let Some(i) = state.find(uuid) {
            let m = &mut state.machines[i];
            if m.session
                .as_ref()
                .is_some_and(|s| s.pid == std::process::id())
            {
                m.session = None;
                m.state = to;
                m.state_change_ns = ids::now_ns();
                m.lock_until_ms = ids::now_ms() + lock_grace_ms();
            }
        }
        crate::net::nat_network_service::release(state, uuid);
    });
}

/// A long-lived VM process must not keep its caller's descriptors open (a client reading
/// VBoxManage's output to EOF would hang on a pipe the VM process inherited).
fn close_inherited_fds() {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|fd| *fd > 2) {
        // SAFETY: closing descriptors this process inherited and does not use.
        unsafe {
            libc::close(fd);
        }
    }
}
