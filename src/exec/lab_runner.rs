//! The real action runner: does each planned action with VirtualBox (through the driver) and
//! with guests (over SSH), and keeps what later actions need to know (interface names, UUIDs,
//! MACs, addresses).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::event::{Event, Outcome};
use super::executor::{ActionError, ActionRunner};
use super::guest_access::GuestAccess;
use crate::hypervisor::inventory::{NETWORK_OWNER_PREFIX, RESERVATIONS_PREFIX, Reservation};
use crate::hypervisor::vboxmanage::{
    CloneRequest, DhcpTarget, HostOnlyFlavor, NicConfig, NicTarget, VM_OWNER_KEY, VmConfig,
};
use crate::hypervisor::{VBoxError, VBoxManage};
use crate::lab::Lab;
use crate::lab::facts::{lab_context, vm_context};
use crate::lab::model::{Dhcp, MacAddress, NetworkKind, Vm};
use crate::plan::{Action, GuestSetup, NicAttachment, PlannedAction, VmSettings};
use crate::provision::{LocalFiles, first_pending, render_steps, tail};
use crate::state::{JsonStore, LabState, PendingHostOnly};
use ipnet::Ipv4Net;

/// Everything the runner needs.
pub struct LabRunner<'a> {
    /// The lab.
    pub lab: &'a Lab,
    /// VirtualBox.
    pub vbox: &'a VBoxManage,
    /// The lab's state folder.
    pub state: &'a LabState,
    /// Reaching guests (and what actions learned of the running lab).
    pub guests: GuestAccess<'a>,
    /// Local files for uploads.
    pub files: &'a dyn LocalFiles,
    /// Folder where labctl puts this lab's VMs.
    pub basefolder: PathBuf,
    /// How long a VM may take to answer SSH after it starts.
    pub boot_timeout: Duration,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// Applied step hashes.
    pub applied: JsonStore<Vec<String>>,
    /// Digests of the guest setups done.
    pub guest_setups: JsonStore<String>,
    /// Reservations made on DHCP servers, by lab network.
    pub dhcp_reservations: JsonStore<BTreeMap<String, String>>,
}

fn vbox(error: VBoxError) -> String {
    error.to_string()
}

