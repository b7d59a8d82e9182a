//! `labctl doctor [FILE]`: checks, before anything is created, what `up` needs from this host —
//! VBoxManage and its version, memory for the lab's VMs, the host-only address rule, the
//! appliances and the credentials — and says what to fix. Reads only; takes no lock.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::Ui;
use super::lab_session::LabSession;
use crate::cli::LabArg;
use crate::error::Error;
use crate::exit_code;
use crate::hypervisor::Inventory;
use crate::hypervisor::host_only_rule::{HostOnlyRule, NETWORKS_CONF};
use crate::hypervisor::inventory::{PowerState, Version};
use crate::hypervisor::listings::HostInfo;
use crate::hypervisor::vboxmanage::HostOnlyFlavor;
use crate::lab::Lab;
use crate::lab::model::{ImageSource, NetworkKind, Password, PrivateKey};
use crate::report::doctor_view::{self, Finding, Status};

/// The VirtualBox versions labctl is built and tested against.
const TESTED: &[(u32, u32)] = &[(6, 1), (7, 0), (7, 1), (7, 2)];
/// Share of the host's available memory above which the lab is said to be tight.
const TIGHT_MEMORY: f64 = 0.8;

/// `labctl doctor [FILE]`.
pub(crate) fn doctor(ui: &Ui, arg: &LabArg) -> Result<u8, Error> {
    let lab = super::load_valid(ui, arg)?;
    let file = lab
        .sources
        .files()
        .first()
        .map_or_else(String::new, |file| file.name.clone());
    let mut findings = Vec::new();
    let host = match LabSession::for_lab(ui, lab.clone(), None) {
        Ok(session) => virtualbox_findings(&session, &mut findings),
        Err(Error::NoVirtualBox) => {
            findings.push(
                Finding::new("VirtualBox", Status::Problem, "VBoxManage not found").help(
                    "install VirtualBox (6.1, 7.0, 7.1 or 7.2), or point LABCTL_VBOXMANAGE at VBoxManage",
                ),
            );
            None
        }
        Err(error) => {
            findings.push(Finding::new(
                "VirtualBox",
                Status::Problem,
                format!("VBoxManage does not answer: {error}"),
            ));
            None
        }
    };
    if let Some(host) = &host {
        findings.extend(host_only_findings(&lab, host));
    } else if cfg!(unix) {
        let host = HostFacts {
            flavor: HostOnlyFlavor::Interfaces,
            os: None,
            version: None,
            inventory: Inventory::default(),
        };
        findings.extend(host_only_findings(&lab, &host));
    }
    findings.extend(image_findings(
        &lab,
        host.as_ref().map(|host| &host.inventory),
    ));
    if ui.json {
        ui.json_out(&serde_json::json!({
            "lab": lab.name,
            "ready": !findings.iter().any(|finding| finding.status == Status::Problem),
            "findings": findings,
        }));
    } else {
        ui.out(&doctor_view::render(&lab.name, &file, &findings, ui.color));
    }
    Ok(
        if findings
            .iter()
            .any(|finding| finding.status == Status::Problem)
        {
            exit_code::CHECKS_FAILED
        } else {
            exit_code::OK
        },
    )
}

/// What VirtualBox said about its host.
struct HostFacts {
    flavor: HostOnlyFlavor,
    /// `Linux`, `Darwin`, `Windows`.
    os: Option<String>,
    version: Option<Version>,
    inventory: Inventory,
}

fn virtualbox_findings(session: &LabSession, findings: &mut Vec<Finding>) -> Option<HostFacts> {
    let version = session.vbox.version();
    let tested = TESTED.contains(&(version.major, version.minor));
    let found = session
        .hypervisor
        .strip_prefix("VirtualBox ")
        .unwrap_or(&session.hypervisor)
        .to_string();
    findings.push(if tested {
        Finding::new("VirtualBox", Status::Ok, found)
    } else {
        Finding::new(
            "VirtualBox",
            Status::Warning,
            format!("{found}: not a version labctl is tested with"),
        )
        .help("labctl is tested with VirtualBox 6.1, 7.0, 7.1 and 7.2")
    });
    let info = match session.vbox.host_info() {
        Ok(info) => info,
        Err(error) => {
            findings.push(Finding::new(
                "host",
                Status::Problem,
                format!("`VBoxManage list hostinfo` failed: {error}"),
            ));
            HostInfo::default()
        }
    };
    let inventory = match session
        .vbox
        .inventory(&session.scope(false))
        .map_err(Error::from)
    {
        Ok(inventory) => inventory,
        Err(error) => {
            findings.push(Finding::new(
                "VirtualBox",
                Status::Problem,
                format!("cannot read VirtualBox's VMs and networks: {error}"),
            ));
            Inventory::default()
        }
    };
    findings.push(memory_finding(&session.lab, &info, &inventory));
    Some(HostFacts {
        flavor: session.vbox.flavor(),
        os: info.os,
        version: Some(version),
        inventory,
    })
}

