//! `labctl status`: each VM's state, addresses, MACs, ownership and drift, from one inventory
//! read (a `list vms` and parallel `showvminfo`s), plus the addresses running VMs got by DHCP.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::Ui;
use super::lab_session::LabSession;
use crate::cli::TargetArgs;
use crate::error::Error;
use crate::exec::RuntimeContext;
use crate::exit_code;
use crate::hypervisor::inventory::{Attachment, Inventory};
use crate::lab::model::{MacAddress, Vm};
use crate::plan::vm_drift;
use crate::report::status_view::{self, VmStatus};

/// The addresses that running VMs of the lab report for their DHCP adapters, read for all
/// VMs at once (a few guest-property reads each).
fn leases<'a>(
    session: &LabSession,
    inventory: &Inventory,
    vms: &[&'a Vm],
) -> HashMap<(&'a str, u8), Ipv4Addr> {
    let lab = &session.lab;
    let context = RuntimeContext::from_inventory(lab, inventory);
    std::thread::scope(|scope| {
        let readers: Vec<_> = vms
            .iter()
            .filter_map(|vm| {
                let observed = inventory
                    .vm_named(&vm.vbox_name)
                    .filter(|observed| observed.owned_by(&lab.name) && observed.state.is_on())?;
                let asked: Vec<(u8, MacAddress)> = vm
                    .nics
                    .iter()
                    .filter(|nic| nic.ip.is_none())
                    .filter(|nic| {
                        lab.network(&nic.network)
                            .is_some_and(|network| network.dhcp().is_some())
                    })
                    .filter_map(|nic| {
                        let mac = observed
                            .nics
                            .iter()
                            .find(|found| found.slot == nic.slot)?
                            .mac?;
                        Some((nic.slot, mac))
                    })
                    .collect();
                if asked.is_empty() {
                    return None;
                }
                let uuid = observed.uuid.as_str();
                let context = &context;
                Some(scope.spawn(move || {
                    asked
                        .into_iter()
                        .filter_map(|(slot, mac)| {
                            let network = &vm.nics.iter().find(|nic| nic.slot == slot)?.network;
                            let server = context.dhcp_server(lab, network);
                            let ip = session
                                .vbox
                                .leased_address(uuid, mac, server.as_ref())
                                .ok()??;
                            Some(((vm.name.as_str(), slot), ip))
                        })
                        .collect::<Vec<_>>()
                }))
            })
            .collect();
        readers
            .into_iter()
            .flat_map(|reader| reader.join().unwrap_or_default())
            .collect()
    })
}

/// `labctl status [FILE] [VM…]`.
pub(crate) fn status(ui: &Ui, targets: &TargetArgs) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&targets.items, &targets.images);
    let session = LabSession::open(ui, &lab_arg, None)?;
    let inventory = session.inventory(false)?;
    let lab = &session.lab;
    let shown: Vec<&Vm> = lab
        .vms
        .iter()
        .filter(|vm| names.is_empty() || names.contains(&vm.name) || names.contains(&vm.group))
        .collect();
    let leases = leases(&session, &inventory, &shown);
    let mut rows = Vec::new();
    for vm in shown {
        let addresses: Vec<String> = vm
            .nics
            .iter()
            .filter_map(|nic| match nic.ip {
                Some(ip) => Some(format!("{}={ip}", nic.network)),
                None => leases
                    .get(&(vm.name.as_str(), nic.slot))
                    .map(|ip| format!("{}={ip}(dhcp)", nic.network)),
            })
            .collect();
        let row = match inventory.vm_named(&vm.vbox_name) {
            None => VmStatus {
                vm: vm.name.clone(),
                vbox_name: vm.vbox_name.clone(),
                state: "absent".into(),
                owner: "-".into(),
                uuid: None,
                addresses,
                macs: Vec::new(),
                drift: vec!["not created".into()],
            },
            Some(observed) => {
                let owned = observed.owned_by(&lab.name);
                let macs = observed
                    .nics
                    .iter()
                    .filter(|nic| nic.attachment != Attachment::None)
                    .filter_map(|nic| nic.mac.map(|mac| format!("{}:{mac}", nic.slot)))
                    .collect();
                VmStatus {
                    vm: vm.name.clone(),
                    vbox_name: vm.vbox_name.clone(),
                    state: observed.state.as_str().to_string(),
                    owner: if owned {
                        "labctl".into()
                    } else {
                        "FOREIGN".into()
                    },
                    uuid: Some(observed.uuid.clone()),
                    addresses,
                    macs,
                    drift: if owned {
                        vm_drift(lab, &inventory, vm, observed)
                    } else {
                        vec!["not created by labctl: left alone".into()]
                    },
                }
            }
        };
        rows.push(row);
    }
    let leftovers: Vec<String> = inventory
        .vms
        .iter()
        .filter(|observed| observed.owned_by(&lab.name))
        .filter(|observed| {
            observed.owner.as_ref().is_some_and(|owner| {
                !owner.role.starts_with("master:") && lab.vm(&owner.role).is_none()
            })
        })
        .map(|observed| observed.name.clone())
        .collect();
    if ui.json {
        ui.json_out(&serde_json::json!({ "lab": lab.name, "hypervisor": session.hypervisor, "vms": rows, "not_in_lab_file": leftovers }));
        return Ok(exit_code::OK);
    }
    ui.out(&status_view::render(
        &lab.name,
        &session.hypervisor,
        &rows,
        &leftovers,
    ));
    Ok(exit_code::OK)
}