impl LabRunner<'_> {
    fn vm(&self, name: &str) -> Result<&Vm, String> {
        self.lab
            .vm(name)
            .ok_or_else(|| format!("the lab has no VM `{name}`"))
    }

    fn group(&self) -> String {
        self.lab.vbox_group()
    }

    /// Removes a VM folder left by a killed import or clone (labctl's own folder, holding no
    /// registered VM), so that VirtualBox can create it again.
    fn clear_orphan_folder(&self, name: &str) -> Result<(), String> {
        let folder = self.basefolder.join(name);
        if !folder.exists() {
            return Ok(());
        }
        let registered = self.vbox.list_vms().map_err(vbox)?;
        if registered.iter().any(|(existing, _)| existing == name) {
            return Ok(());
        }
        std::fs::remove_dir_all(&folder).map_err(|error| {
            format!(
                "cannot remove the leftover folder {}: {error}",
                folder.display()
            )
        })
    }

    fn tag_network(&self, kind: &str, name: &str) -> Result<(), String> {
        self.vbox
            .set_global_extradata(
                &format!("{NETWORK_OWNER_PREFIX}/{kind}/{name}"),
                Some(&self.lab.name),
            )
            .map_err(vbox)
    }

    fn create_host_only(
        &self,
        network: &str,
        cidr: ipnet::Ipv4Net,
        host: Ipv4Addr,
    ) -> Result<(), String> {
        let name = match self.vbox.flavor() {
            HostOnlyFlavor::Interfaces => {
                let existing = self
                    .vbox
                    .host_only_interfaces()
                    .map_err(vbox)?
                    .into_iter()
                    .map(|found| found.name)
                    .collect();
                self.state
                    .begin_host_only(&PendingHostOnly {
                        network: network.to_string(),
                        existing,
                    })
                    .map_err(|error| format!("cannot write the state folder: {error}"))?;
                let name = self.vbox.create_host_only().map_err(vbox)?;
                self.tag_network("hostonly", &name)?;
                self.state
                    .end_host_only()
                    .map_err(|error| format!("cannot write the state folder: {error}"))?;
                self.vbox
                    .set_host_only_address(&name, host, cidr.netmask())
                    .map_err(vbox)?;
                name
            }
            HostOnlyFlavor::Networks => {
                let name = format!("labctl-{}-{network}", self.lab.name);
                self.tag_network("hostonlynet", &name)?;
                // vmnet's DHCP hands out the lower–upper range: the lab's DHCP range, or (no
                // DHCP) the network address alone, as Vagrant does for static setups.
                let (lower, upper) = match self.lab.network(network).map(|n| &n.kind) {
                    Some(NetworkKind::HostOnly {
                        dhcp: Some(dhcp), ..
                    }) => (dhcp.lower, dhcp.upper),
                    _ => (cidr.network(), cidr.network()),
                };
                self.vbox
                    .create_host_only_network(&name, cidr.netmask(), lower, upper)
                    .map_err(vbox)?;
                name
            }
        };
        if let Ok(mut context) = self.guests.context.lock() {
            context.interfaces.insert(network.to_string(), name);
        }
        Ok(())
    }

    fn interface(&self, network: &str) -> Result<String, String> {
        self.guests
            .context
            .lock()
            .ok()
            .and_then(|context| context.interfaces.get(network).cloned())
            .ok_or_else(|| {
                format!(
                    "the host-only interface of network `{network}` is not known (was it created?)"
                )
            })
    }

    fn vm_config(&self, vm: &Vm, settings: &VmSettings) -> Result<VmConfig, String> {
        let mut nics = Vec::new();
        for nic in &settings.nics {
            let target = match &nic.attachment {
                NicAttachment::Nat => {
                    let remove = self
                        .guests
                        .context
                        .lock()
                        .ok()
                        .and_then(|context| {
                            context.nat_rules.get(&(vm.name.clone(), nic.slot)).cloned()
                        })
                        .unwrap_or_default();
                    NicTarget::Nat {
                        forwards: nic.forwards.clone(),
                        remove,
                    }
                }
                NicAttachment::HostOnly { network } => {
                    NicTarget::HostOnly(self.interface(network)?)
                }
                NicAttachment::NatNetwork { name } => NicTarget::NatNetwork(name.clone()),
                NicAttachment::Internal { name } => NicTarget::Internal(name.clone()),
            };
            nics.push(NicConfig {
                slot: nic.slot,
                target,
                mac: nic.mac,
                cable: nic.cable,
                nic_type: nic.nic_type.clone(),
            });
        }
        Ok(VmConfig {
            memory: settings.memory,
            cpus: settings.cpus,
            nics,
            disable: settings.disable.clone(),
            description: settings.description.clone(),
        })
    }

    fn record_settings(&self, vm: &Vm, settings: &VmSettings) {
        let Ok(mut context) = self.guests.context.lock() else {
            return;
        };
        for nic in &settings.nics {
            context
                .facts
                .macs
                .insert((vm.name.clone(), nic.slot), nic.mac);
            context.record_forwards(vm, nic.slot, &nic.forwards);
        }
    }

    fn uuid_of(&self, vm: &Vm) -> Result<String, String> {
        self.guests
            .context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned())
            .ok_or_else(|| format!("the UUID of `{}` is not known", vm.name))
    }

    /// Runs the guest setup as root over adapter 1's route, learns the addresses the NICs got,
    /// and records the setup's digest so that an unchanged lab does nothing in the guest again.
    fn configure_guest(&self, vm: &Vm, setup: &GuestSetup) -> Result<(), String> {
        let uuid = self.uuid_of(vm)?;
        let mut login = self
            .guests
            .login_first(vm, Instant::now() + self.boot_timeout)?;
        let mut guest = login.guest();
        let output = guest
            .run(
                &setup.script(),
                true,
                &[],
                &[],
                Duration::from_secs(180),
                &mut |_| {},
            )
            .map_err(|error| error.to_string())?;
        let text = output.text();
        if output.status != 0 {
            let said: Vec<&str> = text
                .lines()
                .filter(|line| line.starts_with("labctl: "))
                .collect();
            let why = if said.is_empty() {
                tail(&output.output, 5).join(" | ")
            } else {
                said.join("; ")
            };
            return Err(format!(
                "setting up the guest of `{}` failed (exit {}): {why}",
                vm.name, output.status
            ));
        }
        if let Ok(mut context) = self.guests.context.lock() {
            for (slot, address) in text.lines().filter_map(setup_line) {
                context
                    .facts
                    .leases
                    .insert((vm.name.clone(), slot), address);
            }
        }
        self.guest_setups
            .set(&uuid, Some(setup.digest()))
            .map_err(|error| format!("cannot write the state folder: {error}"))
    }

    fn provision(&self, vm: &Vm, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
        let context = {
            let runtime = self
                .guests
                .context
                .lock()
                .map_err(|_| "runtime state poisoned".to_string())?;
            vm_context(&lab_context(self.lab, &runtime.facts), &vm.name)
        };
        let steps =
            render_steps(&vm.steps, &context, self.files).map_err(|error| error.to_string())?;
        let uuid = self.uuid_of(vm)?;
        let mut applied = self.applied.get(&uuid).unwrap_or_default();
        let start = first_pending(&steps, &applied);
        if start == steps.len() {
            return Ok(());
        }
        let mut login = self.guests.login(vm, Instant::now() + self.boot_timeout)?;
        let mut guest = login.guest();
        applied.truncate(start);
        let total = steps.len();
        for (index, step) in steps.iter().enumerate().skip(start) {
            if self.cancel.load(Ordering::SeqCst) {
                return Err("interrupted".into());
            }
            emit(Event::StepStarted {
                vm: vm.name.clone(),
                index: index + 1,
                total,
                name: step.name.clone(),
            });
            let location = {
                let (line, column) = self
                    .lab
                    .sources
                    .line_col(step.span.file, step.span.range.start);
                format!(
                    "{}:{line}:{column}",
                    self.lab.sources.get(step.span.file).name
                )
            };
            let began = Instant::now();
            let result = guest.run_step(step, &mut |_| {});
            let (outcome, output) = match result {
                Ok(done) if done.status == 0 => (Outcome::Done, Vec::new()),
                Ok(done) => (
                    Outcome::Failed(format!("exited with status {}", done.status)),
                    tail(&done.output, 20),
                ),
                Err(error) => (Outcome::Failed(error.to_string()), Vec::new()),
            };
            emit(Event::StepFinished {
                vm: vm.name.clone(),
                index: index + 1,
                total,
                name: step.name.clone(),
                outcome: outcome.clone(),
                output: output.clone(),
                location: location.clone(),
                seconds: began.elapsed().as_secs_f64(),
            });
            if let Outcome::Failed(why) = outcome {
                let shown = if output.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\n  last lines of its output:\n    {}",
                        output.join("\n    ")
                    )
                };
                return Err(format!(
                    "step {}/{total} `{}` ({location}) failed: {why}{shown}",
                    index + 1,
                    step.name
                ));
            }
            applied.push(step.hash.clone());
            self.applied
                .set(&uuid, Some(applied.clone()))
                .map_err(|error| format!("cannot record the step in the state folder: {error}"))?;
        }
        Ok(())
    }
}

