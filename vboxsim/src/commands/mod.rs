//! One module per VBoxManage command (or family of commands).

pub mod clonevm;
pub mod controlvm;
pub mod dhcpserver;
pub mod extradata;
pub mod guestproperty;
pub mod hostonlyif;
pub mod hostonlynet;
pub mod import;
pub mod list;
pub mod modifyvm;
pub mod natnetwork;
pub mod power;
pub mod showvminfo;
pub mod snapshot;
pub mod snapshot_listing;
pub mod startvm;