/// Memory the lab's VMs that do not run yet will take, against what the host has free.
fn memory_finding(lab: &Lab, info: &HostInfo, inventory: &Inventory) -> Finding {
    let to_start: Vec<u64> = lab
        .vms
        .iter()
        .filter(|vm| {
            !inventory
                .vm_named(&vm.vbox_name)
                .is_some_and(|observed| observed.state == PowerState::Running)
        })
        .map(|vm| u64::from(vm.memory))
        .collect();
    let needed: u64 = to_start.iter().sum();
    let vms = match to_start.len() {
        1 => "1 VM".to_string(),
        n => format!("{n} VMs"),
    };
    let os = match (&info.os, &info.os_version) {
        (Some(os), Some(version)) => format!("{os} {version}: "),
        (Some(os), None) => format!("{os}: "),
        _ => String::new(),
    };
    let Some(available) = info.available_mb else {
        return Finding::new(
            "memory",
            Status::Warning,
            format!(
                "{os}VirtualBox does not say how much memory is free; the lab's {vms} to start need {needed} MB"
            ),
        );
    };
    let detail = if to_start.is_empty() {
        format!("{os}{available} MB available; the lab's VMs run already")
    } else {
        format!("{os}{available} MB available; the lab's {vms} to start need {needed} MB")
    };
    if needed > available {
        Finding::new("memory", Status::Problem, detail).help(
            "close programs, or give the VMs less `memory` in the lab file (or `[defaults] memory`)",
        )
    } else if needed as f64 > available as f64 * TIGHT_MEMORY {
        Finding::new("memory", Status::Warning, detail)
            .help("the host will be short of memory while the lab runs")
    } else {
        Finding::new("memory", Status::Ok, detail)
    }
}

