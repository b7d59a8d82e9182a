//! Reaching guests: where each VM's SSH server is (fixed address, DHCP lease read from the
//! guest properties, or NAT port forward), logging in with the lab's credentials, and pinning
//! each VM's host key on first contact (a changed key on the same VM is refused).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::hypervisor::VBoxManage;
use crate::hypervisor::inventory::{Inventory, ObservedVm, PowerState};
use crate::hypervisor::vboxmanage::DhcpTarget;
use crate::lab::Lab;
use crate::lab::facts::{RuntimeFacts, lab_context, vm_context};
use crate::lab::model::{MacAddress, NetworkKind, SshRoute, Vm};
use crate::plan::SSH_FORWARD_RULE;
use crate::provision::{Guest, RenderedStep, detect_privilege, tail};
use crate::remote::guest_shell::Privilege;
use crate::remote::{Connector, Credentials, RemoteError, Secret, Session, SshTarget};
use crate::state::JsonStore;
use crate::state::lab_state::PinnedKey;

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
            if let Some(found) = inventory.host_only_for(lab, &network.name) {
                context
                    .interfaces
                    .insert(network.name.clone(), found.name.clone());
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
            self.record_forwards(vm, nic.slot, &nic.forwards);
        }
    }

    /// The DHCP server of a lab network, as VBoxManage names it (None: the network has none).
    pub fn dhcp_server(&self, lab: &Lab, network: &str) -> Option<DhcpTarget> {
        let network = lab.network(network)?;
        network.dhcp()?;
        match &network.kind {
            NetworkKind::HostOnly { .. } => self
                .interfaces
                .get(&network.name)
                .map(|interface| DhcpTarget::Interface(interface.clone())),
            NetworkKind::NatNetwork { vbox_name, .. } => {
                Some(DhcpTarget::Network(vbox_name.clone()))
            }
            _ => None,
        }
    }

    /// Remembers the NAT port-forward rules an adapter has (VirtualBox's
    /// `name,proto,host_ip,host_port,guest_ip,guest_port`), and labctl's SSH forward among them.
    pub fn record_forwards(&mut self, vm: &Vm, slot: u8, rules: &[String]) {
        let names: Vec<String> = rules
            .iter()
            .filter_map(|rule| rule.split(',').next().map(str::to_string))
            .collect();
        if let Some(port) = rules
            .iter()
            .find(|rule| rule.starts_with(&format!("{SSH_FORWARD_RULE},")))
            .and_then(|rule| rule.split(',').nth(3))
            .and_then(|port| port.parse().ok())
        {
            self.ssh_ports.insert(vm.name.clone(), port);
        }
        self.nat_rules.insert((vm.name.clone(), slot), names);
    }
}

/// A session to a guest, with how commands get root in it.
pub struct Login {
    session: Box<dyn Session>,
    privilege: Privilege,
    password: Option<Secret>,
}

impl Login {
    /// The guest, to run commands and steps in.
    pub fn guest(&mut self) -> Guest<'_> {
        Guest {
            session: self.session.as_mut(),
            privilege: self.privilege,
            password: self.password.as_ref(),
        }
    }
}

/// What labctl needs to reach the lab's guests.
pub struct GuestAccess<'a> {
    /// The lab.
    pub lab: &'a Lab,
    /// VirtualBox (for states and guest properties).
    pub vbox: &'a VBoxManage,
    /// SSH.
    pub connector: &'a dyn Connector,
    /// Credentials by image.
    pub credentials: HashMap<String, Credentials>,
    /// What is known of the running lab.
    pub context: Mutex<RuntimeContext>,
    /// Pinned host keys.
    pub host_keys: JsonStore<PinnedKey>,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// How long to keep trying to connect (shown in messages).
    pub wait_limit: Duration,
    /// VMs known to be stopped, with their state in words: reaching them fails at once instead
    /// of waiting for SSH (commands that start no VM fill it from the inventory they read).
    pub stopped: HashMap<String, String>,
}

