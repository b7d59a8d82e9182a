//! Running VMs: the VM process (VBoxHeadless's role) and the guests it runs.

pub mod guest;
pub mod guest_config;
pub mod guest_init;
pub mod guest_network;
pub mod guest_power;
pub mod namespace;
pub mod port_forwards;
pub mod publish;
pub mod qemu;
pub mod vm_process;
