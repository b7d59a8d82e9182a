//! The VirtualBox driver: each operation labctl needs, as the VBoxManage command lines that do
//! it (spelled for the running version) and the parsing of what they print.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use super::command_runner::{CallCounts, CallOutput, CommandRunner, RetryPolicy, run_with_retry};
use super::inventory::{
    Attachment, Inventory, NETWORK_OWNER_PREFIX, ObservedNic, ObservedVm, Ownership, PowerState,
    Reservation, Version,
};
use super::listings;
use super::machine_readable::MachineReadable;
use super::vbox_error::{ErrorClass, VBoxError};
use crate::lab::model::{Dhcp, MacAddress};

/// Extradata key on VMs labctl creates: `LAB:ROLE`.
pub const VM_OWNER_KEY: &str = "labctl/owner";

/// How host-only networking works on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOnlyFlavor {
    /// `hostonlyif` interfaces (`vboxnetN`): Linux, Windows, macOS up to 6.1.
    Interfaces,
    /// `hostonlynet` networks (vmnet): macOS with VirtualBox 7.
    Networks,
}

/// Timeouts of the slow calls (everything else gets [`DEFAULT_TIMEOUT`]).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const IMPORT_TIMEOUT: Duration = Duration::from_secs(1800);
const CLONE_TIMEOUT: Duration = Duration::from_secs(600);

/// What a VM adapter is attached to, in VirtualBox's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicTarget {
    /// Plain NAT, with its port-forward rules (`name,tcp,hostip,hostport,,guestport`).
    Nat {
        /// Rules wanted.
        forwards: Vec<String>,
        /// Rule names to delete first.
        remove: Vec<String>,
    },
    /// A host-only interface (or, on macOS with 7.x, a host-only network).
    HostOnly(String),
    /// A NAT network.
    NatNetwork(String),
    /// An internal network.
    Internal(String),
}

/// One adapter's settings for `modifyvm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicConfig {
    /// Slot.
    pub slot: u8,
    /// Attachment.
    pub target: NicTarget,
    /// MAC.
    pub mac: MacAddress,
    /// Cable connected.
    pub cable: bool,
    /// NIC model.
    pub nic_type: Option<String>,
}

/// Everything one `modifyvm` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmConfig {
    /// Memory in MB.
    pub memory: u32,
    /// CPUs.
    pub cpus: u32,
    /// Adapters to set.
    pub nics: Vec<NicConfig>,
    /// Slots to disable.
    pub disable: Vec<u8>,
    /// Description.
    pub description: String,
}

/// Which VMs an inventory read looks at closely (every VM is listed; these are also read).
#[derive(Debug, Clone, Default)]
pub struct InventoryScope {
    /// The lab.
    pub lab: String,
    /// Its VM prefix (VMs whose name starts with it are read).
    pub vm_prefix: String,
    /// Other VM names to read (e.g. images' source VMs).
    pub names: Vec<String>,
    /// Read every registered VM (needed to check new MACs against all of them).
    pub all: bool,
}

/// The VBoxManage driver.
pub struct VBoxManage {
    runner: Arc<dyn CommandRunner>,
    version: Version,
    flavor: HostOnlyFlavor,
    retry: RetryPolicy,
}

impl VBoxManage {
    /// Asks VBoxManage for its version and picks the spellings that version wants.
    pub fn connect(runner: Arc<dyn CommandRunner>) -> Result<Self, VBoxError> {
        let args = vec!["--version".to_string()];
        let mut output = runner.run_once(&args, DEFAULT_TIMEOUT)?;
        for _ in 0..2 {
            if !output.stdout.trim().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            output = runner.run_once(&args, DEFAULT_TIMEOUT)?;
        }
        let version = listings::parse_version(&output.stdout).ok_or_else(|| {
            VBoxError::from_output(
                vec!["VBoxManage".into(), "--version".into()],
                Some(0),
                output.stdout.clone(),
                format!("unrecognised version output: {}", output.stdout.trim()),
            )
        })?;
        // VirtualBox 7 on macOS has host-only networks (vmnet), not interfaces: ask VirtualBox
        // which host it runs on rather than assume it is this program's.
        let flavor = if version.major >= 7 {
            let info = runner.run_once(
                &["list".to_string(), "hostinfo".to_string()],
                DEFAULT_TIMEOUT,
            )?;
            match listings::parse_host_info(&info.stdout).os.as_deref() {
                Some("Darwin") => HostOnlyFlavor::Networks,
                _ => HostOnlyFlavor::Interfaces,
            }
        } else {
            HostOnlyFlavor::Interfaces
        };
        Ok(Self {
            runner,
            version,
            flavor,
            retry: RetryPolicy::default(),
        })
    }

    /// With another retry policy (tests use short pauses).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// VirtualBox's version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The host-only flavour in use.
    pub fn flavor(&self) -> HostOnlyFlavor {
        self.flavor
    }

