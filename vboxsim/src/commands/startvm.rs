//! `VBoxManage startvm <vm>... [--type headless|gui|sdl|separate] [--putenv ...]`: launches a
//! detached VM process (the VBoxHeadless of this world) and returns once it has powered on.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::model::ids;
use crate::model::lease;
use crate::model::machine::{PowerState, Session};
use crate::model::nic::Attachment;
use crate::store::process_start_time;
use crate::vbox::ctx::{Ctx, is_locked};
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::{self, VBoxError};

const FILE: &str = "VBoxManageMisc.cpp";

const OPTS: &[Opt] = &[
    Opt::new("--type", "type", Arg::Str),
    Opt::new("--putenv", "putenv", Arg::Str),
    Opt::new("-E", "putenv", Arg::Str),
    Opt::new("--password", "password", Arg::Str),
    Opt::new("--password-id", "passwordid", Arg::Str),
];

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let items = getopt::parse(args, OPTS).map_err(|e| VBoxError::syntax(e.0, usage::STARTVM))?;
    let mut vms = Vec::new();
    let mut kind = "gui".to_string();
    let mut env: Vec<(String, String)> = Vec::new();
    for item in items {
        match item {
            Item::Positional(p) => vms.push(p),
            Item::Opt {
                id: "type", value, ..
            } => kind = value.unwrap_or_default(),
            Item::Opt {
                id: "putenv",
                value,
                ..
            } => {
                let v = value.unwrap_or_default();
                let (k, val) = v.split_once('=').unwrap_or((v.as_str(), ""));
                env.push((k.to_string(), val.to_string()));
            }
            Item::Opt { .. } => {}
        }
    }
    if vms.is_empty() {
        return Err(VBoxError::syntax(
            "at least one VM name or UUID required",
            usage::STARTVM,
        ));
    }
    let session_name = match kind.to_ascii_lowercase().as_str() {
        "headless" | "vrdp" | "capture" => "headless",
        "gui" | "" => "GUI/Qt",
        "sdl" => "GUI/SDL",
        "separate" => "headless",
        _ => {
            return Err(VBoxError::com(
                format!("Invalid session type: '{kind}'"),
                vbox_error::E_INVALIDARG,
                "MachineWrap",
                "IMachine",
                vbox_error::context(
                    "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())",
                    829,
                    FILE,
                ),
            ));
        }
    };
    let mut failed = None;
    for vm in &vms {
        match start_one(ctx, vm, session_name, &env) {
            Ok(exit1) => {
                if exit1 {
                    failed = Some(VBoxError::Exit(1));
                }
            }
            Err(e) => {
                eprint!("{}", ctx.render_error(&e, &ctx.emu.logo()));
                failed = Some(VBoxError::Exit(e.exit_code()));
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn launch_context() -> String {
    vbox_error::context(
        "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())",
        829,
        FILE,
    )
}

/// Starts one VM; `Ok(true)` when the `exit 1 with success text` fault fired.
fn start_one(
    ctx: &Ctx,
    vm: &str,
    session_name: &str,
    env: &[(String, String)],
) -> Result<bool, VBoxError> {
    let (faults, name, uuid) = ctx.update_always(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let m = &state.machines[idx];
        if is_locked(m) || m.state.is_active() {
            return Err(VBoxError::com(
                format!(
                    "The machine '{}' is already locked by a session (or being locked or unlocked)",
                    m.name
                ),
                vbox_error::VBOX_E_INVALID_OBJECT_STATE,
                "MachineWrap",
                "IMachine",
                launch_context(),
            ));
        }
        let f = state.faults.clone();
        if state.faults.startvm_fail > 0 {
            state.faults.startvm_fail -= 1;
        }
        if state.faults.startvm_exit1 > 0 {
            state.faults.startvm_exit1 -= 1;
        }
        Ok((f, m.name.clone(), m.uuid.clone()))
    })?;
    ctx.latency.sleep(latency::STARTVM);
    if faults.startvm_delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(faults.startvm_delay_ms));
    }
    if faults.startvm_fail > 0 {
        println!("Waiting for VM \"{vm}\" to power on...");
        return Err(terminated(&name, 1));
    }
    let mut child = Command::new(
        std::env::current_exe()
            .map_err(|e| crate::vbox::ctx::internal(format!("cannot find vboxsim: {e}")))?,
    )
    .arg("vm-process")
    .arg("--home")
    .arg(&ctx.store.home)
    .arg("--uuid")
    .arg(&uuid)
    .envs(env.iter().map(|(k, v)| (k.clone(), v.clone())))
    .env("VBOXSIM_NO_SSHD", if faults.no_sshd { "1" } else { "0" })
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .process_group(0)
    .spawn()
    .map_err(|e| crate::vbox::ctx::internal(format!("cannot launch the VM process: {e}")))?;
    let pid = child.id();
    // SAFETY: setsid-like detachment is done by the child itself; here we only read /proc.
    let start_time = process_start_time(pid).unwrap_or(0);
    let claimed = ctx.update(|state| {
        let idx = ctx.find(state, &uuid, FILE)?;
        if let Some(err) = check_networks(state, idx) {
            println!("Waiting for VM \"{vm}\" to power on...");
            return Err(err);
        }
        let leases = crate::net::lease_plan::plan(state, idx);
        let m = &mut state.machines[idx];
        if is_locked(m) {
            return Err(VBoxError::com(
                format!(
                    "The machine '{}' is already locked by a session (or being locked or unlocked)",
                    m.name
                ),
                vbox_error::VBOX_E_INVALID_OBJECT_STATE,
                "MachineWrap",
                "IMachine",
                launch_context(),
            ));
        }
        m.session = Some(Session {
            pid,
            start_time,
            kind: session_name.to_string(),
        });
        m.state = PowerState::Running;
        m.state_change_ns = ids::now_ns();
        m.boot_id += 1;
        m.nic_leases = leases.clone();
        start_network_services(ctx, state, &leases);
        Ok(())
    });
    if let Err(e) = claimed {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let mut stdin = child.stdin.take();
    let go = stdin
        .as_mut()
        .map(|s| s.write_all(b"go\n").and_then(|_| s.flush()));
    let ready = go.is_some_and(|r| r.is_ok())
        && child.stdout.take().is_some_and(|out| {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).is_ok() && line.trim() == "ok"
        });
    drop(stdin);
    if !ready {
        let _ = child.kill();
        let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
        let _ = ctx.update(|state| {
            if let Some(idx) = state.find(&uuid) {
                let m = &mut state.machines[idx];
                // Reading the state already saw the dead VM process and marked the VM aborted.
                let ours = m.session.as_ref().is_some_and(|s| s.pid == pid)
                    || (m.session.is_none() && m.state == PowerState::Aborted);
                if ours {
                    // The VM never ran: like a failed power-up in VirtualBox, it stays off.
                    m.session = None;
                    m.state = PowerState::PowerOff;
                    m.state_change_ns = ids::now_ns();
                }
            }
            Ok(())
        });
        println!("Waiting for VM \"{vm}\" to power on...");
        return Err(terminated(&name, status));
    }
    // The VM process lives on detached; reap nothing here (it re-parents when we exit).
    std::mem::forget(child);
    println!("Waiting for VM \"{vm}\" to power on...");
    println!("VM \"{vm}\" has been successfully started.");
    Ok(faults.startvm_exit1 > 0)
}

