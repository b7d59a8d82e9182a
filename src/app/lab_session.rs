//! Opening a lab for a command that touches VirtualBox: the lab file, its state folder and lock,
//! the VBoxManage driver, the inventory, and the login credentials (from the lab file or the
//! environment).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Ui;
use crate::cli::LabArg;
use crate::error::Error;
use crate::exec::{GuestAccess, RuntimeContext};
use crate::hypervisor::inflight::{InflightJournal, journal_dir};
use crate::hypervisor::inventory::NETWORK_OWNER_PREFIX;
use crate::hypervisor::locate::{ProcessEnvironment, locate};
use crate::hypervisor::{Inventory, InventoryScope, ProcessRunner, VBoxManage};
use crate::lab::Lab;
use crate::lab::model::{ImageSource, NetworkKind, Password, PrivateKey};
use crate::remote::{Connector, Credentials, KeyMaterial, Secret};
use crate::state::{LabLock, LabState};

/// A lab opened against VirtualBox.
pub(crate) struct LabSession {
    /// The validated lab.
    pub lab: Lab,
    /// Its state folder.
    pub state: LabState,
    /// The driver.
    pub vbox: VBoxManage,
    /// "VirtualBox 7.0.20 (/usr/bin/VBoxManage)".
    pub hypervisor: String,
    /// The lab lock, when the command changes things.
    _lock: Option<LabLock>,
}

/// Finds VBoxManage and asks its version.
pub(crate) fn connect_virtualbox() -> Result<(VBoxManage, String), Error> {
    connect_recording(None)
}

/// The same, recording the calls in flight in `journal` (commands that hold the lab's lock).
fn connect_recording(journal: Option<InflightJournal>) -> Result<(VBoxManage, String), Error> {
    let located = locate(&ProcessEnvironment).ok_or(Error::NoVirtualBox)?;
    let mut runner = ProcessRunner::new(located.path.clone());
    if let Some(journal) = journal {
        runner = runner.with_journal(journal);
    }
    let runner = Arc::new(runner);
    let vbox = VBoxManage::connect(runner)?;
    let description = format!("VirtualBox {} ({})", vbox.version(), located.path.display());
    Ok((vbox, description))
}

impl LabSession {
    /// Loads the lab, connects to VirtualBox and, for commands that change things, takes the
    /// lab's lock (naming the holder when it is taken).
    pub fn open(ui: &Ui, arg: &LabArg, lock_for: Option<&str>) -> Result<Self, Error> {
        let lab = super::load_valid(ui, arg)?;
        Self::for_lab(ui, lab, lock_for)
    }

    /// Opens an already loaded lab (a scenario's, with replicas added or removed).
    pub fn for_lab(ui: &Ui, lab: Lab, lock_for: Option<&str>) -> Result<Self, Error> {
        let state = LabState::new(&lab.dir, &lab.name);
        let lock = match lock_for {
            Some(command) => {
                let lock = state.lock(command)?;
                if let Some(previous) = &lock.took_over
                    && previous.pid != std::process::id()
                    && !ui.json
                {
                    ui.err(&format!(
                        "note: took over the lock of lab `{}` left by `labctl {}` (pid {}, started {}), which is no longer running\n",
                        lab.name, previous.command, previous.pid, previous.started
                    ));
                }
                Some(lock)
            }
            None => None,
        };
        let journal = lock
            .as_ref()
            .map(|_| InflightJournal::new(journal_dir(state.dir())));
        if let Some(journal) = &journal {
            // A killed holder's VBoxManage calls go on after it: let them finish first.
            for command in journal.settle(Duration::from_secs(120)) {
                if !ui.json {
                    ui.err(&format!(
                        "note: waited for `VBoxManage {command}`, left running by the previous holder\n"
                    ));
                }
            }
        }
        let (vbox, hypervisor) = connect_recording(journal)?;
        Ok(Self {
            lab,
            state,
            vbox,
            hypervisor,
            _lock: lock,
        })
    }

    /// Which VMs an inventory read looks at.
    pub fn scope(&self, all: bool) -> InventoryScope {
        let names = self
            .lab
            .images
            .iter()
            .filter_map(|image| match &image.source {
                ImageSource::Vm(vm) => Some(vm.clone()),
                ImageSource::Appliance(_) => None,
            })
            .collect();
        InventoryScope {
            lab: self.lab.name.clone(),
            vm_prefix: self.lab.vm_prefix.clone(),
            names,
            all,
        }
    }

