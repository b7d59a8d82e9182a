//! The real action runner: does each planned action with VirtualBox (through the driver) and
//! with guests (over SSH), and keeps what later actions need to know (interface names, UUIDs,
//! MACs, addresses).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::event::{Event, Outcome};
use super::executor::ActionRunner;
use crate::hypervisor::inventory::{Inventory, NETWORK_OWNER_PREFIX, ObservedVm, PowerState};
use crate::hypervisor::vboxmanage::{
    CloneRequest, DhcpTarget, HostOnlyFlavor, NicConfig, NicTarget, VM_OWNER_KEY, VmConfig,
};
use crate::hypervisor::{VBoxError, VBoxManage};
use crate::lab::Lab;
use crate::lab::facts::{RuntimeFacts, lab_context, vm_context};
use crate::lab::model::{MacAddress, NetworkKind, SshRoute, Vm};
use crate::plan::{Action, NicAttachment, PlannedAction, SSH_FORWARD_RULE, VmSettings};
use crate::provision::{Guest, LocalFiles, detect_privilege, first_pending, render_steps, tail};
use crate::remote::{Connector, Credentials, RemoteError, Session, SshTarget};
use crate::state::lab_state::PinnedKey;
use crate::state::{JsonStore, LabState, PendingHostOnly};

/// What actions learn and later actions use.
#[derive(Debug, Default)]
pub struct RuntimeContext {
    /// Host-only interface of each lab network.
    pub interfaces: HashMap<String, String>,
    /// UUID of each lab VM.
    pub uuids: HashMap<String, String>,
    /// Forwarded SSH port of VMs reached through plain NAT.
    pub ssh_ports: HashMap<String, u16>,
    /// Port-forward rule names each VM has on each NAT adapter, as VirtualBox has them.
    pub nat_rules: HashMap<(String, u8), Vec<String>>,
    /// MACs and leases, for templates.
    pub facts: RuntimeFacts,
}

impl RuntimeContext {
    /// What the inventory already tells.
    pub fn from_inventory(lab: &Lab, inventory: &Inventory) -> Self {
        let mut context = Self::default();
        for network in &lab.networks {
            if let Some(interface) = host_only_of(lab, inventory, &network.name) {
                context.interfaces.insert(network.name.clone(), interface);
            }
        }
        for vm in &lab.vms {
            let Some(observed) = inventory.vm_named(&vm.vbox_name) else {
                continue;
            };
            if !observed.owned_by(&lab.name) {
                continue;
            }
            context.record_observed(vm, observed);
        }
        context
    }

    fn record_observed(&mut self, vm: &Vm, observed: &ObservedVm) {
        self.uuids.insert(vm.name.clone(), observed.uuid.clone());
        for nic in &observed.nics {
            if let Some(mac) = nic.mac {
                self.facts.macs.insert((vm.name.clone(), nic.slot), mac);
            }
            let names: Vec<String> = nic
                .forwards
                .iter()
                .filter_map(|rule| rule.split(',').next().map(str::to_string))
                .collect();
            if let Some(port) = nic
                .forwards
                .iter()
                .find(|rule| rule.starts_with(&format!("{SSH_FORWARD_RULE},")))
                .and_then(|rule| rule.split(',').nth(3))
                .and_then(|port| port.parse().ok())
            {
                self.ssh_ports.insert(vm.name.clone(), port);
            }
            self.nat_rules.insert((vm.name.clone(), nic.slot), names);
        }
    }
}

/// The host-only interface that serves a lab network, if VirtualBox has it.
fn host_only_of(lab: &Lab, inventory: &Inventory, network: &str) -> Option<String> {
    let NetworkKind::HostOnly {
        interface, host, ..
    } = &lab.network(network)?.kind
    else {
        return None;
    };
    match interface {
        Some(name) => inventory
            .host_only
            .iter()
            .find(|found| &found.name == name)
            .map(|found| found.name.clone()),
        None => inventory
            .host_only_with(*host)
            .map(|found| found.name.clone()),
    }
}

