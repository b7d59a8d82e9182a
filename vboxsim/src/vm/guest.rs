//! The guest a VM process runs. `none` is a hollow guest (the VM exists for VirtualBox's state
//! machine, but nothing boots); `namespace` is a real Linux guest sharing this machine's
//! kernel (see `vm::namespace`); `qemu` is a real virtual machine booting the appliance's own
//! disk (see `vm::qemu`).

use std::time::Duration;

use crate::appliance::flavour::{self, ApplianceInfo};
use crate::model::lease::NicLease;
use crate::model::machine::Machine;
use crate::store::Store;
use crate::vm::guest_network::NicReport;

/// Which guest backend runs VMs: `VBOXSIM_GUEST=none|namespace|qemu` (a world made with
/// `--vms qemu` sets `qemu`); by default real guests inside a world (`VBOXSIM_WORLD` set) and
/// hollow ones elsewhere, because outside a world there is no private network namespace to put
/// the VMs' networks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Hollow,
    Namespace,
    Qemu,
}

impl Backend {
    pub fn from_env() -> Result<Backend, String> {
        match std::env::var("VBOXSIM_GUEST").ok().as_deref() {
            Some("none") => Ok(Backend::Hollow),
            Some("namespace") => Ok(Backend::Namespace),
            Some("qemu") => Ok(Backend::Qemu),
            Some("") | None => {
                if std::env::var_os("VBOXSIM_WORLD").is_some_and(|w| !w.is_empty()) {
                    Ok(Backend::Namespace)
                } else {
                    Ok(Backend::Hollow)
                }
            }
            Some(other) => Err(format!(
                "VBOXSIM_GUEST must be 'none', 'namespace' or 'qemu', not '{other}'"
            )),
        }
    }
}

enum Kind {
    Hollow { halted: bool },
    Namespace(crate::vm::namespace::NamespaceGuest),
    Qemu(crate::vm::qemu::QemuGuest),
}

pub struct Guest {
    leases: Vec<NicLease>,
    appliance: ApplianceInfo,
    kind: Kind,
}

impl Guest {
    pub fn power_on(store: &Store, m: &Machine) -> Result<Guest, String> {
        let kind = match Backend::from_env()? {
            Backend::Hollow => Kind::Hollow { halted: false },
            Backend::Namespace => {
                Kind::Namespace(crate::vm::namespace::NamespaceGuest::boot(store, m)?)
            }
            Backend::Qemu => Kind::Qemu(crate::vm::qemu::QemuGuest::boot(store, m)?),
        };
        let layers = m
            .disk
            .as_ref()
            .map(|d| d.layers.clone())
            .unwrap_or_default();
        Ok(Guest {
            leases: m.nic_leases.clone(),
            appliance: flavour::read_layers(&layers),
            kind,
        })
    }

    /// What Guest Additions report of the NICs now, when the appliance has them: a real
    /// guest's own addresses; a hollow guest, which runs no DHCP client, the addresses its
    /// networks reserve for it (a model of a guest that asked).
    pub fn additions_report(&mut self) -> Option<Vec<NicReport>> {
        if !self.appliance.guest_additions {
            return None;
        }
        match &mut self.kind {
            Kind::Hollow { .. } => Some(
                self.leases
                    .iter()
                    .enumerate()
                    .map(|(i, l)| NicReport {
                        name: self.appliance.nic_name(i, l.slot),
                        mac: l.mac.clone(),
                        addr: l.addr.map(|(ip, len)| format!("{ip}/{len}")),
                        up: l.cable,
                    })
                    .collect(),
            ),
            Kind::Namespace(g) => g.additions_report(),
            // A real appliance's Guest Additions would publish these; none is installed.
            Kind::Qemu(_) => None,
        }
    }

    /// True when the guest ended by rebooting itself (`reboot` in the guest).
    pub fn rebooted(&mut self) -> bool {
        match &mut self.kind {
            Kind::Hollow { .. } => false,
            Kind::Namespace(g) => g.rebooted(),
            // QEMU resets the machine itself when its guest reboots.
            Kind::Qemu(_) => false,
        }
    }

    /// True once the guest's services (sshd) are up.
    pub fn is_up(&mut self) -> bool {
        match &mut self.kind {
            Kind::Hollow { halted } => !*halted,
            Kind::Namespace(g) => g.is_up(),
            Kind::Qemu(g) => g.is_up(),
        }
    }

    /// Hard power off.
    pub fn kill(&mut self) {
        match &mut self.kind {
            Kind::Hollow { halted } => *halted = true,
            Kind::Namespace(g) => g.kill(),
            Kind::Qemu(g) => g.kill(),
        }
    }

    /// `savestate`: writes the guest's memory and devices to `file` (QEMU); other guests keep
    /// no memory image. The caller powers the guest off afterwards.
    pub fn save(&mut self, file: &str) -> Result<(), String> {
        match &mut self.kind {
            Kind::Hollow { .. } | Kind::Namespace(_) => Ok(()),
            Kind::Qemu(g) => g.save(file),
        }
    }

    /// ACPI shutdown: services stopped cleanly, then halt; killed after `timeout`.
    pub fn shutdown(&mut self, timeout: Duration) {
        match &mut self.kind {
            Kind::Hollow { halted } => *halted = true,
            Kind::Namespace(g) => g.shutdown(timeout),
            Kind::Qemu(g) => g.shutdown(timeout),
        }
    }

    /// Applies runtime changes (pause/resume, cable, NAT forwards) from the machine's state.
    pub fn reload(&mut self, m: &Machine, state: &crate::model::state::State) {
        match &mut self.kind {
            Kind::Hollow { .. } => {}
            Kind::Namespace(g) => g.reload(m, state),
            Kind::Qemu(g) => g.reload(m, state),
        }
    }

    pub fn has_exited(&mut self) -> bool {
        match &mut self.kind {
            Kind::Hollow { .. } => false,
            Kind::Namespace(g) => g.has_exited(),
            Kind::Qemu(g) => g.has_exited(),
        }
    }
}