impl ActionRunner for LabRunner<'_> {
    fn run(
        &self,
        planned: &PlannedAction,
        emit: &(dyn Fn(Event) + Sync),
    ) -> Result<(), ActionError> {
        self.perform(planned, emit).map_err(|why| {
            // The waits and step loops end with "interrupted" when Ctrl-C stops them.
            match why.strip_suffix("interrupted") {
                Some(context) if self.cancel.load(Ordering::SeqCst) => {
                    ActionError::Interrupted(context.trim_end_matches([':', ' ']).to_string())
                }
                _ => ActionError::Failed(why),
            }
        })
    }
}

impl LabRunner<'_> {
    /// Does one action (`run` tells failures from interruptions).
    fn perform(
        &self,
        planned: &PlannedAction,
        emit: &(dyn Fn(Event) + Sync),
    ) -> Result<(), String> {
        match &planned.action {
            Action::CreateHostOnly {
                network,
                cidr,
                host,
            } => self.create_host_only(network, *cidr, *host),
            Action::SetHostOnlyAddress {
                interface,
                host,
                netmask,
                ..
            } => self
                .vbox
                .set_host_only_address(interface, *host, *netmask)
                .map_err(vbox),
            Action::ConfigureDhcp {
                network,
                create,
                dhcp,
                netmask,
                fixed,
            } => self.configure_dhcp(network, *create, dhcp, *netmask, fixed),
            Action::CreateNatNetwork {
                name,
                cidr,
                dhcp,
                forwards,
                ..
            } => self.create_nat_network(name, *cidr, *dhcp, forwards),
            Action::UpdateNatNetwork {
                name,
                dhcp,
                add,
                remove,
                ..
            } => self
                .vbox
                .update_nat_network(name, *dhcp, add, remove)
                .map_err(vbox),
            Action::ImportAppliance {
                image,
                master,
                path,
            } => self.import_appliance(image, master, path),
            Action::TakeSnapshot {
                master, snapshot, ..
            } => self.vbox.take_snapshot(master, snapshot).map_err(vbox),
            Action::CloneVm {
                vm,
                vbox_name,
                master,
                snapshot,
                ..
            } => self.clone_vm(vm, vbox_name, master, snapshot),
            Action::ConfigureVm { vm, settings, .. } => self.configure_vm(self.vm(vm)?, settings),
            Action::PowerOffVm { vm, vbox_name } => {
                emit(Event::Note {
                    vm: Some(vm.clone()),
                    message: format!("powering {vbox_name} off: {}", planned.reason),
                });
                self.power_off_vm(vm, vbox_name)
            }
            Action::StartVm { vm, .. } => {
                let vm = self.vm(vm)?;
                self.vbox.start(&self.guests.handle(vm)).map_err(vbox)
            }
            Action::WaitForSsh { vm } => {
                let vm = self.vm(vm)?;
                self.guests
                    .connect_first(vm, Instant::now() + self.boot_timeout)
                    .map(drop)
            }
            Action::ConfigureGuest { vm, setup } => self.configure_guest(self.vm(vm)?, setup),
            Action::Provision { vm, .. } => self.provision(self.vm(vm)?, emit),
            Action::DeleteVm { vm, vbox_name } => self.delete_vm(vm, vbox_name),
        }
    }
}

