//! The `vboxsim` binary: VBoxManage when invoked under that name, else the vboxsim tool.

fn main() {
    std::process::exit(vboxsim::run(std::env::args_os().collect()));
}
