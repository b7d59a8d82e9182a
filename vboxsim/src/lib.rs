//! vboxsim: a strict VBoxManage stand-in whose VMs are real Linux guests on real networks.
//!
//! Invoked as `VBoxManage` (argv[0] basename) or `vboxsim vboxmanage ARGS…` it answers as
//! VBoxManage does; `vboxsim world …`, `vboxsim make-ova …` and `vboxsim fault …` are the
//! tool's own commands; `vm-process` and `guest-init` are internal entry points.

pub mod appliance;
pub mod commands;
pub mod layers;
pub mod model;
pub mod net;
pub mod settings_file;
pub mod store;
pub mod tool;
pub mod vbox;
pub mod vm;
pub mod world;
pub mod worlds_root;

use std::ffi::OsString;

/// Runs vboxsim with the full argv (program name first) and returns the exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let prog = argv
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .unwrap_or_else(|| "vboxsim".into());
    let args = argv.get(1..).map(<[String]>::to_vec).unwrap_or_default();
    if prog == "VBoxManage" || prog == "VBoxManage.exe" {
        return vbox::vboxmanage::run(&prog, args);
    }
    tool::dispatch(args)
}
