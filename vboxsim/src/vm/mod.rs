//! Running VMs: the VM process (VBoxHeadless's role) and the guests it runs.

pub mod guest;
pub mod publish;
pub mod vm_process;
