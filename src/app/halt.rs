//! `labctl halt`: ACPI shutdown of the lab's running VMs, then a hard power-off for those that
//! ignore it within the timeout. VMs halt in parallel.

use std::time::{Duration, Instant};

use super::Ui;
use super::lab_session::LabSession;
use crate::cli::TargetArgs;
use crate::error::Error;
use crate::exit_code;

/// `labctl halt [FILE] [VM…]`.
pub(crate) fn halt(ui: &Ui, targets: &TargetArgs, timeout: u64) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&targets.items, &targets.images);
    let session = LabSession::open(ui, &lab_arg, Some("halt"))?;
    super::select_vms(&session.lab, &names)?;
    halt_vms(ui, &session, &names, timeout)
}

/// Shuts down the running VMs among `names` (VMs or groups; none means all), in parallel.
pub(crate) fn halt_vms(
    ui: &Ui,
    session: &LabSession,
    names: &[String],
    timeout: u64,
) -> Result<u8, Error> {
    let inventory = session.inventory(false)?;
    let lab = &session.lab;
    let running: Vec<(String, String)> = lab
        .vms
        .iter()
        .filter(|vm| names.is_empty() || names.contains(&vm.name) || names.contains(&vm.group))
        .filter_map(|vm| {
            let observed = inventory.vm_named(&vm.vbox_name)?;
            (observed.owned_by(&lab.name) && observed.state.is_on())
                .then(|| (vm.name.clone(), observed.uuid.clone()))
        })
        .collect();
    if running.is_empty() {
        ui.out(&format!("lab `{}`: no running VM to halt\n", lab.name));
        return Ok(exit_code::OK);
    }
    let results: Vec<(String, Result<&'static str, Error>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = running
            .iter()
            .map(|(name, uuid)| {
                let vbox = &session.vbox;
                scope.spawn(move || {
                    let result = (|| -> Result<&'static str, Error> {
                        vbox.acpi_power_button(uuid)?;
                        let deadline = Instant::now() + Duration::from_secs(timeout);
                        while Instant::now() < deadline {
                            match vbox.power_state(uuid)? {
                                Some((state, _)) if state.is_on() => {
                                    std::thread::sleep(Duration::from_millis(250))
                                }
                                _ => {
                                    vbox.wait_unlocked(uuid, Duration::from_secs(30))?;
                                    return Ok("shut down (ACPI)");
                                }
                            }
                        }
                        vbox.power_off(uuid)?;
                        vbox.wait_unlocked(uuid, Duration::from_secs(30))?;
                        Ok("powered off (it ignored the ACPI shutdown)")
                    })();
                    (name.clone(), result)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("halt thread"))
            .collect()
    });
    let mut failed = 0;
    for (name, result) in results {
        match result {
            Ok(how) => ui.out(&format!("{name}: {how}\n")),
            Err(error) => {
                failed += 1;
                ui.err(&format!("{name}: halt failed: {error}\n"));
            }
        }
    }
    if failed > 0 {
        return Err(Error::ActionsFailed {
            failed,
            skipped: 0,
            total: running.len(),
        });
    }
    Ok(exit_code::OK)
}
