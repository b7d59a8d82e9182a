//! `labctl destroy`: deletes what the lab made — its VMs, the masters no clone uses any more,
//! and the networks labctl created that nothing uses — and nothing it did not make.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use super::Ui;
use super::lab_session::LabSession;
use crate::cli::TargetArgs;
use crate::error::Error;
use crate::exit_code;
use crate::hypervisor::inventory::{
    Attachment, NETWORK_OWNER_PREFIX, ObservedVm, RESERVATIONS_PREFIX,
};
use crate::hypervisor::vboxmanage::DhcpTarget;
use crate::lab::model::MacAddress;

/// `labctl destroy [FILE] [VM…] [--yes]`.
pub(crate) fn destroy(ui: &Ui, targets: &TargetArgs, yes: bool) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&targets.items, &targets.images);
    let session = LabSession::open(ui, &lab_arg, Some("destroy"))?;
    let inventory = session.inventory(true)?;
    let lab = &session.lab;
    let whole_lab = names.is_empty();
    let owned: Vec<&ObservedVm> = inventory
        .vms
        .iter()
        .filter(|vm| vm.owned_by(&lab.name))
        .collect();
    let is_master = |vm: &ObservedVm| {
        vm.owner
            .as_ref()
            .is_some_and(|owner| owner.role.starts_with("master:"))
    };
    let clones: Vec<&ObservedVm> = owned
        .iter()
        .copied()
        .filter(|vm| !is_master(vm))
        .filter(|vm| {
            whole_lab
                || vm.owner.as_ref().is_some_and(|owner| {
                    names.contains(&owner.role)
                        || lab
                            .vm(&owner.role)
                            .is_some_and(|model| names.contains(&model.group))
                })
        })
        .collect();
    // Unknown names are refused with a suggestion, as `ssh` and `exec` do.
    super::select_vms(lab, &names)?;
    let masters: Vec<&ObservedVm> = if whole_lab {
        owned.iter().copied().filter(|vm| is_master(vm)).collect()
    } else {
        Vec::new()
    };
    let networks: Vec<(String, String)> = if whole_lab {
        inventory
            .owned_networks
            .iter()
            .filter(|(_, _, owner)| owner == &lab.name)
            .map(|(kind, name, _)| (kind.clone(), name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    // The fixed addresses the lab reserved, by DHCP server: released with the whole lab, so
    // that a server it shares with another lab keeps none of them.
    let mut reservations: BTreeMap<String, Vec<MacAddress>> = BTreeMap::new();
    if whole_lab {
        for reservation in inventory
            .reservations
            .iter()
            .filter(|reservation| reservation.lab == lab.name)
        {
            reservations
                .entry(reservation.network.clone())
                .or_default()
                .push(reservation.mac);
        }
    }
    if clones.is_empty() && masters.is_empty() && networks.is_empty() && reservations.is_empty() {
        ui.out(&format!("lab `{}`: nothing to destroy\n", lab.name));
        return Ok(exit_code::OK);
    }
    let count = crate::report::count;
    let summary = format!(
        "destroy {}{}{} of lab `{}`",
        count(clones.len(), "VM"),
        if masters.is_empty() {
            String::new()
        } else {
            format!(", {}", count(masters.len(), "master"))
        },
        if networks.is_empty() {
            String::new()
        } else {
            format!(", {}", count(networks.len(), "network"))
        },
        lab.name
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(format!(
                "{summary}? `labctl destroy` asks for confirmation; pass --yes when not at a terminal"
            )));
        }
        eprint!("{summary}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            ui.out("nothing destroyed\n");
            return Ok(exit_code::OK);
        }
    }
    let vbox = &session.vbox;
    let delete = |vm: &ObservedVm| -> Result<(), Error> { Ok(vbox.power_off_and_delete(vm)?) };
    let mut failures = Vec::new();
    let results: Vec<(String, Result<(), Error>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = clones
            .iter()
            .map(|vm| scope.spawn(move || (vm.name.clone(), delete(vm))))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("destroy thread"))
            .collect()
    });
    for ((name, result), vm) in results.into_iter().zip(&clones) {
        match result {
            Ok(()) => {
                session.state.forget_vm(&vm.uuid);
                ui.out(&format!("deleted {name}\n"));
            }
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    if failures.is_empty() {
        for master in &masters {
            match delete(master) {
                Ok(()) => ui.out(&format!("deleted {} (master)\n", master.name)),
                Err(error) => failures.push(format!("{}: {error}", master.name)),
            }
        }
        let remaining = vbox.inventory(&session.scope(true))?;
        let mut removed_servers = Vec::new();
        for (kind, name) in &networks {
            let used = remaining.vms.iter().any(|vm| {
                vm.nics
                    .iter()
                    .any(|nic| match (&nic.attachment, kind.as_str()) {
                        (Attachment::HostOnly(target), "hostonly" | "hostonlynet")
                        | (Attachment::NatNetwork(target), "natnetwork") => target == name,
                        _ => false,
                    })
            });
            if used {
                ui.out(&format!(
                    "kept {} {name}: other VMs use it\n",
                    network_words(kind)
                ));
                continue;
            }
            let result = (|| -> Result<(), Error> {
                match kind.as_str() {
                    "hostonly" => {
                        vbox.remove_dhcp(&DhcpTarget::Interface(name.clone()))?;
                        vbox.remove_host_only(name)?;
                    }
                    "natnetwork" => {
                        vbox.remove_nat_network(name)?;
                        // removeNATNetwork leaves the network's DHCP server behind.
                        vbox.remove_dhcp(&DhcpTarget::Network(name.clone()))?;
                    }
                    "hostonlynet" => vbox.remove_host_only_network(name)?,
                    _ => {}
                }
                vbox.set_global_extradata(&format!("{NETWORK_OWNER_PREFIX}/{kind}/{name}"), None)?;
                Ok(())
            })();
            match result {
                Ok(()) => {
                    removed_servers.push(match kind.as_str() {
                        "hostonly" => DhcpTarget::Interface(name.clone()).network_name(),
                        _ => name.clone(),
                    });
                    ui.out(&format!("deleted {} {name}\n", network_words(kind)));
                }
                Err(error) => failures.push(format!("{} {name}: {error}", network_words(kind))),
            }
        }
        for (network, macs) in &reservations {
            let result = (|| -> Result<(), Error> {
                if !removed_servers.contains(network) && remaining.dhcp_of(network).is_some() {
                    vbox.remove_reservations(network, macs)?;
                    ui.out(&format!(
                        "released {} on the DHCP server of {network}\n",
                        crate::report::count(macs.len(), "reserved address")
                    ));
                }
                vbox.set_global_extradata(
                    &format!("{RESERVATIONS_PREFIX}/{network}/{}", lab.name),
                    None,
                )?;
                Ok(())
            })();
            if let Err(error) = result {
                failures.push(format!("reservations on {network}: {error}"));
            }
        }
        if whole_lab
            && failures.is_empty()
            && let Ok(folder) = session.basefolder()
        {
            let _ = std::fs::remove_dir_all(&folder);
            if let Some(parent) = folder.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
    if !failures.is_empty() {
        for failure in &failures {
            ui.err(&format!("error: {failure}\n"));
        }
        return Err(Error::ActionsFailed {
            failed: failures.len(),
            skipped: 0,
            total: clones.len() + masters.len() + networks.len() + reservations.len(),
        });
    }
    Ok(exit_code::OK)
}

/// What VirtualBox calls a kind of network labctl marks (`hostonly`, `natnetwork`, …).
fn network_words(kind: &str) -> &str {
    match kind {
        "hostonly" => "host-only interface",
        "hostonlynet" => "host-only network",
        "natnetwork" => "NAT network",
        other => other,
    }
}