    /// Reads the inventory; first finishes a host-only creation a killed run left halfway.
    /// Refuses at once, before any guest is reached, when a VM is not the lab's in VirtualBox
    /// (never created, or someone else's at that name) or, with `running`, does not run: a
    /// guest at the lab's address would otherwise be another lab's.
    pub fn require_created(
        &self,
        inventory: &Inventory,
        vms: &[&crate::lab::model::Vm],
        running: bool,
    ) -> Result<(), Error> {
        for vm in vms {
            match inventory.vm_named(&vm.vbox_name) {
                None => {
                    return Err(Error::Refused(format!(
                        "`{}` is not created (VirtualBox has no VM `{}`): run `labctl up`",
                        vm.name, vm.vbox_name
                    )));
                }
                Some(observed) if !observed.owned_by(&self.lab.name) => {
                    return Err(Error::Refused(format!(
                        "the VM `{}` in VirtualBox was not created by labctl for lab `{}`: labctl will not reach it as `{}`",
                        vm.vbox_name, self.lab.name, vm.name
                    )));
                }
                Some(observed)
                    if running
                        && observed.state != crate::hypervisor::inventory::PowerState::Running =>
                {
                    return Err(Error::Refused(format!(
                        "`{}` is {}: run `labctl up`",
                        vm.name,
                        observed.state.words()
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn inventory(&self, all: bool) -> Result<Inventory, Error> {
        let inventory = self.vbox.inventory(&self.scope(all))?;
        let Some(pending) = self.state.pending_host_only() else {
            return Ok(inventory);
        };
        if self._lock.is_none() {
            return Ok(inventory);
        }
        let orphan = inventory.host_only.iter().find(|interface| {
            !pending.existing.contains(&interface.name)
                && inventory
                    .network_owner("hostonly", &interface.name)
                    .is_none()
        });
        if let Some(orphan) = orphan {
            self.vbox.set_global_extradata(
                &format!("{NETWORK_OWNER_PREFIX}/hostonly/{}", orphan.name),
                Some(&self.lab.name),
            )?;
            if let Some(NetworkKind::HostOnly { cidr, host, .. }) = self
                .lab
                .network(&pending.network)
                .map(|network| &network.kind)
            {
                self.vbox
                    .set_host_only_address(&orphan.name, *host, cidr.netmask())?;
            }
        }
        self.state.end_host_only().map_err(|source| Error::File {
            action: "update",
            path: self.state.dir().to_path_buf(),
            source,
        })?;
        Ok(self.vbox.inventory(&self.scope(all))?)
    }

    /// The login credentials of each image, with secrets read from the environment.
    pub fn credentials(&self) -> Result<HashMap<String, Credentials>, Error> {
        let mut all = HashMap::new();
        for image in &self.lab.images {
            let password = match &image.login.password {
                None => None,
                Some(Password::Literal(value)) => Some(Secret::new(value.clone())),
                Some(Password::Env(name)) => Some(Secret::new(std::env::var(name).map_err(|_| {
                    Error::Config(format!("environment variable {name} is not set (image `{}` reads its password from it)", image.name))
                })?)),
            };
            let key = match &image.login.key {
                None => None,
                Some(PrivateKey::Path(path)) => Some(KeyMaterial::File(expand_home(path))),
                Some(PrivateKey::Env(name)) => {
                    let value = std::env::var(name).map_err(|_| {
                        Error::Config(format!("environment variable {name} is not set (image `{}` reads its private key from it)", image.name))
                    })?;
                    if value.trim_start().starts_with("-----BEGIN") {
                        Some(KeyMaterial::Text(Secret::new(value)))
                    } else {
                        Some(KeyMaterial::File(expand_home(&PathBuf::from(value))))
                    }
                }
            };
            all.insert(
                image.name.clone(),
                Credentials {
                    user: image.login.user.clone(),
                    password,
                    key,
                },
            );
        }
        Ok(all)
    }

    /// How to reach the lab's guests: credentials, pinned host keys, and what is known of the
    /// running lab.
    pub fn guest_access<'a>(
        &'a self,
        connector: &'a dyn Connector,
        context: RuntimeContext,
        cancel: &'a AtomicBool,
        wait_limit: Duration,
    ) -> Result<GuestAccess<'a>, Error> {
        Ok(GuestAccess {
            lab: &self.lab,
            vbox: &self.vbox,
            connector,
            credentials: self.credentials()?,
            context: Mutex::new(context),
            host_keys: self.state.host_keys(),
            cancel,
            wait_limit,
            stopped: HashMap::new(),
        })
    }

    /// The secret values of the lab's credentials, to keep out of every report.
    pub fn secrets(&self) -> Vec<String> {
        let Ok(credentials) = self.credentials() else {
            return Vec::new();
        };
        let mut secrets = Vec::new();
        for login in credentials.values() {
            if let Some(password) = &login.password {
                secrets.push(password.expose().to_string());
            }
            if let Some(KeyMaterial::Text(key)) = &login.key {
                secrets.push(key.expose().to_string());
            }
        }
        secrets
    }

    /// Where labctl puts this lab's VMs: `<machine folder>/labctl/<lab>`.
    pub fn basefolder(&self) -> Result<PathBuf, Error> {
        let folder = self.vbox.machine_folder()?;
        let root = if folder.is_empty() {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join("VirtualBox VMs")
        } else {
            PathBuf::from(folder)
        };
        Ok(root.join("labctl").join(&self.lab.name))
    }
}

/// `~/x` → `$HOME/x`.
pub(crate) fn expand_home(path: &std::path::Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest),
        Err(_) => path.to_path_buf(),
    }
}
