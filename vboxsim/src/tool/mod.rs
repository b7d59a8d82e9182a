//! vboxsim's own command line (everything that is not VBoxManage).

pub mod fault;
pub mod usage;

use crate::vbox::vboxmanage;
use usage::USAGE;

/// Dispatches `vboxsim SUBCOMMAND ...`.
pub fn dispatch(args: Vec<String>) -> i32 {
    let Some(cmd) = args.first().cloned() else {
        eprint!("{USAGE}");
        return 2;
    };
    let rest = args[1..].to_vec();
    match cmd.as_str() {
        "vboxmanage" | "VBoxManage" => vboxmanage::run("VBoxManage", rest),
        "make-ova" => crate::appliance::make_ova::main(&rest),
        "fault" => fault::main(&rest),
        "world" => crate::world::main(&rest),
        "guest-init" => crate::vm::guest_init::main(&rest),
        "vm-process" => crate::vm::vm_process::main(&rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            0
        }
        other => {
            eprintln!("vboxsim: unknown command '{other}'\n{USAGE}");
            2
        }
    }
}
