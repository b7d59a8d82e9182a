//! The snapshot tree of a VM as `showvminfo` and `snapshot list` print it: machine-readable
//! `SnapshotName-1-1=…` lines and the human indented tree.

use crate::model::machine::Machine;
use crate::vbox::machine_readable::quote;

pub fn snapshot_lines(m: &Machine, l: &mut Vec<String>) {
    fn walk(m: &Machine, parent: Option<&str>, suffix: &str, l: &mut Vec<String>) {
        let children: Vec<_> = m
            .snapshots
            .iter()
            .filter(|s| s.parent.as_deref() == parent)
            .collect();
        for (i, s) in children.iter().enumerate() {
            let key = if parent.is_none() && i == 0 && suffix.is_empty() {
                String::new()
            } else if parent.is_none() {
                format!("-{}", i + 1)
            } else {
                format!("{suffix}-{}", i + 1)
            };
            l.push(format!("SnapshotName{key}={}", quote(&s.name)));
            l.push(format!("SnapshotUUID{key}={}", quote(&s.uuid)));
            if !s.description.is_empty() {
                l.push(format!(
                    "SnapshotDescription{key}={}",
                    quote(&s.description)
                ));
            }
            if m.current_snapshot.as_deref() == Some(s.uuid.as_str()) {
                l.push(format!("CurrentSnapshotName={}", quote(&s.name)));
                l.push(format!("CurrentSnapshotUUID={}", quote(&s.uuid)));
                l.push(format!("CurrentSnapshotNode=\"SnapshotName{key}\""));
            }
            walk(m, Some(&s.uuid), &key, l);
        }
    }
    walk(m, None, "", l);
}

/// The machine-readable snapshot list (`snapshot <vm> list --machinereadable`).
pub fn snapshot_machine_readable(m: &Machine) -> String {
    let mut l = Vec::new();
    snapshot_lines(m, &mut l);
    l.iter().map(|x| format!("{x}\n")).collect()
}

/// `   Name: base (UUID: …) *` lines, three more spaces per level.
pub fn human_tree(m: &Machine) -> String {
    fn walk(m: &Machine, parent: Option<&str>, depth: usize, out: &mut String) {
        for s in m.snapshots.iter().filter(|s| s.parent.as_deref() == parent) {
            let pad = " ".repeat(3 + 3 * depth);
            let star = if m.current_snapshot.as_deref() == Some(s.uuid.as_str()) {
                " *"
            } else {
                ""
            };
            out.push_str(&format!("{pad}Name: {} (UUID: {}){star}\n", s.name, s.uuid));
            if !s.description.is_empty() {
                out.push_str(&format!("{pad}Description:\n{}\n", s.description));
            }
            walk(m, Some(&s.uuid), depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(m, None, 0, &mut out);
    out
}
