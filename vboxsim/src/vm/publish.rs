//! Guest Additions' side of guest properties: what VBoxService publishes once the guest is up,
//! and removes when it stops cleanly.

use std::net::Ipv4Addr;

use crate::model::guest_property::GuestProperty;
use crate::model::ids;
use crate::model::lease::NicLease;
use crate::store::Store;

const NET_PREFIX: &str = "/VirtualBox/GuestInfo/Net/";

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Publishes the Additions version and one `Net/<i>` block per NIC with link (guest
/// enumeration order = slot order of the enabled NICs).
pub fn publish(
    store: &Store,
    uuid: &str,
    leases: &[NicLease],
    additions: &str,
    revision: &str,
) -> Result<(), String> {
    let lock = store.lock()?;
    let mut state = store.read()?;
    let Some(idx) = state.find(uuid) else {
        return Ok(());
    };
    let m = &mut state.machines[idx];
    let now = ids::now_ns();
    let mut set = |k: String, v: String, flags: &str| {
        m.guest_props.insert(
            k,
            GuestProperty {
                value: v,
                timestamp_ns: now,
                flags: flags.to_string(),
            },
        );
    };
    set("/VirtualBox/GuestAdd/Version".into(), additions.into(), "");
    set(
        "/VirtualBox/GuestAdd/VersionExt".into(),
        additions.into(),
        "",
    );
    set("/VirtualBox/GuestAdd/Revision".into(), revision.into(), "");
    set(
        "/VirtualBox/GuestInfo/OS/Product".into(),
        "Linux".into(),
        "",
    );
    set(
        "/VirtualBox/GuestInfo/OS/Release".into(),
        kernel_release(),
        "",
    );
    set(
        "/VirtualBox/GuestInfo/OS/LoggedInUsers".into(),
        "0".into(),
        "TRANSIENT, TRANSRESET",
    );
    set(
        "/VirtualBox/HostInfo/VBoxVerExt".into(),
        additions.into(),
        "TRANSIENT, RDONLYGUEST",
    );
    for (i, l) in leases.iter().enumerate() {
        let base = format!("{NET_PREFIX}{i}");
        if let Some((ip, prefix)) = l.addr {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            set(format!("{base}/V4/IP"), ip.to_string(), "");
            set(
                format!("{base}/V4/Netmask"),
                Ipv4Addr::from(mask).to_string(),
                "",
            );
            set(
                format!("{base}/V4/Broadcast"),
                Ipv4Addr::from(u32::from(ip) | !mask).to_string(),
                "",
            );
        }
        set(format!("{base}/MAC"), l.mac.clone(), "");
        set(
            format!("{base}/Status"),
            if l.cable { "Up" } else { "Down" }.into(),
            "",
        );
        set(format!("{base}/Name"), format!("eth{}", l.slot - 1), "");
    }
    set(format!("{NET_PREFIX}Count"), leases.len().to_string(), "");
    store.write(&state, &lock)
}

/// What VBoxService removes when it stops cleanly (not on a hard power-off).
pub fn retract(store: &Store, uuid: &str) -> Result<(), String> {
    let lock = store.lock()?;
    let mut state = store.read()?;
    let Some(idx) = state.find(uuid) else {
        return Ok(());
    };
    let m = &mut state.machines[idx];
    let now = ids::now_ns();
    let gone: Vec<String> = m
        .guest_props
        .keys()
        .filter(|k| {
            k.starts_with(NET_PREFIX) || k.as_str() == "/VirtualBox/GuestInfo/OS/LoggedInUsers"
        })
        .cloned()
        .collect();
    for k in gone {
        m.guest_props.remove(&k);
        m.guest_props_deleted.insert(k, now);
    }
    store.write(&state, &lock)
}
