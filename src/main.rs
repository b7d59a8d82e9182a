//! The `labctl` binary: everything happens in [`labctl::run`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(labctl::run(std::env::args_os()))
}