fn vbox(error: crate::hypervisor::VBoxError) -> String {
    error.to_string()
}

impl GuestAccess<'_> {
    /// The VirtualBox name or UUID to address a lab VM by (UUID once known).
    pub fn handle(&self, vm: &Vm) -> String {
        self.context
            .lock()
            .ok()
            .and_then(|context| context.uuids.get(&vm.name).cloned())
            .unwrap_or_else(|| vm.vbox_name.clone())
    }

    /// Where the VM's SSH server is; for DHCP-leased addresses, asks the guest properties.
    pub fn ssh_address(&self, vm: &Vm) -> Result<Option<SocketAddr>, String> {
        self.route_address(vm, &vm.ssh)
    }

    /// Where the VM's SSH server is reached over `route`.
    fn route_address(&self, vm: &Vm, route: &SshRoute) -> Result<Option<SocketAddr>, String> {
        let port = self
            .lab
            .image(&vm.image)
            .map_or(22, |image| image.login.port);
        match route {
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
            SshRoute::Leased { slot, network } => {
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
                let ip = self.leased_address(vm, mac, network)?;
                if let (Some(ip), Ok(mut context)) = (ip, self.context.lock()) {
                    context.facts.leases.insert((vm.name.clone(), *slot), ip);
                }
                Ok(ip.map(|ip| SocketAddr::new(IpAddr::V4(ip), port)))
            }
        }
    }

    /// The address Guest Additions report for the adapter with `mac` (matched by MAC, as the
    /// guest numbers its interfaces its own way), or without them the lease the network's DHCP
    /// server has for it.
    fn leased_address(
        &self,
        vm: &Vm,
        mac: MacAddress,
        network: &str,
    ) -> Result<Option<Ipv4Addr>, String> {
        let server = self
            .context
            .lock()
            .ok()
            .and_then(|context| context.dhcp_server(self.lab, network));
        self.vbox
            .leased_address(&self.handle(vm), mac, server.as_ref())
            .map_err(vbox)
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
        self.connect_over(vm, &vm.ssh, deadline)
    }

    /// Connects over adapter 1, the route that works before the guest is set up (the SSH
    /// route itself for most labs).
    pub fn connect_first(&self, vm: &Vm, deadline: Instant) -> Result<Box<dyn Session>, String> {
        self.connect_over(vm, vm.bootstrap.as_ref().unwrap_or(&vm.ssh), deadline)
    }

    fn connect_over(
        &self,
        vm: &Vm,
        route: &SshRoute,
        deadline: Instant,
    ) -> Result<Box<dyn Session>, String> {
        // Only a VM VirtualBox has as the lab's is ever reached: whatever answers at its
        // address otherwise (another lab's VM) is not it, and its host key must not be pinned.
        let known = self
            .context
            .lock()
            .is_ok_and(|context| context.uuids.contains_key(&vm.name));
        if !known {
            return Err(format!(
                "`{}` is not created (VirtualBox has no VM `{}` of lab `{}`): run `labctl up`",
                vm.name, vm.vbox_name, self.lab.name
            ));
        }
        if let Some(state) = self.stopped.get(&vm.name) {
            return Err(format!("`{}` is {state}: run `labctl up`", vm.name));
        }
        let mut pause = Duration::from_millis(200);
        let mut last_error;
        let mut last_state_check = Instant::now();
        loop {
            if self.cancel.load(Ordering::SeqCst) {
                return Err(RemoteError::Interrupted.to_string());
            }
            match self.route_address(vm, route)? {
                None => last_error = "the VM has not reported an address yet".to_string(),
                Some(address) => {
                    let target = self.target(vm, address)?;
                    match self.connector.connect(&target, Duration::from_secs(10)) {
                        Ok(mut session) => {
                            if target.pinned_key.is_none() {
                                self.check_identity(vm, address, session.as_mut())?;
                            }
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
                    self.wait_limit.as_secs()
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

    /// Before a first contact's host key is trusted: the machine that answered must be `vm`,
    /// i.e. have one of the MACs VirtualBox gave `vm`'s adapters. Another lab's VM at the same
    /// address (or one a stale lease pointed at) is refused, and its key never pinned. Guests
    /// without /sys/class/net (not Linux) are not checked.
    fn check_identity(
        &self,
        vm: &Vm,
        address: SocketAddr,
        session: &mut dyn Session,
    ) -> Result<(), String> {
        let Some(info) = self.vbox.show(&self.handle(vm)).map_err(vbox)? else {
            return Ok(());
        };
        let expected: Vec<MacAddress> = (1..=8)
            .filter_map(|slot| info.get(&format!("macaddress{slot}")))
            .filter_map(|text| MacAddress::parse(text).ok())
            .collect();
        let Ok(output) = session.exec(
            "cat /sys/class/net/*/address 2>/dev/null",
            &[],
            Duration::from_secs(20),
            &mut |_| {},
        ) else {
            return Ok(());
        };
        let found: Vec<MacAddress> = String::from_utf8_lossy(&output.output)
            .lines()
            .filter_map(|line| MacAddress::parse(line.trim()).ok())
            .filter(|mac| mac.to_string() != "00:00:00:00:00:00")
            .collect();
        if expected.is_empty() || found.is_empty() || found.iter().any(|mac| expected.contains(mac))
        {
            return Ok(());
        }
        let list = |macs: &[MacAddress]| {
            macs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(format!(
            "the machine answering at {address} is not `{}`: its MACs ({}) are none of `{}`'s ({}); another VM has this address, so labctl did not trust its host key",
            vm.name,
            list(&found),
            vm.vbox_name,
            list(&expected)
        ))
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
}

impl GuestAccess<'_> {
    /// The address of `vm` on `network` (or on its SSH network): a fixed one, or its DHCP lease
    /// as the guest reports it.
    pub fn address_of(&self, vm: &Vm, network: Option<&str>) -> Result<Ipv4Addr, String> {
        let nic = match network {
            Some(network) => vm
                .nic_on(network)
                .ok_or_else(|| format!("`{}` has no NIC on network `{network}`", vm.name))?,
            None => match &vm.ssh {
                SshRoute::Address { network, .. } | SshRoute::Leased { network, .. } => vm
                    .nic_on(network)
                    .ok_or_else(|| format!("`{}` has no NIC on network `{network}`", vm.name))?,
                SshRoute::Forward { .. } => {
                    return vm
                        .nics
                        .iter()
                        .find_map(|nic| nic.ip)
                        .ok_or_else(|| format!("`{}` is reached only through a NAT port forward: it has no address the host can reach", vm.name));
                }
            },
        };
        if let Some(ip) = nic.ip {
            return Ok(ip);
        }
        if matches!(
            self.lab.network(&nic.network).map(|network| &network.kind),
            Some(NetworkKind::Nat)
        ) {
            return Ok(Ipv4Addr::new(10, 0, 2, 15));
        }
        let known = self.context.lock().ok().and_then(|context| {
            context
                .facts
                .leases
                .get(&(vm.name.clone(), nic.slot))
                .copied()
        });
        if let Some(ip) = known {
            return Ok(ip);
        }
        let mac = self
            .context
            .lock()
            .ok()
            .and_then(|context| {
                context
                    .facts
                    .macs
                    .get(&(vm.name.clone(), nic.slot))
                    .copied()
            })
            .ok_or_else(|| {
                format!(
                    "the MAC of `{}` adapter {} is not known (is the VM created?)",
                    vm.name, nic.slot
                )
            })?;
        let ip = self.leased_address(vm, mac, &nic.network)?.ok_or_else(|| {
            format!(
                "`{}` has not reported an address on network `{}` yet",
                vm.name, nic.network
            )
        })?;
        if let Ok(mut context) = self.context.lock() {
            context.facts.leases.insert((vm.name.clone(), nic.slot), ip);
        }
        Ok(ip)
    }

    /// Fills in the leased addresses of every DHCP adapter that VirtualBox reports, for
    /// templates that use them.
    pub fn learn_leases(&self) {
        // One VM after another would cost a few guest-property reads each: ask all at once.
        std::thread::scope(|scope| {
            for vm in &self.lab.vms {
                scope.spawn(move || {
                    for nic in vm.nics.iter().filter(|nic| nic.ip.is_none()) {
                        if self
                            .lab
                            .network(&nic.network)
                            .is_some_and(|network| network.dhcp().is_some())
                        {
                            let _ = self.address_of(vm, Some(&nic.network));
                        }
                    }
                });
            }
        });
    }

    /// Runs a command on a VM as its login user (a short-lived connection).
    pub fn run(
        &self,
        vm: &Vm,
        command: &str,
        timeout: Duration,
    ) -> Result<crate::remote::ExecOutput, String> {
        let mut session =
            self.connect(vm, Instant::now() + timeout.min(Duration::from_secs(30)))?;
        session
            .exec(command, &[], timeout, &mut |_| {})
            .map_err(|error| error.to_string())
    }
}

impl GuestAccess<'_> {
    /// The template context: the lab's facts (with MACs and leases learned so far), and `vm`
    /// when templates are rendered for one VM.
    pub fn template_context(&self, vm: Option<&str>) -> serde_json::Value {
        let facts = self
            .context
            .lock()
            .map(|context| context.facts.clone())
            .unwrap_or_default();
        let lab = lab_context(self.lab, &facts);
        match vm {
            Some(vm) => vm_context(&lab, vm),
            None => lab,
        }
    }

    /// Logs in to a VM (retrying until `deadline`) and finds out how commands get root there.
    pub fn login(&self, vm: &Vm, deadline: Instant) -> Result<Login, String> {
        self.login_with(vm, self.connect(vm, deadline)?)
    }

    /// Logs in over adapter 1 (see `connect_first`).
    pub fn login_first(&self, vm: &Vm, deadline: Instant) -> Result<Login, String> {
        self.login_with(vm, self.connect_first(vm, deadline)?)
    }

    fn login_with(&self, vm: &Vm, mut session: Box<dyn Session>) -> Result<Login, String> {
        let password = self
            .credentials
            .get(&vm.image)
            .and_then(|credentials| credentials.password.clone());
        let privilege = detect_privilege(session.as_mut(), password.as_ref())
            .map_err(|error| error.to_string())?;
        Ok(Login {
            session,
            privilege,
            password,
        })
    }

    /// Runs a command on a VM as root (through sudo, as steps do); fails unless it exits 0.
    pub fn run_as_root(&self, vm: &Vm, command: &str, timeout: Duration) -> Result<(), String> {
        let mut login = self.login(vm, Instant::now() + Duration::from_secs(30))?;
        let mut guest = login.guest();
        let output = guest
            .run(command, true, &[], &[], timeout, &mut |_| {})
            .map_err(|error| error.to_string())?;
        if output.status == 0 {
            Ok(())
        } else {
            Err(format!(
                "`{command}` on {} exited with {}: {}",
                vm.name,
                output.status,
                tail(&output.output, 5).join(" | ")
            ))
        }
    }

    /// Runs rendered steps on a VM, in order, every time (not by content hash); stops at the
    /// first that fails, with the last lines it printed.
    pub fn run_steps(&self, vm: &Vm, steps: &[RenderedStep]) -> Result<(), String> {
        let mut login = self.login(vm, Instant::now() + Duration::from_secs(30))?;
        let mut guest = login.guest();
        for (index, step) in steps.iter().enumerate() {
            let done = guest.run_step(step, &mut |_| {}).map_err(|error| {
                format!("step {} `{}` on {}: {error}", index + 1, step.name, vm.name)
            })?;
            if done.status != 0 {
                return Err(format!(
                    "step {} `{}` on {} exited with status {}: {}",
                    index + 1,
                    step.name,
                    vm.name,
                    done.status,
                    tail(&done.output, 5).join(" | ")
                ));
            }
        }
        Ok(())
    }
}
