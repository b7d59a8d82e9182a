//! Guest Additions' side of guest properties: what VBoxService publishes once the guest is up,
//! and removes when it stops cleanly.

use std::net::Ipv4Addr;

use crate::model::guest_property::GuestProperty;
use crate::model::ids;
use crate::store::Store;
use crate::vm::guest_network::NicReport;

const NET_PREFIX: &str = "/VirtualBox/GuestInfo/Net/";

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Publishes the Additions version and one `Net/<i>` block per NIC as the guest reports it
/// (guest enumeration order = slot order of the enabled NICs). A NIC that lost its address
/// loses its `V4/*` values.
pub fn publish(
    store: &Store,
    uuid: &str,
    nics: &[NicReport],
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
    let mut stale = Vec::new();
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
    for (i, nic) in nics.iter().enumerate() {
        let base = format!("{NET_PREFIX}{i}");
        let addr = nic.addr.as_deref().and_then(|a| {
            let (ip, len) = a.split_once('/')?;
            Some((ip.parse::<Ipv4Addr>().ok()?, len.parse::<u32>().ok()?))
        });
        match addr {
            Some((ip, prefix)) => {
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
            None => {
                for key in ["V4/IP", "V4/Netmask", "V4/Broadcast"] {
                    stale.push(format!("{base}/{key}"));
                }
            }
        }
        set(format!("{base}/MAC"), nic.mac.clone(), "");
        set(
            format!("{base}/Status"),
            if nic.up { "Up" } else { "Down" }.into(),
            "",
        );
        set(format!("{base}/Name"), nic.name.clone(), "");
    }
    set(format!("{NET_PREFIX}Count"), nics.len().to_string(), "");
    for key in stale {
        m.guest_props.remove(&key);
    }
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