/// Everything the runner needs.
pub struct LabRunner<'a> {
    /// The lab.
    pub lab: &'a Lab,
    /// VirtualBox.
    pub vbox: &'a VBoxManage,
    /// The lab's state folder.
    pub state: &'a LabState,
    /// SSH.
    pub connector: &'a dyn Connector,
    /// Local files for uploads.
    pub files: &'a dyn LocalFiles,
    /// Credentials by image.
    pub credentials: HashMap<String, Credentials>,
    /// Folder where labctl puts this lab's VMs.
    pub basefolder: PathBuf,
    /// How long a VM may take to answer SSH after it starts.
    pub boot_timeout: Duration,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// What actions learned.
    pub context: Mutex<RuntimeContext>,
    /// Pinned host keys.
    pub host_keys: JsonStore<PinnedKey>,
    /// Applied step hashes.
    pub applied: JsonStore<Vec<String>>,
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

    /// The VirtualBox name or UUID to address a lab VM by (UUID once known).
    fn handle(&self, vm: &Vm) -> String {
        self.context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned())
            .unwrap_or_else(|| vm.vbox_name.clone())
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
                self.vbox
                    .create_host_only_network(&name, cidr.netmask(), cidr.network(), cidr.network())
                    .map_err(vbox)?;
                self.tag_network("hostonlynet", &name)?;
                name
            }
        };
        if let Ok(mut context) = self.context.lock() {
            context.interfaces.insert(network.to_string(), name);
        }
        Ok(())
    }

    fn interface(&self, network: &str) -> Result<String, String> {
        self.context
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
        let Ok(mut context) = self.context.lock() else {
            return;
        };
        for nic in &settings.nics {
            context
                .facts
                .macs
                .insert((vm.name.clone(), nic.slot), nic.mac);
            let names: Vec<String> = nic
                .forwards
                .iter()
                .filter_map(|rule| rule.split(',').next().map(str::to_string))
                .collect();
            if let Some(port) = nic
                .forwards
                .iter()
                .find(|rule| rule.starts_with(&format!("{SSH_FORWARD_RULE},")))
                .and_then(|rule| rule.split(',').nth(3))
                .and_then(|port| port.parse().ok())
            {
                context.ssh_ports.insert(vm.name.clone(), port);
            }
            context.nat_rules.insert((vm.name.clone(), nic.slot), names);
        }
    }

    /// Where the VM's SSH server is; for DHCP-leased addresses, asks the guest properties.
    fn ssh_address(&self, vm: &Vm) -> Result<Option<SocketAddr>, String> {
        let port = self
            .lab
            .image(&vm.image)
            .map_or(22, |image| image.login.port);
        match &vm.ssh {
            SshRoute::Address { ip, .. } => Ok(Some(SocketAddr::new(IpAddr::V4(*ip), port))),
            SshRoute::Forward {
                host_port: Some(host_port),
                ..
            } => Ok(Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                *host_port,
            ))),
            SshRoute::Forward {
                host_port: None, ..
            } => {
                let forwarded = self
                    .context
                    .lock()
                    .ok()
                    .and_then(|context| context.ssh_ports.get(&vm.name).copied());
                Ok(forwarded.map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)))
            }
            SshRoute::Leased { slot, .. } => {
                let known = self.context.lock().ok().and_then(|context| {
                    context.facts.leases.get(&(vm.name.clone(), *slot)).copied()
                });
                if let Some(ip) = known {
                    return Ok(Some(SocketAddr::new(IpAddr::V4(ip), port)));
                }
                let mac =
                    self.context.lock().ok().and_then(|context| {
                        context.facts.macs.get(&(vm.name.clone(), *slot)).copied()
                    });
                let Some(mac) = mac else { return Ok(None) };
                let ip = self.leased_address(vm, mac)?;
                if let (Some(ip), Ok(mut context)) = (ip, self.context.lock()) {
                    context.facts.leases.insert((vm.name.clone(), *slot), ip);
                }
                Ok(ip.map(|ip| SocketAddr::new(IpAddr::V4(ip), port)))
            }
        }
    }

    /// The address Guest Additions report for the adapter with `mac` (matched by MAC, as the
    /// guest numbers its interfaces its own way).
    fn leased_address(&self, vm: &Vm, mac: MacAddress) -> Result<Option<Ipv4Addr>, String> {
        let handle = self.handle(vm);
        let count = self
            .vbox
            .guest_property(&handle, "/VirtualBox/GuestInfo/Net/Count")
            .map_err(vbox)?
            .and_then(|count| count.parse::<u32>().ok())
            .unwrap_or(0);
        for index in 0..count {
            let found = self
                .vbox
                .guest_property(&handle, &format!("/VirtualBox/GuestInfo/Net/{index}/MAC"))
                .map_err(vbox)?;
            if found.as_deref().map(str::to_uppercase) == Some(mac.to_vbox()) {
                return Ok(self
                    .vbox
                    .guest_property(&handle, &format!("/VirtualBox/GuestInfo/Net/{index}/V4/IP"))
                    .map_err(vbox)?
                    .and_then(|ip| ip.parse().ok()));
            }
        }
        Ok(None)
    }

    fn target(&self, vm: &Vm, address: SocketAddr) -> Result<SshTarget, String> {
        let credentials = self
            .credentials
            .get(&vm.image)
            .cloned()
            .ok_or_else(|| format!("no credentials for image `{}`", vm.image))?;
        let uuid = self
            .context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned());
        let pinned_key = uuid
            .and_then(|uuid| self.host_keys.get(&uuid))
            .map(|pinned| pinned.key);
        Ok(SshTarget {
            vm: vm.name.clone(),
            address,
            credentials,
            pinned_key,
        })
    }

    /// Connects to a VM's SSH server, retrying with backoff until `deadline`; pins the host
    /// key on first contact. Fails fast when the VM stops running.
    pub fn connect(&self, vm: &Vm, deadline: Instant) -> Result<Box<dyn Session>, String> {
        let mut pause = Duration::from_millis(200);
        let mut last_error;
        let mut last_state_check = Instant::now();
        loop {
            if self.cancel.load(Ordering::SeqCst) {
                return Err(RemoteError::Interrupted.to_string());
            }
            match self.ssh_address(vm)? {
                None => last_error = "the VM has not reported an address yet".to_string(),
                Some(address) => {
                    let target = self.target(vm, address)?;
                    match self.connector.connect(&target, Duration::from_secs(10)) {
                        Ok(session) => {
                            self.pin(vm, &target, session.as_ref())?;
                            return Ok(session);
                        }
                        Err(
                            error @ (RemoteError::HostKeyChanged { .. }
                            | RemoteError::Authentication { .. }),
                        ) => return Err(error.to_string()),
                        Err(error) => last_error = error.to_string(),
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "`{}` did not answer SSH within {} s; last error: {last_error}",
                    vm.name,
                    self.boot_timeout.as_secs()
                ));
            }
            if last_state_check.elapsed() > Duration::from_secs(3) {
                last_state_check = Instant::now();
                if let Some((state, _)) = self.vbox.power_state(&self.handle(vm)).map_err(vbox)?
                    && state != PowerState::Running
                {
                    return Err(format!(
                        "`{}` stopped while labctl waited for SSH (state: {}); last error: {last_error}",
                        vm.name,
                        state.as_str()
                    ));
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    fn pin(&self, vm: &Vm, target: &SshTarget, session: &dyn Session) -> Result<(), String> {
        if target.pinned_key.is_some() {
            return Ok(());
        }
        let Some(uuid) = self
            .context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned())
        else {
            return Ok(());
        };
        self.host_keys
            .set(
                &uuid,
                Some(PinnedKey {
                    vm: vm.name.clone(),
                    key: session.host_key(),
                }),
            )
            .map_err(|error| format!("cannot pin the host key of `{}`: {error}", vm.name))
    }

    fn provision(&self, vm: &Vm, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
        let context = {
            let runtime = self
                .context
                .lock()
                .map_err(|_| "runtime state poisoned".to_string())?;
            vm_context(&lab_context(self.lab, &runtime.facts), &vm.name)
        };
        let steps =
            render_steps(&vm.steps, &context, self.files).map_err(|error| error.to_string())?;
        let uuid = self
            .context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned())
            .ok_or_else(|| format!("the UUID of `{}` is not known", vm.name))?;
        let mut applied = self.applied.get(&uuid).unwrap_or_default();
        let start = first_pending(&steps, &applied);
        if start == steps.len() {
            return Ok(());
        }
        let mut session = self.connect(vm, Instant::now() + self.boot_timeout)?;
        let password = self
            .credentials
            .get(&vm.image)
            .and_then(|credentials| credentials.password.clone());
        let privilege = detect_privilege(session.as_mut(), password.as_ref())
            .map_err(|error| error.to_string())?;
        let mut guest = Guest {
            session: session.as_mut(),
            privilege,
            password: password.as_ref(),
        };
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
    fn run(&self, planned: &PlannedAction, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
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
            } => {
                let kind = &self
                    .lab
                    .network(network)
                    .ok_or_else(|| format!("unknown network `{network}`"))?
                    .kind;
                let target = match kind {
                    NetworkKind::HostOnly { .. } => DhcpTarget::Interface(self.interface(network)?),
                    NetworkKind::NatNetwork { vbox_name, .. } => {
                        DhcpTarget::Network(vbox_name.clone())
                    }
                    _ => return Err(format!("network `{network}` has no DHCP server")),
                };
                self.vbox
                    .configure_dhcp(&target, *create, dhcp, *netmask, fixed)
                    .map_err(vbox)
            }
            Action::CreateNatNetwork {
                name,
                cidr,
                dhcp,
                forwards,
                ..
            } => {
                self.vbox
                    .create_nat_network(name, &cidr.to_string(), *dhcp, forwards)
                    .map_err(vbox)?;
                self.tag_network("natnetwork", name)
            }
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
            } => {
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
            Action::TakeSnapshot {
                master, snapshot, ..
            } => self.vbox.take_snapshot(master, snapshot).map_err(vbox),
            Action::CloneVm {
                vm,
                vbox_name,
                master,
                snapshot,
                ..
            } => {
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
                if let Ok(mut context) = self.context.lock() {
                    context.uuids.insert(vm.clone(), uuid.clone());
                    context.nat_rules.retain(|(name, _), _| name != vm);
                }
                self.vbox
                    .set_extradata(&uuid, VM_OWNER_KEY, &format!("{}:{vm}", self.lab.name))
                    .map_err(vbox)
            }
            Action::ConfigureVm { vm, settings, .. } => {
                let vm = self.vm(vm)?;
                let config = self.vm_config(vm, settings)?;
                let handle = self.handle(vm);
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
            Action::PowerOffVm { vm, vbox_name } => {
                let handle = self
                    .lab
                    .vm(vm)
                    .map_or_else(|| vbox_name.clone(), |vm| self.handle(vm));
                emit(Event::Note {
                    vm: Some(vm.clone()),
                    message: format!("powering {vbox_name} off: {}", planned.reason),
                });
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
            Action::StartVm { vm, .. } => {
                let vm = self.vm(vm)?;
                self.vbox.start(&self.handle(vm)).map_err(vbox)
            }
            Action::WaitForSsh { vm } => {
                let vm = self.vm(vm)?;
                self.connect(vm, Instant::now() + self.boot_timeout)
                    .map(drop)
            }
            Action::Provision { vm, .. } => {
                let vm = self.vm(vm)?;
                self.provision(vm, emit)
            }
            Action::DeleteVm { vm, vbox_name } => {
                let handle = self
                    .lab
                    .vm(vm)
                    .map_or_else(|| vbox_name.clone(), |vm| self.handle(vm));
                if !self
                    .vbox
                    .wait_unlocked(&handle, Duration::from_secs(30))
                    .map_err(vbox)?
                {
                    return Err(format!(
                        "`{vbox_name}` is still locked by a session after 30 s"
                    ));
                }
                self.vbox.delete(&handle).map_err(vbox)
            }
        }
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
        use std::os::unix::fs::PermissionsExt;
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
                    let mode = std::fs::metadata(&path)?.permissions().mode() & 0o7777;
                    found.push((relative, mode, std::fs::read(&path)?));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}
