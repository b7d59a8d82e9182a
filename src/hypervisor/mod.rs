//! The seam to VirtualBox: finding VBoxManage, running it through one choke point, reading
//! what it has (the inventory) and changing it.

pub mod command_runner;
pub mod host_only_rule;
pub mod inflight;
pub mod inventory;
pub mod listings;
pub mod locate;
pub mod machine_readable;
pub mod vbox_error;
pub mod vboxmanage;

pub use command_runner::{CallCounts, CommandRunner, ProcessRunner, RetryPolicy};
pub use inventory::Inventory;
pub use vbox_error::{ErrorClass, VBoxError};
pub use vboxmanage::{InventoryScope, VBoxManage};
