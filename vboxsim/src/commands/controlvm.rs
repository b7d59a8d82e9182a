//! `VBoxManage controlvm <vm> poweroff|acpipowerbutton|reset|pause|resume|savestate|
//! setlinkstateN|natpfN|nicN`: state changes here, the VM process is told by signal.

use std::time::{Duration, Instant};

use crate::model::ids;
use crate::model::machine::{PowerState, Session};
use crate::model::nic::{Attachment, NatRule};
use crate::store::process_start_time;
use crate::vbox::ctx::{Ctx, lock_grace_ms};
use crate::vbox::getopt;
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageControlVM.cpp";

/// Signals the VM process understands.
pub const SIG_POWEROFF: i32 = libc::SIGTERM;
pub const SIG_ACPI: i32 = libc::SIGUSR1;
pub const SIG_RESET: i32 = libc::SIGUSR2;
pub const SIG_RELOAD: i32 = libc::SIGHUP;

pub fn signal(session: &Session, sig: i32) {
    if process_start_time(session.pid) == Some(session.start_time) {
        // SAFETY: kill(2) on a pid we verified is still our VM process.
        unsafe {
            libc::kill(session.pid as i32, sig);
        }
    }
}

/// Waits (bounded) until the VM process is gone.
pub fn wait_gone(session: &Session, timeout: Duration) {
    let start = Instant::now();
    while process_start_time(session.pid) == Some(session.start_time) && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    if args.len() < 2 {
        return Err(VBoxError::syntax("Not enough parameters", usage::CONTROLVM));
    }
    let vm = &args[0];
    let action = args[1].as_str();
    let rest = &args[2..];
    let indexed = |prefix: &str| {
        action
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    let known = matches!(
        action,
        "poweroff"
            | "acpipowerbutton"
            | "acpisleepbutton"
            | "reset"
            | "pause"
            | "resume"
            | "savestate"
    ) || indexed("setlinkstate").is_some()
        || indexed("natpf").is_some()
        || indexed("nic").is_some();
    if !known {
        return Err(VBoxError::syntax(
            format!("Invalid parameter '{action}'"),
            usage::CONTROLVM,
        ));
    }
    let state = ctx.read()?;
    let idx = ctx.find(&state, vm, FILE)?;
    let m = &state.machines[idx];
    if !m.state.is_active() || m.session.is_none() {
        return Err(VBoxError::failure(format!(
            "Machine '{}' is not currently running.",
            m.name
        )));
    }
    let uuid = m.uuid.clone();
    match action {
        "poweroff" | "savestate" => {
            let target = if action == "poweroff" {
                PowerState::PowerOff
            } else {
                PowerState::Saved
            };
            let session = ctx.update(|state| {
                let i = state
                    .find(&uuid)
                    .ok_or_else(|| crate::vbox::ctx::not_found(vm, FILE))?;
                let m = &mut state.machines[i];
                let s = m.session.take();
                m.state = target;
                m.state_change_ns = ids::now_ns();
                m.lock_until_ms = ids::now_ms() + lock_grace_ms();
                if target == PowerState::Saved {
                    m.saved_state = Some(m.state_file());
                }
                Ok(s)
            })?;
            if let Some(s) = session {
                // The VM process reads the target state: a saved VM's guest writes its
                // memory image first, which takes as long as the VM's memory needs.
                signal(&s, SIG_POWEROFF);
                let limit = if target == PowerState::Saved { 300 } else { 15 };
                wait_gone(&s, Duration::from_secs(limit));
            }
            ctx.progress(latency::POWEROFF);
        }
        "acpipowerbutton" => signal_vm(m.session.as_ref(), SIG_ACPI),
        "acpisleepbutton" => {}
        "reset" => signal_vm(m.session.as_ref(), SIG_RESET),
        "pause" | "resume" => {
            let paused = action == "pause";
            ctx.update(|state| {
                let i = state
                    .find(&uuid)
                    .ok_or_else(|| crate::vbox::ctx::not_found(vm, FILE))?;
                let m = &mut state.machines[i];
                if paused && m.state != PowerState::Running {
                    return Err(invalid_state(&m.name, m.state));
                }
                if !paused && m.state != PowerState::Paused {
                    return Err(invalid_state(&m.name, m.state));
                }
                m.state = if paused {
                    PowerState::Paused
                } else {
                    PowerState::Running
                };
                m.state_change_ns = ids::now_ns();
                Ok(())
            })?;
            signal_vm(m.session.as_ref(), SIG_RELOAD);
        }
        _ => {
            runtime_change(ctx, &uuid, vm, action, rest)?;
            signal_vm(m.session.as_ref(), SIG_RELOAD);
        }
    }
    Ok(())
}

fn signal_vm(session: Option<&Session>, sig: i32) {
    if let Some(s) = session {
        signal(s, sig);
    }
}

fn invalid_state(name: &str, state: PowerState) -> VBoxError {
    VBoxError::com(
        format!(
            "Machine '{name}' is not in a state that allows this operation (machine state: {})",
            state.human()
        ),
        vbox_error::VBOX_E_INVALID_VM_STATE,
        "ConsoleWrap",
        "IConsole",
        vbox_error::context("Pause()", 245, FILE),
    )
}

fn runtime_change(
    ctx: &Ctx,
    uuid: &str,
    vm: &str,
    action: &str,
    rest: &[String],
) -> Result<(), VBoxError> {
    let bad = |what: &str| VBoxError::syntax(what.to_string(), usage::CONTROLVM);
    ctx.update(|state| {
        let idx = state
            .find(uuid)
            .ok_or_else(|| crate::vbox::ctx::not_found(vm, FILE))?;
        let m = &mut state.machines[idx];
        if let Some(n) = action
            .strip_prefix("setlinkstate")
            .and_then(|n| n.parse::<usize>().ok())
        {
            let [v] = rest else {
                return Err(bad("Not enough parameters"));
            };
            if n == 0 || n > m.hw.nics.len() {
                return Err(VBoxError::failure(format!("Invalid link state number {n}")));
            }
            m.hw.nics[n - 1].cable =
                getopt::parse_on_off(v).ok_or_else(|| bad("Invalid link state"))?;
            return Ok(());
        }
        if let Some(n) = action
            .strip_prefix("natpf")
            .and_then(|n| n.parse::<usize>().ok())
        {
            if n == 0 || n > m.hw.nics.len() {
                return Err(VBoxError::failure(format!("Invalid NIC number {n}")));
            }
            let nic = &mut m.hw.nics[n - 1];
            match rest {
                [d, name] if d == "delete" => {
                    if !nic.nat_rules.iter().any(|r| &r.name == name) {
                        return Err(VBoxError::com(
                            "A NAT rule with this name does not exist",
                            vbox_error::E_INVALIDARG,
                            "NATEngineWrap",
                            "INATEngine",
                            vbox_error::context(
                                "RemoveRedirect(Bstr(a->argv[3]).raw())",
                                725,
                                FILE,
                            ),
                        ));
                    }
                    nic.nat_rules.retain(|r| &r.name != name);
                }
                [rule] => {
                    let r = NatRule::parse(rule).ok_or_else(|| bad("Invalid NAT rule"))?;
                    if nic.nat_rules.iter().any(|x| x.name == r.name) {
                        return Err(VBoxError::com(
                            "A NAT rule of this name already exists",
                            vbox_error::NS_ERROR_INVALID_ARG,
                            "NATEngineWrap",
                            "INATEngine",
                            vbox_error::context("AddRedirect(...)", 700, FILE),
                        ));
                    }
                    nic.nat_rules.push(r);
                }
                _ => return Err(bad("Not enough parameters")),
            }
            return Ok(());
        }
        if let Some(n) = action
            .strip_prefix("nic")
            .and_then(|n| n.parse::<usize>().ok())
        {
            if n == 0 || n > m.hw.nics.len() {
                return Err(VBoxError::failure(format!("Invalid NIC number {n}")));
            }
            let Some(kind) = rest.first() else {
                return Err(bad("Not enough parameters"));
            };
            let att = Attachment::parse(kind, true).ok_or_else(|| {
                VBoxError::failure(format!("Invalid type '{kind}' specfied for NIC {n}"))
            })?;
            let nic = &mut m.hw.nics[n - 1];
            let target = rest.get(1).cloned();
            match att {
                Attachment::Hostonly => {
                    nic.hostonly_adapter = target.ok_or_else(|| bad("Not enough parameters"))?
                }
                Attachment::Intnet => {
                    nic.intnet = target.ok_or_else(|| bad("Not enough parameters"))?
                }
                Attachment::Natnetwork => {
                    nic.nat_network = target.ok_or_else(|| bad("Not enough parameters"))?
                }
                Attachment::Bridged => {
                    nic.bridge_adapter = target.ok_or_else(|| bad("Not enough parameters"))?
                }
                _ => {}
            }
            nic.attachment = att;
            return Ok(());
        }
        Ok(())
    })
}
