//! `labctl clone SRC NAME`: a linked (or `--full`) clone of any registered VM, registered, with
//! fresh MACs, and a table of old and new MACs per adapter, checked to differ.

use super::Ui;
use super::lab_session::connect_virtualbox;
use crate::error::Error;
use crate::exit_code;
use crate::hypervisor::inventory::{Attachment, ObservedVm};
use crate::hypervisor::vboxmanage::CloneRequest;
use crate::hypervisor::{InventoryScope, VBoxManage};
use crate::lab::model::MacAddress;

/// Snapshot `clone` takes of a VM that has none.
const CLONE_SNAPSHOT: &str = "labctl-clone-base";

/// A clone made, with the MACs of both VMs per enabled adapter of the original.
pub(crate) struct Cloned {
    /// The VM cloned.
    pub original: ObservedVm,
    /// The clone.
    pub copy: ObservedVm,
    /// The snapshot a linked clone was made from.
    pub snapshot: Option<String>,
    /// (adapter, original's MAC, clone's MAC).
    pub rows: Vec<(u8, Option<MacAddress>, Option<MacAddress>)>,
}

impl Cloned {
    /// The adapters whose MAC the clone kept.
    pub fn same(&self) -> Vec<u8> {
        kept_macs(&self.rows)
    }
}

/// The adapters (of rows of adapter, original's MAC, clone's MAC) where the clone has the
/// original's MAC: a clone on the same network as its original would fight it for the address.
fn kept_macs(rows: &[(u8, Option<MacAddress>, Option<MacAddress>)]) -> Vec<u8> {
    rows.iter()
        .filter(|(_, old, new)| old.is_some() && old == new)
        .map(|(slot, _, _)| *slot)
        .collect()
}

/// Clones `source` as `name` (linked from its current snapshot, taking one when it has none,
/// unless `full`), with the fresh MACs VirtualBox gives a clone.
pub(crate) fn make_clone(
    ui: &Ui,
    vbox: &VBoxManage,
    source: &str,
    name: &str,
    full: bool,
) -> Result<Cloned, Error> {
    let scope = InventoryScope::default();
    let original = vbox
        .observe(source, &scope)?
        .ok_or_else(|| Error::Refused(format!("VirtualBox has no VM named `{source}`")))?;
    if vbox.observe(name, &scope)?.is_some() {
        return Err(Error::Refused(format!(
            "VirtualBox already has a VM named `{name}`"
        )));
    }
    let snapshot = if full {
        None
    } else {
        let info = vbox.show(&original.uuid)?.unwrap_or_default();
        let current = info.get("CurrentSnapshotName").map(str::to_string);
        Some(match current {
            Some(current) => current,
            None => {
                vbox.take_snapshot(&original.uuid, CLONE_SNAPSHOT)?;
                if !ui.json {
                    ui.err(&format!(
                        "took snapshot `{CLONE_SNAPSHOT}` of {} (a linked clone needs one)\n",
                        original.name
                    ));
                }
                CLONE_SNAPSHOT.to_string()
            }
        })
    };
    vbox.clone_vm(&CloneRequest {
        source: &original.uuid,
        snapshot: snapshot.as_deref(),
        name,
        uuid: None,
        basefolder: None,
        group: None,
    })?;
    let copy = vbox.observe(name, &scope)?.ok_or_else(|| {
        Error::Refused(format!(
            "the clone `{name}` is not registered after cloning"
        ))
    })?;
    let rows = original
        .nics
        .iter()
        .filter(|nic| nic.attachment != Attachment::None)
        .map(|nic| {
            (
                nic.slot,
                nic.mac,
                copy.nic(nic.slot).and_then(|copy| copy.mac),
            )
        })
        .collect();
    Ok(Cloned {
        original,
        copy,
        snapshot,
        rows,
    })
}

/// `labctl clone SRC NAME [--full]`.
pub(crate) fn clone(ui: &Ui, source: &str, name: &str, full: bool) -> Result<u8, Error> {
    let (vbox, _) = connect_virtualbox()?;
    let cloned = make_clone(ui, &vbox, source, name, full)?;
    let Cloned {
        original,
        copy,
        snapshot,
        rows,
    } = &cloned;
    let same = cloned.same();
    if ui.json {
        let adapters: Vec<_> = rows
            .iter()
            .map(|(slot, old, new)| serde_json::json!({ "adapter": slot, "source_mac": old.map(|m| m.to_string()), "clone_mac": new.map(|m| m.to_string()), "differ": old != new }))
            .collect();
        ui.json_out(&serde_json::json!({ "source": original.name, "clone": copy.name, "uuid": copy.uuid, "linked": !full, "snapshot": snapshot, "adapters": adapters }));
    } else {
        let mut out = format!(
            "{} clone {} ({}) of {}{}\n\n{:<8} {:<19} {:<19} {}\n",
            if full { "full" } else { "linked" },
            copy.name,
            copy.uuid,
            original.name,
            snapshot
                .as_ref()
                .map(|s| format!(" at snapshot `{s}`"))
                .unwrap_or_default(),
            "ADAPTER",
            original.name,
            copy.name,
            "DIFFERENT"
        );
        let shown = |mac: &Option<crate::lab::model::MacAddress>| {
            mac.map_or_else(|| "-".to_string(), |mac| mac.to_string())
        };
        for (slot, old, new) in rows {
            out.push_str(&format!(
                "{slot:<8} {:<19} {:<19} {}\n",
                shown(old),
                shown(new),
                if old != new { "yes" } else { "NO" }
            ));
        }
        ui.out(&out);
    }
    if !same.is_empty() {
        return Err(Error::Refused(format!(
            "the clone kept the MACs of adapter(s) {:?}: both VMs would collide on the network; give the clone new ones with `VBoxManage modifyvm {name} --macaddressN auto`",
            same
        )));
    }
    Ok(exit_code::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_mac_is_found_by_adapter() {
        let mac = |text: &str| Some(MacAddress::parse(text).unwrap());
        let fresh = [
            (1, mac("080027aaaaaa"), mac("080027bbbbbb")),
            (2, mac("080027cccccc"), mac("080027dddddd")),
            (3, None, None),
        ];
        assert!(kept_macs(&fresh).is_empty());
        let kept = [
            (1, mac("080027aaaaaa"), mac("080027bbbbbb")),
            (2, mac("080027cccccc"), mac("080027cccccc")),
            (3, None, None),
        ];
        assert_eq!(kept_macs(&kept), vec![2]);
    }
}
