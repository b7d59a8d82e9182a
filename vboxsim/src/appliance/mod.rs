//! Appliances: OVF descriptors, stream-optimized VMDK disks, and the OVA maker.

pub mod flavour;
pub mod make_ova;
pub mod ovf;
pub mod vmdk;
