//! The VBoxManage personality: option parser, error shapes, usage texts, dispatch.

pub mod call_log;
pub mod ctx;
pub mod emulation;
pub mod getopt;
pub mod latency;
pub mod machine_readable;
pub mod usage;
pub mod vbox_error;
pub mod vboxmanage;