/// Whether VirtualBox will let the host have its address on each of the lab's host-only
/// networks.
fn host_only_findings(lab: &Lab, host: &HostFacts) -> Vec<Finding> {
    let networks: Vec<(&str, Ipv4Net, Ipv4Addr, Option<&String>)> = lab
        .networks
        .iter()
        .filter_map(|network| match &network.kind {
            NetworkKind::HostOnly {
                cidr,
                host,
                interface,
                ..
            } => Some((network.name.as_str(), *cidr, *host, interface.as_ref())),
            _ => None,
        })
        .collect();
    if networks.is_empty() {
        return Vec::new();
    }
    let restricted = host.os.as_deref() != Some("Windows")
        && host.flavor == HostOnlyFlavor::Interfaces
        && host
            .version
            .is_none_or(|version| (version.major, version.minor, version.patch) >= (6, 1, 28));
    let conf = std::fs::read_to_string(NETWORKS_CONF).ok();
    let rule = HostOnlyRule::new(conf.as_deref());
    networks
        .into_iter()
        .map(|(name, cidr, address, interface)| {
            let subject = format!("network {name}");
            let exists = host.inventory.host_only.iter().any(|observed| {
                observed.ip == Some(address)
                    && interface.is_none_or(|interface| &observed.name == interface)
            });
            if exists {
                return Finding::new(
                    subject,
                    Status::Ok,
                    format!("{cidr}: the host already has {address} on it"),
                );
            }
            if !restricted {
                let why = if host.os.as_deref() == Some("Windows") {
                    "Windows does not restrict host-only addresses"
                } else if host.flavor == HostOnlyFlavor::Networks {
                    "macOS host-only networks are not restricted"
                } else {
                    "this VirtualBox does not restrict host-only addresses"
                };
                return Finding::new(subject, Status::Ok, format!("{cidr}: {why}"));
            }
            if rule.allows(address, cidr) {
                let source = if rule.from_file {
                    NETWORKS_CONF.to_string()
                } else {
                    "VirtualBox's default range 192.168.56.0/21".to_string()
                };
                return Finding::new(
                    subject,
                    Status::Ok,
                    format!("{cidr}: host address {address} allowed by {source}"),
                );
            }
            let allowed: Vec<String> = rule.networks().iter().map(ToString::to_string).collect();
            let detail = if rule.from_file {
                format!(
                    "{cidr}: VirtualBox will refuse host address {address}: {NETWORKS_CONF} allows only {}",
                    if allowed.is_empty() {
                        "nothing".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )
            } else {
                format!(
                    "{cidr}: VirtualBox will refuse host address {address}: without {NETWORKS_CONF} it allows only 192.168.56.0/21"
                )
            };
            let mut help = format!("add the line `* {cidr}` to {NETWORKS_CONF} (as root)");
            if !rule.from_file {
                help.push_str(", with `* 192.168.56.0/21` to keep the default range");
            }
            help.push_str(", or use a network inside the allowed ranges");
            Finding::new(subject, Status::Problem, detail).help(help)
        })
        .collect()
}

/// Each image's appliance (or master VM) and credentials.
fn image_findings(lab: &Lab, inventory: Option<&Inventory>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for image in &lab.images {
        let subject = format!("image {}", image.name);
        let master = match &image.source {
            ImageSource::Vm(vm) => vm.clone(),
            ImageSource::Appliance(_) => lab.master_name(&image.name),
        };
        let imported = inventory.is_some_and(|inventory| inventory.vm_named(&master).is_some());
        findings.push(match &image.source {
            _ if imported => Finding::new(
                subject.clone(),
                Status::Ok,
                format!("VM `{master}` is in VirtualBox"),
            ),
            ImageSource::Appliance(path) => appliance_finding(&subject, path),
            ImageSource::Vm(vm) if inventory.is_some() => Finding::new(
                subject.clone(),
                Status::Problem,
                format!("VirtualBox has no VM `{vm}`"),
            )
            .help("import or create it first, or use `ova = \"…\"` for an appliance"),
            ImageSource::Vm(vm) => Finding::new(
                subject.clone(),
                Status::Warning,
                format!("VM `{vm}`: not checked without VirtualBox"),
            ),
        });
        findings.extend(credential_findings(&subject, &image.login));
    }
    findings
}

fn appliance_finding(subject: &str, path: &Path) -> Finding {
    match std::fs::File::open(path).and_then(|file| file.metadata()) {
        Ok(metadata) => Finding::new(
            subject,
            Status::Ok,
            format!(
                "appliance {} ({} MB)",
                path.display(),
                metadata.len().div_ceil(1024 * 1024)
            ),
        ),
        Err(error) => Finding::new(
            subject,
            Status::Problem,
            format!("appliance {}: {error}", path.display()),
        )
        .help("put the appliance there, fix `ova` in the lab file, or give `--image NAME=PATH`"),
    }
}

fn credential_findings(subject: &str, login: &crate::lab::model::Login) -> Vec<Finding> {
    let mut findings = Vec::new();
    let variable = |name: &str, holds: &str| {
        if std::env::var_os(name).is_some() {
            Finding::new(
                subject,
                Status::Ok,
                format!("{holds} from environment variable {name} (set)"),
            )
        } else {
            Finding::new(
                subject,
                Status::Problem,
                format!("environment variable {name} is not set: it holds the {holds}"),
            )
            .help(format!("`export {name}=…` before `labctl up`"))
        }
    };
    match &login.password {
        Some(Password::Literal(_)) => findings.push(Finding::new(
            subject,
            Status::Ok,
            "password written in the lab file",
        )),
        Some(Password::Env(name)) => findings.push(variable(name, "password")),
        None => {}
    }
    match &login.key {
        Some(PrivateKey::Path(path)) => {
            let path = super::lab_session::expand_home(path);
            findings.push(match std::fs::File::open(&path) {
                Ok(_) => Finding::new(
                    subject,
                    Status::Ok,
                    format!("private key {}", path.display()),
                ),
                Err(error) => Finding::new(
                    subject,
                    Status::Problem,
                    format!("private key {}: {error}", path.display()),
                )
                .help("fix `key` in the lab file"),
            });
        }
        Some(PrivateKey::Env(name)) => findings.push(variable(name, "private key")),
        None => {}
    }
    findings
}