/// One executing function per kind of action.
impl LabRunner<'_> {
    fn configure_dhcp(
        &self,
        network: &str,
        create: bool,
        dhcp: &Dhcp,
        netmask: Ipv4Addr,
        fixed: &[(MacAddress, Ipv4Addr)],
    ) -> Result<(), String> {
        let kind = &self
            .lab
            .network(network)
            .ok_or_else(|| format!("unknown network `{network}`"))?
            .kind;
        let target = match kind {
            NetworkKind::HostOnly { .. } => DhcpTarget::Interface(self.interface(network)?),
            NetworkKind::NatNetwork { vbox_name, .. } => DhcpTarget::Network(vbox_name.clone()),
            _ => return Err(format!("network `{network}` has no DHCP server")),
        };
        self.vbox
            .configure_dhcp(&target, create, dhcp, netmask, fixed)
            .map_err(vbox)?;
        // Recorded once VirtualBox has them: a run killed before leaves them to add.
        let mut made = if create {
            BTreeMap::new()
        } else {
            self.dhcp_reservations.get(network).unwrap_or_default()
        };
        made.extend(
            fixed
                .iter()
                .map(|(mac, ip)| (mac.to_string(), ip.to_string())),
        );
        // Marked in VirtualBox too, where another lab sharing the network sees them.
        self.vbox
            .set_global_extradata(
                &format!(
                    "{RESERVATIONS_PREFIX}/{}/{}",
                    target.network_name(),
                    self.lab.name
                ),
                Some(&Reservation::value(&made)),
            )
            .map_err(vbox)?;
        self.dhcp_reservations
            .set(network, Some(made))
            .map_err(|error| format!("cannot write the state folder: {error}"))
    }

    fn create_nat_network(
        &self,
        name: &str,
        cidr: Ipv4Net,
        dhcp: bool,
        forwards: &[String],
    ) -> Result<(), String> {
        // Marked before it exists: a run killed between the two calls leaves a mark without a
        // network (destroy clears it), never a network nobody owns.
        self.tag_network("natnetwork", name)?;
        self.vbox
            .create_nat_network(name, &cidr.to_string(), dhcp, forwards)
            .map_err(vbox)
    }

    fn import_appliance(&self, image: &str, master: &str, path: &Path) -> Result<(), String> {
        self.clear_orphan_folder(master)?;
        let uuid = self
            .vbox
            .import(
                &path.display().to_string(),
                master,
                &self.basefolder.display().to_string(),
                &self.group(),
            )
            .map_err(vbox)?;
        self.vbox
            .set_extradata(
                &uuid,
                VM_OWNER_KEY,
                &format!("{}:master:{image}", self.lab.name),
            )
            .map_err(vbox)
    }

    fn clone_vm(
        &self,
        vm: &str,
        vbox_name: &str,
        master: &str,
        snapshot: &str,
    ) -> Result<(), String> {
        self.clear_orphan_folder(vbox_name)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let basefolder = self.basefolder.display().to_string();
        let group = self.group();
        self.vbox
            .clone_vm(&CloneRequest {
                source: master,
                snapshot: Some(snapshot),
                name: vbox_name,
                uuid: Some(&uuid),
                basefolder: Some(&basefolder),
                group: Some(&group),
            })
            .map_err(vbox)?;
        if let Ok(mut context) = self.guests.context.lock() {
            context.uuids.insert(vm.to_string(), uuid.clone());
            context.nat_rules.retain(|(name, _), _| name != vm);
        }
        self.vbox
            .set_extradata(&uuid, VM_OWNER_KEY, &format!("{}:{vm}", self.lab.name))
            .map_err(vbox)
    }

    fn configure_vm(&self, vm: &Vm, settings: &VmSettings) -> Result<(), String> {
        let config = self.vm_config(vm, settings)?;
        let handle = self.guests.handle(vm);
        if !self
            .vbox
            .wait_unlocked(&handle, Duration::from_secs(30))
            .map_err(vbox)?
        {
            return Err(format!(
                "`{}` is still locked by a session after 30 s",
                vm.vbox_name
            ));
        }
        self.vbox.configure(&handle, &config).map_err(vbox)?;
        self.record_settings(vm, settings);
        Ok(())
    }

    /// The VirtualBox name or UUID of a lab VM, or of a VM no longer in the lab.
    fn handle_of(&self, vm: &str, vbox_name: &str) -> String {
        self.lab
            .vm(vm)
            .map_or_else(|| vbox_name.to_string(), |vm| self.guests.handle(vm))
    }

    fn power_off_vm(&self, vm: &str, vbox_name: &str) -> Result<(), String> {
        let handle = self.handle_of(vm, vbox_name);
        self.vbox.power_off(&handle).map_err(vbox)?;
        if !self
            .vbox
            .wait_unlocked(&handle, Duration::from_secs(30))
            .map_err(vbox)?
        {
            return Err(format!(
                "`{vbox_name}` did not release its session within 30 s of powering off"
            ));
        }
        Ok(())
    }

    fn delete_vm(&self, vm: &str, vbox_name: &str) -> Result<(), String> {
        let handle = self.handle_of(vm, vbox_name);
        if !self
            .vbox
            .wait_unlocked(&handle, Duration::from_secs(30))
            .map_err(vbox)?
        {
            return Err(format!(
                "`{vbox_name}` is still locked by a session after 30 s"
            ));
        }
        self.vbox.delete(&handle).map_err(vbox)?;
        if let Some(uuid) = self.lab.vm(vm).map(|vm| self.guests.handle(vm)) {
            self.state.forget_vm(&uuid);
        }
        Ok(())
    }
}

/// A `nic SLOT NAME ADDRESS/LEN` line of the guest setup script.
fn setup_line(line: &str) -> Option<(u8, Ipv4Addr)> {
    let mut words = line.strip_prefix("nic ")?.split_whitespace();
    let slot = words.next()?.parse().ok()?;
    let _name = words.next()?;
    let address = words.next()?.split('/').next()?.parse().ok()?;
    Some((slot, address))
}

/// The mode a local file is uploaded with: its own on Unix; on Windows, which has no mode bits,
/// 0644 (0444 when read-only).
#[cfg(unix)]
fn file_mode(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

/// The mode a local file is uploaded with: its own on Unix; on Windows, which has no mode bits,
/// 0644 (0444 when read-only).
#[cfg(not(unix))]
fn file_mode(metadata: &std::fs::Metadata) -> u32 {
    if metadata.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// Reads local files from disk.
pub struct DiskFiles;

impl LocalFiles for DiskFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn walk(&self, root: &Path) -> std::io::Result<Vec<(String, u32, Vec<u8>)>> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .into_owned();
                    let mode = file_mode(&std::fs::metadata(&path)?);
                    found.push((relative, mode, std::fs::read(&path)?));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}
