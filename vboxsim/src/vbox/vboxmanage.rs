//! The `VBoxManage` front door: global options, command dispatch, call log, exit codes.

use std::io::Write;
use std::time::Instant;

use crate::commands;
use crate::model::host::Host;
use crate::store::Store;
use crate::vbox::call_log;
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Emulation;
use crate::vbox::latency::Latency;
use crate::vbox::usage;
use crate::vbox::vbox_error::VBoxError;

/// Runs one VBoxManage invocation; `prog` is the name errors are prefixed with.
pub fn run(prog: &str, args: Vec<String>) -> i32 {
    let started = Instant::now();
    let code = run_inner(prog, &args);
    let _ = std::io::stdout().flush();
    call_log::append(&args, code, started.elapsed().as_millis());
    code
}

fn run_inner(prog: &str, args: &[String]) -> i32 {
    let emu = match Emulation::from_env() {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("{prog}: error: vboxsim: {msg}");
            return 1;
        }
    };
    let store = Store::from_env();
    // Linux when the state cannot be read yet; the command itself then reports why.
    let host = store.read().map(|state| state.host()).unwrap_or_default();
    let ctx = Ctx {
        emu,
        host,
        // IPRT names the executable in errors: `VBoxManage.exe` on Windows whatever the caller
        // typed; elsewhere the name it was invoked by.
        prog: match host {
            Host::Windows => host.program_name().to_string(),
            Host::Linux | Host::Macos => prog.to_string(),
        },
        store,
        latency: Latency::from_env(),
    };
    let mut rest = args;
    while let Some(first) = rest.first() {
        match first.as_str() {
            "-q" | "--nologo" => rest = &rest[1..],
            "--settingspw" | "--settingspwfile" if rest.len() >= 2 => rest = &rest[2..],
            _ => break,
        }
    }
    let Some(cmd) = rest.first() else {
        print!("{}{}", ctx.emu.logo(), usage::MAIN);
        return 1;
    };
    let sub: Vec<String> = rest[1..].to_vec();
    if matches!(sub.first().map(String::as_str), Some("--help" | "-h"))
        && let Some(text) = usage::for_command(cmd, ctx.emu.family)
    {
        print!("{}{text}", ctx.emu.logo());
        return 0;
    }
    let result = match cmd.as_str() {
        "-v" | "-V" | "--version" => {
            println!("{}", ctx.emu.full);
            Ok(())
        }
        "-h" | "--help" | "help" => {
            print!("{}{}", ctx.emu.logo(), usage::MAIN);
            Ok(())
        }
        "list" => commands::list::run(&ctx, &sub),
        "showvminfo" => commands::showvminfo::run(&ctx, &sub),
        "import" => commands::import::run(&ctx, &sub),
        "snapshot" => commands::snapshot::run(&ctx, &sub),
        "clonevm" => commands::clonevm::run(&ctx, &sub),
        "modifyvm" => commands::modifyvm::run(&ctx, &sub),
        "natnetwork" => commands::natnetwork::run(&ctx, &sub),
        "hostonlyif" => commands::hostonlyif::run(&ctx, &sub),
        // Built only with the vmnet backend (VBOX_WITH_VMNET: VirtualBox 7 on macOS).
        "hostonlynet" if ctx.host.has_vmnet(&ctx.emu) => commands::hostonlynet::run(&ctx, &sub),
        "dhcpserver" => commands::dhcpserver::run(&ctx, &sub),
        "startvm" => commands::startvm::run(&ctx, &sub),
        "controlvm" => commands::controlvm::run(&ctx, &sub),
        "discardstate" => commands::power::discardstate(&ctx, &sub),
        "unregistervm" => commands::power::unregistervm(&ctx, &sub),
        "guestproperty" => commands::guestproperty::run(&ctx, &sub),
        "setextradata" => commands::extradata::set(&ctx, &sub),
        "getextradata" => commands::extradata::get(&ctx, &sub),
        "setproperty" => commands::extradata::setproperty(&ctx, &sub),
        other => Err(VBoxError::argument(format!("Invalid command '{other}'"))),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprint!("{}", ctx.render_error(&e, &ctx.emu.logo()));
            e.exit_code()
        }
    }
}