    /// Calls made so far.
    pub fn counts(&self) -> CallCounts {
        self.runner.counts()
    }

    fn call(&self, args: Vec<String>, timeout: Duration) -> Result<CallOutput, VBoxError> {
        run_with_retry(self.runner.as_ref(), &args, timeout, self.retry)
    }

    fn run(&self, args: &[&str]) -> Result<CallOutput, VBoxError> {
        self.call(
            args.iter().map(|arg| arg.to_string()).collect(),
            DEFAULT_TIMEOUT,
        )
    }

    // --- reading -------------------------------------------------------------------------

    /// What VirtualBox says of its host: operating system and memory.
    pub fn host_info(&self) -> Result<listings::HostInfo, VBoxError> {
        Ok(listings::parse_host_info(
            &self.run(&["list", "hostinfo"])?.stdout,
        ))
    }

    /// Every registered VM as (name, UUID).
    pub fn list_vms(&self) -> Result<Vec<(String, String)>, VBoxError> {
        Ok(listings::parse_vm_list(&self.run(&["list", "vms"])?.stdout))
    }

    /// `showvminfo --machinereadable` of a VM; None when it does not exist.
    pub fn show(&self, vm: &str) -> Result<Option<MachineReadable>, VBoxError> {
        match self.run(&["showvminfo", vm, "--machinereadable"]) {
            Ok(output) => Ok(Some(MachineReadable::parse(&output.stdout))),
            Err(error) if error.class == ErrorClass::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// A VM as labctl models it; None when it does not exist.
    pub fn observe(
        &self,
        vm: &str,
        scope: &InventoryScope,
    ) -> Result<Option<ObservedVm>, VBoxError> {
        Ok(self.show(vm)?.map(|info| observed_vm(&info, scope)))
    }

    /// Reads what VirtualBox has: every VM listed, the lab's VMs (and `scope.names`) read in
    /// full, networks, DHCP servers and labctl's network marks. Reads run in parallel.
    pub fn inventory(&self, scope: &InventoryScope) -> Result<Inventory, VBoxError> {
        let (vms, host_only, nat_networks, dhcp_servers, extradata) = std::thread::scope(|s| {
            let host_only = s.spawn(|| match self.flavor {
                HostOnlyFlavor::Interfaces => self
                    .run(&["list", "hostonlyifs"])
                    .map(|o| listings::parse_host_only(&o.stdout)),
                HostOnlyFlavor::Networks => self
                    .run(&["list", "hostonlynets"])
                    .map(|o| listings::parse_host_only_networks(&o.stdout)),
            });
            let nat = s.spawn(|| {
                // 7.x prints port forwards only in the long form (6.1 always).
                self.run(&["list", "--long", "natnets"])
                    .map(|o| listings::parse_nat_networks(&o.stdout))
            });
            let dhcp = s.spawn(|| {
                self.run(&["list", "dhcpservers"])
                    .map(|o| listings::parse_dhcp_servers(&o.stdout))
            });
            let extradata = s.spawn(|| {
                self.run(&["getextradata", "global", "enumerate"])
                    .map(|o| listings::parse_extradata(&o.stdout))
            });
            let vms = self.read_vms(scope);
            (
                vms,
                host_only.join().expect("reader thread"),
                nat.join().expect("reader thread"),
                dhcp.join().expect("reader thread"),
                extradata.join().expect("reader thread"),
            )
        });
        let extradata = extradata?;
        let owned_networks = extradata
            .iter()
            .filter_map(|(key, lab)| {
                let rest = key.strip_prefix(NETWORK_OWNER_PREFIX)?.strip_prefix('/')?;
                let (kind, name) = rest.split_once('/')?;
                Some((kind.to_string(), name.to_string(), lab.clone()))
            })
            .collect();
        let reservations = extradata
            .iter()
            .filter_map(|(key, value)| Reservation::parse(key, value))
            .flatten()
            .collect();
        Ok(Inventory {
            version: Some(self.version),
            host_only_networks: self.flavor == HostOnlyFlavor::Networks,
            vms: vms?,
            host_only: host_only?,
            nat_networks: nat_networks?,
            dhcp_servers: dhcp_servers?,
            owned_networks,
            reservations,
        })
    }

    fn read_vms(&self, scope: &InventoryScope) -> Result<Vec<ObservedVm>, VBoxError> {
        let listed = self.list_vms()?;
        let wanted: Vec<&(String, String)> = listed
            .iter()
            .filter(|(name, uuid)| {
                scope.all
                    || name.starts_with(&scope.vm_prefix)
                    || scope
                        .names
                        .iter()
                        .any(|wanted| wanted == name || wanted == uuid)
            })
            .collect();
        let results: Vec<Result<Option<ObservedVm>, VBoxError>> = std::thread::scope(|s| {
            let chunks: Vec<_> = wanted
                .chunks(wanted.len().div_ceil(8).max(1))
                .map(|chunk| {
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|(_, uuid)| self.observe(uuid, scope))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            chunks
                .into_iter()
                .flat_map(|handle| handle.join().expect("reader thread"))
                .collect()
        });
        let mut vms = Vec::new();
        for result in results {
            if let Some(vm) = result? {
                vms.push(vm);
            }
        }
        Ok(vms)
    }

    /// The host-only interfaces.
    pub fn host_only_interfaces(
        &self,
    ) -> Result<Vec<super::inventory::ObservedHostOnly>, VBoxError> {
        Ok(listings::parse_host_only(
            &self.run(&["list", "hostonlyifs"])?.stdout,
        ))
    }

    /// The default machine folder.
    pub fn machine_folder(&self) -> Result<String, VBoxError> {
        let output = self.run(&["list", "systemproperties"])?;
        Ok(listings::parse_machine_folder(&output.stdout).unwrap_or_default())
    }

    /// A guest property's value, if set.
    pub fn guest_property(&self, vm: &str, name: &str) -> Result<Option<String>, VBoxError> {
        let output = self.run(&["guestproperty", "get", vm, name])?;
        Ok(output
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("Value: "))
            .map(|value| value.trim().to_string()))
    }

    /// The IPv4 address the guest reports for its adapter with `mac` (Guest Additions'
    /// `/VirtualBox/GuestInfo/Net/…`), if it reports one.
    pub fn leased_address(
        &self,
        vm: &str,
        mac: MacAddress,
        server: Option<&DhcpTarget>,
    ) -> Result<Option<Ipv4Addr>, VBoxError> {
        let count = self
            .guest_property(vm, "/VirtualBox/GuestInfo/Net/Count")?
            .and_then(|count| count.parse::<u32>().ok());
        let Some(count) = count else {
            // No Guest Additions: ask the network's DHCP server what it leased.
            return match server {
                Some(server) => self.find_lease(server, mac),
                None => Ok(None),
            };
        };
        for index in 0..count {
            let found =
                self.guest_property(vm, &format!("/VirtualBox/GuestInfo/Net/{index}/MAC"))?;
            if found.as_deref().map(str::to_uppercase) == Some(mac.to_vbox()) {
                return Ok(self
                    .guest_property(vm, &format!("/VirtualBox/GuestInfo/Net/{index}/V4/IP"))?
                    .and_then(|ip| ip.parse().ok()));
            }
        }
        Ok(None)
    }

    /// The address a DHCP server leased to `mac`, from its lease database; None when it has
    /// none (never leased, expired, or the server never ran).
    pub fn find_lease(
        &self,
        server: &DhcpTarget,
        mac: MacAddress,
    ) -> Result<Option<Ipv4Addr>, VBoxError> {
        let mut args = vec!["dhcpserver".to_string(), "findlease".to_string()];
        args.extend(server.args());
        args.push("--mac-address".into());
        args.push(mac.to_string());
        match self.call(args, DEFAULT_TIMEOUT) {
            Ok(output) => Ok(listings::parse_lease(&output.stdout)),
            Err(error)
                if error.class == ErrorClass::NotFound
                    || error.mentions("Could not find a lease")
                    || error.mentions("VERR_FILE_NOT_FOUND")
                    || error.mentions("Failed to find DHCP server") =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The VM's power state and whether a session holds it; None when it does not exist.
    pub fn power_state(&self, vm: &str) -> Result<Option<(PowerState, bool)>, VBoxError> {
        Ok(self.show(vm)?.map(|info| {
            (
                PowerState::parse(info.get("VMState").unwrap_or("")),
                info.get("SessionName").is_some(),
            )
        }))
    }

    /// Snapshot names of a VM.
    pub fn snapshots(&self, vm: &str) -> Result<Vec<String>, VBoxError> {
        match self.run(&["snapshot", vm, "list", "--machinereadable"]) {
            Ok(output) => Ok(snapshot_names(&MachineReadable::parse(&output.stdout))),
            Err(error) if error.mentions("does not have any snapshots") => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    // --- networks ------------------------------------------------------------------------

    /// Creates a host-only interface and returns its name.
    pub fn create_host_only(&self) -> Result<String, VBoxError> {
        let output = self.run(&["hostonlyif", "create"])?;
        output
            .stdout
            .lines()
            .find_map(|line| {
                line.strip_prefix("Interface '")
                    .and_then(|rest| rest.strip_suffix("' was successfully created"))
            })
            .map(str::to_string)
            .ok_or_else(|| {
                VBoxError::from_output(
                    vec!["VBoxManage".into(), "hostonlyif".into(), "create".into()],
                    Some(0),
                    output.stdout.clone(),
                    "no interface name in the output".into(),
                )
            })
    }

    /// Creates a host-only network (macOS, VirtualBox 7) named `name`.
    pub fn create_host_only_network(
        &self,
        name: &str,
        netmask: Ipv4Addr,
        lower: Ipv4Addr,
        upper: Ipv4Addr,
    ) -> Result<(), VBoxError> {
        self.call(
            host_only_network_args(name, netmask, lower, upper),
            DEFAULT_TIMEOUT,
        )
        .map(drop)
    }

    /// Gives a host-only interface the host's address.
    pub fn set_host_only_address(
        &self,
        interface: &str,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> Result<(), VBoxError> {
        self.run(&[
            "hostonlyif",
            "ipconfig",
            interface,
            "--ip",
            &ip.to_string(),
            "--netmask",
            &netmask.to_string(),
        ])
        .map(drop)
    }

    /// Removes a host-only interface.
    pub fn remove_host_only(&self, interface: &str) -> Result<(), VBoxError> {
        self.run(&["hostonlyif", "remove", interface]).map(drop)
    }

    /// Creates or updates a DHCP server and registers fixed addresses by MAC, in one call
    /// (plus one `add` when it must be created).
    pub fn configure_dhcp(
        &self,
        target: &DhcpTarget,
        create: bool,
        dhcp: &Dhcp,
        netmask: Ipv4Addr,
        fixed: &[(MacAddress, Ipv4Addr)],
    ) -> Result<(), VBoxError> {
        if create {
            match self.call(
                dhcp_args("add", target, dhcp, netmask, &[]),
                DEFAULT_TIMEOUT,
            ) {
                Ok(_) => {
                    if fixed.is_empty() {
                        return Ok(());
                    }
                }
                Err(error) if error.class == ErrorClass::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
        self.call(
            dhcp_args("modify", target, dhcp, netmask, fixed),
            DEFAULT_TIMEOUT,
        )?;
        self.restart_dhcp(target)
    }

    /// Makes a running DHCP server read its configuration again. VirtualBox's server reads it
    /// only when it starts (DHCPServerImpl.cpp, `DHCPServer::start`); a server that is not
    /// running has nothing to do ("not running"): its next start reads the new configuration.
    pub fn restart_dhcp(&self, target: &DhcpTarget) -> Result<(), VBoxError> {
        let mut args = vec!["dhcpserver".to_string(), "restart".to_string()];
        args.extend(target.args());
        match self.call(args, DEFAULT_TIMEOUT) {
            Err(error) if error.mentions("not running") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Removes the fixed addresses of these MACs from the DHCP server of VirtualBox network
    /// `network` (one call), and makes a running server forget them.
    pub fn remove_reservations(&self, network: &str, macs: &[MacAddress]) -> Result<(), VBoxError> {
        if macs.is_empty() {
            return Ok(());
        }
        let mut args = vec![
            "dhcpserver".to_string(),
            "modify".to_string(),
            "--network".to_string(),
            network.to_string(),
        ];
        for mac in macs {
            args.extend([
                "--mac-address".to_string(),
                mac.to_string(),
                "--remove-config".to_string(),
            ]);
        }
        self.call(args, DEFAULT_TIMEOUT)?;
        self.restart_dhcp(&DhcpTarget::Network(network.to_string()))
    }

    /// Removes a DHCP server (absent is fine).
    pub fn remove_dhcp(&self, target: &DhcpTarget) -> Result<(), VBoxError> {
        let mut args = vec!["dhcpserver".to_string(), "remove".to_string()];
        args.extend(target.args());
        match self.call(args, DEFAULT_TIMEOUT) {
            Err(error)
                if error.class == ErrorClass::NotFound
                    || error.mentions("does not exist")
                    || error.mentions("Failed to find DHCP server") =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    /// Creates a NAT network.
    pub fn create_nat_network(
        &self,
        name: &str,
        cidr: &str,
        dhcp: bool,
        forwards: &[String],
    ) -> Result<(), VBoxError> {
        let mut args: Vec<String> = [
            "natnetwork",
            "add",
            "--netname",
            name,
            "--network",
            cidr,
            "--enable",
            "--dhcp",
            if dhcp { "on" } else { "off" },
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        for rule in forwards {
            args.push("--port-forward-4".into());
            args.push(rule.clone());
        }
        match self.call(args, DEFAULT_TIMEOUT) {
            Err(error) if error.mentions("already exists") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Changes a NAT network's DHCP and port forwards.
    pub fn update_nat_network(
        &self,
        name: &str,
        dhcp: bool,
        add: &[String],
        remove: &[String],
    ) -> Result<(), VBoxError> {
        let mut args: Vec<String> = [
            "natnetwork",
            "modify",
            "--netname",
            name,
            "--dhcp",
            if dhcp { "on" } else { "off" },
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        for rule in remove {
            args.extend(["--port-forward-4".into(), "delete".into(), rule.clone()]);
        }
        for rule in add {
            args.extend(["--port-forward-4".into(), rule.clone()]);
        }
        self.call(args, DEFAULT_TIMEOUT).map(drop)
    }

    /// Removes a NAT network; one that does not exist is already removed.
    pub fn remove_nat_network(&self, name: &str) -> Result<(), VBoxError> {
        match self.run(&["natnetwork", "remove", "--netname", name]) {
            Err(error) if error.mentions("does not exist") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Removes a host-only network (macOS, VirtualBox 7).
    pub fn remove_host_only_network(&self, name: &str) -> Result<(), VBoxError> {
        self.run(&["hostonlynet", "remove", "--name", name])
            .map(drop)
    }

    /// Sets (or, with None, deletes) a global extradata key.
    pub fn set_global_extradata(&self, key: &str, value: Option<&str>) -> Result<(), VBoxError> {
        let mut args = vec!["setextradata", "global", key];
        args.extend(value);
        self.run(&args).map(drop)
    }

    // --- machines ------------------------------------------------------------------------

    /// Imports an appliance as VM `name` in `basefolder`, in `group`; returns its UUID.
    pub fn import(
        &self,
        path: &str,
        name: &str,
        basefolder: &str,
        group: &str,
    ) -> Result<String, VBoxError> {
        let args: Vec<String> = [
            "import",
            path,
            "--vsys",
            "0",
            "--vmname",
            name,
            "--basefolder",
            basefolder,
            "--group",
            group,
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        self.call(args, IMPORT_TIMEOUT)?;
        self.show(name)?
            .and_then(|info| info.get("UUID").map(str::to_string))
            .ok_or_else(|| {
                VBoxError::from_output(
                    vec!["VBoxManage".into(), "showvminfo".into(), name.into()],
                    Some(1),
                    String::new(),
                    format!("the imported VM `{name}` is not registered"),
                )
            })
    }

    /// Takes a snapshot.
    pub fn take_snapshot(&self, vm: &str, name: &str) -> Result<(), VBoxError> {
        self.call(
            ["snapshot", vm, "take", name]
                .iter()
                .map(|arg| arg.to_string())
                .collect(),
            CLONE_TIMEOUT,
        )
        .map(drop)
    }

    /// Restores a snapshot (the VM must be off).
    pub fn restore_snapshot(&self, vm: &str, name: &str) -> Result<(), VBoxError> {
        self.call(
            ["snapshot", vm, "restore", name]
                .iter()
                .map(|arg| arg.to_string())
                .collect(),
            CLONE_TIMEOUT,
        )
        .map(drop)
    }

    /// Makes a clone of `source` (linked from `snapshot` when given), registered, with the
    /// UUID, name, folder and group labctl chose.
    pub fn clone_vm(&self, request: &CloneRequest<'_>) -> Result<(), VBoxError> {
        self.call(clone_args(request), CLONE_TIMEOUT).map(drop)
    }

    /// Applies memory, CPUs and adapters in one `modifyvm`.
    pub fn configure(&self, vm: &str, config: &VmConfig) -> Result<(), VBoxError> {
        self.call(modifyvm_args(vm, config, self.flavor), DEFAULT_TIMEOUT)
            .map(drop)
    }

    /// Sets one extradata key of a VM.
    pub fn set_extradata(&self, vm: &str, key: &str, value: &str) -> Result<(), VBoxError> {
        self.run(&["setextradata", vm, key, value]).map(drop)
    }

    /// Starts a VM headless. Exit 1 with VirtualBox's success sentence counts as started
    /// (some hosts do that).
    pub fn start(&self, vm: &str) -> Result<(), VBoxError> {
        match self.run(&["startvm", vm, "--type", "headless"]) {
            Err(error) if error.stdout.contains("has been successfully started") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Powers a VM off (hard).
    pub fn power_off(&self, vm: &str) -> Result<(), VBoxError> {
        match self.run(&["controlvm", vm, "poweroff"]) {
            Err(error) if error.mentions("is not currently running") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Presses the ACPI power button.
    pub fn acpi_power_button(&self, vm: &str) -> Result<(), VBoxError> {
        self.run(&["controlvm", vm, "acpipowerbutton"]).map(drop)
    }

    /// Waits until a VM is off and no session holds it any more (so that `modifyvm` and
    /// `unregistervm` can lock it).
    pub fn wait_unlocked(&self, vm: &str, timeout: Duration) -> Result<bool, VBoxError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.power_state(vm)? {
                None => return Ok(true),
                Some((state, locked)) if !state.is_on() && !locked => return Ok(true),
                _ if std::time::Instant::now() > deadline => return Ok(false),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Unregisters a VM and deletes its files (absent is fine).
    pub fn delete(&self, vm: &str) -> Result<(), VBoxError> {
        match self.call(
            ["unregistervm", vm, "--delete"]
                .iter()
                .map(|arg| arg.to_string())
                .collect(),
            CLONE_TIMEOUT,
        ) {
            Err(error) if error.class == ErrorClass::NotFound => Ok(()),
            other => other.map(drop),
        }
    }

    /// Powers a VM off when it runs, waits for its session to let go, and deletes it.
    pub fn power_off_and_delete(&self, vm: &ObservedVm) -> Result<(), VBoxError> {
        if vm.state.is_on() {
            self.power_off(&vm.uuid)?;
        }
        self.wait_unlocked(&vm.uuid, Duration::from_secs(30))?;
        self.delete(&vm.uuid)
    }
}

/// What a DHCP server is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpTarget {
    /// A host-only interface.
    Interface(String),
    /// A NAT network (by name).
    Network(String),
}

impl DhcpTarget {
    /// The network name VirtualBox gives the server (`list dhcpservers`' `NetworkName:`).
    pub fn network_name(&self) -> String {
        match self {
            Self::Interface(name) => format!("HostInterfaceNetworking-{name}"),
            Self::Network(name) => name.clone(),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Self::Interface(name) => vec!["--interface".into(), name.clone()],
            Self::Network(name) => vec!["--network".into(), name.clone()],
        }
    }
}

/// A clone to make.
#[derive(Debug, Clone)]
pub struct CloneRequest<'a> {
    /// Source VM (name or UUID).
    pub source: &'a str,
    /// Snapshot to clone from; Some makes a linked clone.
    pub snapshot: Option<&'a str>,
    /// New name.
    pub name: &'a str,
    /// New UUID.
    pub uuid: Option<&'a str>,
    /// Where its folder goes.
    pub basefolder: Option<&'a str>,
    /// Its group.
    pub group: Option<&'a str>,
}

fn host_only_network_args(
    name: &str,
    netmask: Ipv4Addr,
    lower: Ipv4Addr,
    upper: Ipv4Addr,
) -> Vec<String> {
    vec![
        "hostonlynet".into(),
        "add".into(),
        "--name".into(),
        name.into(),
        "--netmask".into(),
        netmask.to_string(),
        "--lower-ip".into(),
        lower.to_string(),
        "--upper-ip".into(),
        upper.to_string(),
        "--enable".into(),
    ]
}

fn dhcp_args(
    verb: &str,
    target: &DhcpTarget,
    dhcp: &Dhcp,
    netmask: Ipv4Addr,
    fixed: &[(MacAddress, Ipv4Addr)],
) -> Vec<String> {
    let mut args = vec!["dhcpserver".to_string(), verb.to_string()];
    args.extend(target.args());
    args.extend([
        "--server-ip".into(),
        dhcp.server.to_string(),
        "--netmask".into(),
        netmask.to_string(),
        "--lower-ip".into(),
        dhcp.lower.to_string(),
        "--upper-ip".into(),
        dhcp.upper.to_string(),
        "--enable".into(),
    ]);
    for (mac, ip) in fixed {
        args.extend([
            "--mac-address".into(),
            mac.to_string(),
            "--fixed-address".into(),
            ip.to_string(),
        ]);
    }
    args
}

fn clone_args(request: &CloneRequest<'_>) -> Vec<String> {
    let mut args = vec!["clonevm".to_string(), request.source.to_string()];
    if let Some(snapshot) = request.snapshot {
        args.extend([
            "--snapshot".into(),
            snapshot.into(),
            "--options".into(),
            "link".into(),
        ]);
    }
    args.extend(["--name".into(), request.name.into()]);
    if let Some(uuid) = request.uuid {
        args.extend(["--uuid".into(), uuid.into()]);
    }
    if let Some(folder) = request.basefolder {
        args.extend(["--basefolder".into(), folder.into()]);
    }
    if let Some(group) = request.group {
        args.extend(["--groups".into(), group.into()]);
    }
    args.push("--register".into());
    args
}

/// The one `modifyvm` command line for a configuration, in the spellings every version from 5.x
/// to 7.x accepts (`--macaddress1`, `--hostonlyadapter2`, …), except host-only networks, which
/// exist only in 7.x.
pub fn modifyvm_args(vm: &str, config: &VmConfig, flavor: HostOnlyFlavor) -> Vec<String> {
    let mut args = vec![
        "modifyvm".to_string(),
        vm.to_string(),
        "--memory".into(),
        config.memory.to_string(),
        "--cpus".into(),
        config.cpus.to_string(),
        "--description".into(),
        config.description.clone(),
        "--rtcuseutc".into(),
        "on".into(),
    ];
    for nic in &config.nics {
        let n = nic.slot;
        match &nic.target {
            NicTarget::Nat { forwards, remove } => {
                args.extend([format!("--nic{n}"), "nat".into()]);
                for name in remove {
                    args.extend([format!("--natpf{n}"), "delete".into(), name.clone()]);
                }
                for rule in forwards {
                    args.extend([format!("--natpf{n}"), rule.clone()]);
                }
            }
            NicTarget::HostOnly(name) => match flavor {
                HostOnlyFlavor::Interfaces => args.extend([
                    format!("--nic{n}"),
                    "hostonly".into(),
                    format!("--hostonlyadapter{n}"),
                    name.clone(),
                ]),
                HostOnlyFlavor::Networks => args.extend([
                    format!("--nic{n}"),
                    "hostonlynet".into(),
                    format!("--host-only-net{n}"),
                    name.clone(),
                ]),
            },
            NicTarget::NatNetwork(name) => args.extend([
                format!("--nic{n}"),
                "natnetwork".into(),
                format!("--nat-network{n}"),
                name.clone(),
            ]),
            NicTarget::Internal(name) => args.extend([
                format!("--nic{n}"),
                "intnet".into(),
                format!("--intnet{n}"),
                name.clone(),
            ]),
        }
        args.extend([
            format!("--macaddress{n}"),
            nic.mac.to_vbox(),
            format!("--cableconnected{n}"),
            if nic.cable { "on".into() } else { "off".into() },
        ]);
        if let Some(nic_type) = &nic.nic_type {
            args.extend([format!("--nictype{n}"), nic_type.clone()]);
        }
    }
    for slot in &config.disable {
        args.extend([format!("--nic{slot}"), "none".into()]);
    }
    args
}

fn snapshot_names(info: &MachineReadable) -> Vec<String> {
    info.entries()
        .iter()
        .filter(|(key, _)| key == "SnapshotName" || key.starts_with("SnapshotName-"))
        .map(|(_, value)| value.clone())
        .collect()
}

/// Builds the model of a VM from its `showvminfo --machinereadable`.
pub fn observed_vm(info: &MachineReadable, scope: &InventoryScope) -> ObservedVm {
    let name = info.get("name").unwrap_or("").to_string();
    let groups: Vec<String> = info
        .get("groups")
        .unwrap_or("/")
        .split(',')
        .map(str::to_string)
        .collect();
    let lab_group = format!("/labctl/{}", scope.lab);
    let owner = if groups.iter().any(|group| group == &lab_group) {
        let role = name.strip_prefix(&scope.vm_prefix).unwrap_or(&name);
        let role = match role.strip_prefix("master-") {
            Some(image) => format!("master:{image}"),
            None => role.to_string(),
        };
        Some(Ownership {
            lab: scope.lab.clone(),
            role,
        })
    } else {
        groups
            .iter()
            .find_map(|group| group.strip_prefix("/labctl/"))
            .map(|lab| Ownership {
                lab: lab.to_string(),
                role: name.clone(),
            })
    };
    let mut nics: Vec<ObservedNic> = Vec::new();
    let mut last_nat: Option<u8> = None;
    for (key, value) in info.entries() {
        if let Some(rest) = key.strip_prefix("nic")
            && let Ok(slot) = rest.parse::<u8>()
        {
            let attachment = match value.as_str() {
                "none" => Attachment::None,
                "null" => Attachment::Null,
                "nat" => Attachment::Nat,
                "hostonly" => Attachment::HostOnly(
                    info.get(&format!("hostonlyadapter{slot}"))
                        .unwrap_or("")
                        .to_string(),
                ),
                "hostonlynetwork" => Attachment::HostOnly(
                    info.get(&format!("hostonly-network{slot}"))
                        .unwrap_or("")
                        .to_string(),
                ),
                "natnetwork" => Attachment::NatNetwork(
                    info.get(&format!("nat-network{slot}"))
                        .unwrap_or("")
                        .to_string(),
                ),
                "intnet" => Attachment::Internal(
                    info.get(&format!("intnet{slot}")).unwrap_or("").to_string(),
                ),
                "bridged" => Attachment::Bridged(
                    info.get(&format!("bridgeadapter{slot}"))
                        .unwrap_or("")
                        .to_string(),
                ),
                other => Attachment::Other(other.to_string()),
            };
            last_nat = (attachment == Attachment::Nat).then_some(slot);
            nics.push(ObservedNic {
                slot,
                mac: info
                    .get(&format!("macaddress{slot}"))
                    .and_then(|mac| MacAddress::parse(mac).ok()),
                cable: info.get(&format!("cableconnected{slot}")) != Some("off"),
                nic_type: info.get(&format!("nictype{slot}")).map(str::to_string),
                attachment,
                forwards: Vec::new(),
            });
        } else if key.starts_with("Forwarding(")
            && let Some(slot) = last_nat
            && let Some(nic) = nics.iter_mut().find(|nic| nic.slot == slot)
        {
            nic.forwards.push(value.clone());
        }
    }
    ObservedVm {
        uuid: info.get("UUID").unwrap_or("").to_string(),
        state: PowerState::parse(info.get("VMState").unwrap_or("")),
        groups,
        owner,
        memory: info
            .get("memory")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0),
        cpus: info
            .get("cpus")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0),
        nics,
        snapshots: snapshot_names(info),
        locked: info.get("SessionName").is_some(),
        config_file: info.get("CfgFile").unwrap_or("").to_string(),
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_modifyvm_sets_everything_in_portable_spellings() {
        let mac = MacAddress::parse("080027A1B2C3").unwrap();
        let config = VmConfig {
            memory: 1024,
            cpus: 2,
            nics: vec![
                NicConfig {
                    slot: 1,
                    target: NicTarget::HostOnly("vboxnet0".into()),
                    mac,
                    cable: true,
                    nic_type: Some("virtio".into()),
                },
                NicConfig {
                    slot: 2,
                    target: NicTarget::Nat {
                        forwards: vec!["labctl-ssh,tcp,127.0.0.1,2222,,22".into()],
                        remove: vec!["old".into()],
                    },
                    mac,
                    cable: false,
                    nic_type: None,
                },
                NicConfig {
                    slot: 3,
                    target: NicTarget::NatNetwork("NatNetwork".into()),
                    mac,
                    cable: true,
                    nic_type: None,
                },
            ],
            disable: vec![4],
            description: "d".into(),
        };
        let args = modifyvm_args("uuid", &config, HostOnlyFlavor::Interfaces).join(" ");
        assert_eq!(
            args,
            "modifyvm uuid --memory 1024 --cpus 2 --description d --rtcuseutc on \
             --nic1 hostonly --hostonlyadapter1 vboxnet0 --macaddress1 080027A1B2C3 --cableconnected1 on --nictype1 virtio \
             --nic2 nat --natpf2 delete old --natpf2 labctl-ssh,tcp,127.0.0.1,2222,,22 --macaddress2 080027A1B2C3 --cableconnected2 off \
             --nic3 natnetwork --nat-network3 NatNetwork --macaddress3 080027A1B2C3 --cableconnected3 on \
             --nic4 none"
        );
        let mac_os = modifyvm_args("uuid", &config, HostOnlyFlavor::Networks).join(" ");
        assert!(
            mac_os.contains("--nic1 hostonlynet --host-only-net1 vboxnet0"),
            "{mac_os}"
        );
    }

    #[test]
    fn clone_and_dhcp_command_lines() {
        let request = CloneRequest {
            source: "m",
            snapshot: Some("base"),
            name: "lab-web1",
            uuid: Some("u"),
            basefolder: Some("/vms"),
            group: Some("/labctl/lab"),
        };
        assert_eq!(
            clone_args(&request).join(" "),
            "clonevm m --snapshot base --options link --name lab-web1 --uuid u --basefolder /vms --groups /labctl/lab --register"
        );
        let dhcp = Dhcp {
            server: Ipv4Addr::new(192, 168, 56, 100),
            lower: Ipv4Addr::new(192, 168, 56, 101),
            upper: Ipv4Addr::new(192, 168, 56, 254),
        };
        let mac = MacAddress::parse("080027000001").unwrap();
        let args = dhcp_args(
            "modify",
            &DhcpTarget::Interface("vboxnet0".into()),
            &dhcp,
            Ipv4Addr::new(255, 255, 255, 0),
            &[(mac, Ipv4Addr::new(192, 168, 56, 10))],
        );
        assert_eq!(
            args.join(" "),
            "dhcpserver modify --interface vboxnet0 --server-ip 192.168.56.100 --netmask 255.255.255.0 --lower-ip 192.168.56.101 --upper-ip 192.168.56.254 --enable --mac-address 08:00:27:00:00:01 --fixed-address 192.168.56.10"
        );
    }

    #[test]
    fn observed_vm_from_machine_readable() {
        let text = "name=\"exam3-web1\"\ngroups=\"/labctl/exam3\"\nUUID=\"2c1b6a4e-4c2d-4f8e-9a51-0c5b8d2f1e77\"\nmemory=512\ncpus=1\nVMState=\"running\"\nhostonlyadapter1=\"vboxnet0\"\nmacaddress1=\"080027A1B2C3\"\ncableconnected1=\"on\"\nnic1=\"hostonly\"\nnictype1=\"82540EM\"\nnatnet2=\"nat\"\nmacaddress2=\"080027A1B2C4\"\ncableconnected2=\"on\"\nnic2=\"nat\"\nmtu=\"0\"\nForwarding(0)=\"labctl-ssh,tcp,127.0.0.1,2222,,22\"\nnic3=\"none\"\nSessionName=\"headless\"\nSnapshotName=\"labctl-base\"\n";
        let scope = InventoryScope {
            lab: "exam3".into(),
            vm_prefix: "exam3-".into(),
            ..Default::default()
        };
        let vm = observed_vm(&MachineReadable::parse(text), &scope);
        assert_eq!(
            vm.owner,
            Some(Ownership {
                lab: "exam3".into(),
                role: "web1".into()
            })
        );
        assert_eq!(vm.state, PowerState::Running);
        assert!(vm.locked);
        assert_eq!(
            vm.nics[0].attachment,
            Attachment::HostOnly("vboxnet0".into())
        );
        assert_eq!(vm.nics[1].forwards, ["labctl-ssh,tcp,127.0.0.1,2222,,22"]);
        assert_eq!(vm.nics[2].attachment, Attachment::None);
        assert_eq!(vm.snapshots, ["labctl-base"]);
    }
}
