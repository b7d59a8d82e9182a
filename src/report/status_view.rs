//! Renders `labctl status`: a table with a row per VM whose columns stay aligned whatever the
//! names, and a continuation line per further address or MAC when a VM has several NICs.

use serde::Serialize;

/// One VM as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VmStatus {
    /// Name in the lab.
    pub vm: String,
    /// Name in VirtualBox.
    pub vbox_name: String,
    /// VirtualBox's state word, or `absent`.
    pub state: String,
    /// `labctl`, `FOREIGN` or `-`.
    pub owner: String,
    /// VirtualBox's UUID, when it exists.
    pub uuid: Option<String>,
    /// `network=address`, `(dhcp)` for leases.
    pub addresses: Vec<String>,
    /// `slot:mac` of each enabled adapter.
    pub macs: Vec<String>,
    /// What differs from the lab file.
    pub drift: Vec<String>,
}

/// The table, with a header line naming the lab and where it runs, and a line per leftover.
pub fn render(lab: &str, hypervisor: &str, rows: &[VmStatus], leftovers: &[String]) -> String {
    let header = ["VM", "STATE", "OWNER", "ADDRESSES", "MACS", "DRIFT"];
    let drift = |row: &VmStatus| {
        if row.drift.is_empty() {
            "none".to_string()
        } else {
            row.drift.join("; ")
        }
    };
    // Each row as lines of cells: the first line has every column, the next ones the further
    // addresses and MACs only.
    let lines: Vec<Vec<[String; 6]>> = rows
        .iter()
        .map(|row| {
            let depth = row.addresses.len().max(row.macs.len()).max(1);
            (0..depth)
                .map(|index| {
                    let first = index == 0;
                    let cell = |items: &[String]| {
                        items
                            .get(index)
                            .cloned()
                            .unwrap_or_else(|| if first { "-".into() } else { String::new() })
                    };
                    let only_first = |text: String| if first { text } else { String::new() };
                    [
                        only_first(row.vm.clone()),
                        only_first(row.state.clone()),
                        only_first(row.owner.clone()),
                        cell(&row.addresses),
                        cell(&row.macs),
                        only_first(drift(row)),
                    ]
                })
                .collect()
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for cells in lines.iter().flatten() {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = format!("lab `{lab}` on {hypervisor}\n");
    out.push_str(&line(&header.map(str::to_string)));
    for cells in lines.iter().flatten() {
        out.push_str(&line(cells));
    }
    for leftover in leftovers {
        out.push_str(&format!(
            "{leftover}: not in the lab file any more (`labctl up --prune` deletes it)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(vm: &str, addresses: &[&str], macs: &[&str]) -> VmStatus {
        VmStatus {
            vm: vm.into(),
            vbox_name: format!("lab-{vm}"),
            state: "running".into(),
            owner: "labctl".into(),
            uuid: None,
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            macs: macs.iter().map(|m| m.to_string()).collect(),
            drift: Vec::new(),
        }
    }

    #[test]
    fn several_nics_stay_in_their_columns() {
        let rows = [
            row(
                "discovery-server",
                &[
                    "lab=192.168.56.10",
                    "internet=10.0.2.15(dhcp)",
                    "back=10.8.0.11",
                ],
                &[
                    "1:08:00:27:00:00:01",
                    "2:08:00:27:00:00:02",
                    "3:08:00:27:00:00:03",
                ],
            ),
            row("lb", &[], &[]),
        ];
        let text = render("exam3", "VirtualBox 7.1.4", &rows, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        let column = |line: &str, what: &str| {
            line.find(what)
                .unwrap_or_else(|| panic!("{what} in {line}"))
        };
        let addresses = column(lines[1], "ADDRESSES");
        let macs = column(lines[1], "MACS");
        let drift = column(lines[1], "DRIFT");
        assert_eq!(column(lines[2], "lab=192.168.56.10"), addresses);
        assert_eq!(column(lines[3], "internet=10.0.2.15(dhcp)"), addresses);
        assert_eq!(column(lines[4], "3:08:00:27:00:00:03"), macs);
        assert_eq!(column(lines[2], "none"), drift);
        assert!(lines[3].trim_start().starts_with("internet="), "{text}");
        assert_eq!(column(lines[5], "lb"), 0);
        assert_eq!(
            lines[5].split_whitespace().collect::<Vec<_>>(),
            ["lb", "running", "labctl", "-", "-", "none"]
        );
    }
}