/// What a VM's power-up starts for its NICs: the DHCP server of each host-only network
/// (Console::i_configNetwork; a failed or redundant start is ignored and never keeps the VM
/// from powering up) and each NAT network's service (SessionMachine::beginPowerUp →
/// VirtualBox::i_natNetworkRefInc → NATNetwork::start).
fn start_network_services(
    ctx: &Ctx,
    state: &mut crate::model::state::State,
    leases: &[lease::NicLease],
) {
    let store = &ctx.store;
    for l in leases {
        let _ = match &l.segment {
            lease::Segment::HostOnly(interface) => crate::net::dhcp_service::ensure_running(
                store,
                state,
                &format!("HostInterfaceNetworking-{interface}"),
            ),
            lease::Segment::NatNetwork(name) => {
                crate::net::nat_network_service::start(store, state, name, ctx.emu.family)
            }
            lease::Segment::HostOnlyNet(name) => {
                crate::net::dhcp_service::ensure_vmnet_running(store, state, name)
            }
            _ => Ok(()),
        };
    }
}

/// A VM process that died while powering up: VBoxManage has printed its "Waiting for VM"
/// line, and the progress's error comes without a context line (reference §10.1).
fn terminated(name: &str, code: i32) -> VBoxError {
    VBoxError::Com {
        message: vec![format!(
            "The virtual machine '{name}' has terminated unexpectedly during startup with exit code {code} (0x{code:x})"
        )],
        code: vbox_error::NS_ERROR_FAILURE,
        component: "MachineWrap",
        interface: "IMachine",
        context: String::new(),
        exit: 1,
    }
}

/// A NIC on a host-only interface or NAT network that does not exist keeps the VM from starting.
fn check_networks(state: &crate::model::state::State, idx: usize) -> Option<VBoxError> {
    let m = &state.machines[idx];
    for nic in m.hw.nics.iter().filter(|n| n.enabled()) {
        let missing = match nic.attachment {
            Attachment::Hostonly if state.hostonly(&nic.hostonly_adapter).is_none() => {
                Some(format!("HostInterfaceNetworking-{}", nic.hostonly_adapter))
            }
            Attachment::Natnetwork if state.natnet(&nic.nat_network).is_none() => {
                Some(format!("NatNetwork{}", nic.nat_network))
            }
            Attachment::HostonlyNet if state.hostonlynet(&nic.hostonly_network).is_none() => {
                Some(format!("hostonly-{}", nic.hostonly_network))
            }
            _ => None,
        };
        if let Some(net) = missing {
            return Some(VBoxError::Com {
                message: vec![
                    format!(
                        "Failed to open/create the internal network '{net}' (VERR_INTNET_FLT_IF_NOT_FOUND)."
                    ),
                    "Failed to attach the network LUN (VERR_INTNET_FLT_IF_NOT_FOUND)".into(),
                ],
                code: vbox_error::NS_ERROR_FAILURE,
                component: "ConsoleWrap",
                interface: "IConsole",
                context: String::new(),
                exit: 1,
            });
        }
    }
    None
}
