//! The seam to VirtualBox: what it has (inventory) and how labctl changes it.

pub mod inventory;

pub use inventory::Inventory;
