//! Validation of the host ports a lab forwards: one host port and protocol serves one rule.
//!
//! VirtualBox accepts two rules on one host port (in two VMs, or a VM and a NAT network) and
//! then fails to bind the second when the VM or network starts, far from the lab file; a replica
//! group's NIC forward is copied into every replica, so it would forward one host port many times.

use std::net::Ipv4Addr;
use std::ops::Range;

use super::Validator;
use crate::lab::diagnostic::{Diagnostic, DiagnosticKind};
use crate::lab::raw::{NetworkType, Protocol, RawForward, RawLab};
use crate::lab::spanned::Sp;

/// One forward of the file, as the host sees it.
struct HostPort {
    proto: Protocol,
    /// `None`: every host address.
    address: Option<Ipv4Addr>,
    port: u16,
    range: Range<usize>,
    /// Whose rule it is, for the message.
    owner: String,
}

impl HostPort {
    fn clashes_with(&self, other: &Self) -> bool {
        self.proto == other.proto
            && self.port == other.port
            && match (self.address, other.address) {
                (Some(a), Some(b)) => a == b || a.is_unspecified() || b.is_unspecified(),
                _ => true,
            }
    }
}

impl Validator<'_> {
    /// Reports every host port and protocol forwarded twice, and NIC forwards of replica groups.
    pub(crate) fn forward_clashes(&mut self, raw: &RawLab) {
        let mut seen: Vec<HostPort> = Vec::new();
        for (key, network) in &raw.networks {
            if *network.get().kind.get() != NetworkType::Natnetwork {
                continue;
            }
            for forward in network.get().forwards.iter().flatten() {
                let owner = format!("NAT network `{}`", key.get());
                self.claim(&mut seen, forward, owner);
            }
        }
        for (key, vm) in &raw.vms {
            let vm = vm.get();
            for nic in vm.nics.iter().flatten() {
                let nic = nic.get();
                let on_nat = raw.networks.iter().any(|(name, network)| {
                    name.get() == nic.net.get() && *network.get().kind.get() == NetworkType::Nat
                });
                if !on_nat {
                    continue;
                }
                for forward in nic.forwards.iter().flatten() {
                    if let Some(count) = vm.count.as_ref().filter(|count| *count.get() > 1) {
                        self.error(
                            DiagnosticKind::Conflict,
                            forward.get().host_port.range(),
                            format!(
                                "every replica of `{}` would forward host port {}",
                                key.get(),
                                forward.get().host_port.get()
                            ),
                        )
                        .set_label(format!("copied into {} replicas", count.get()))
                        .set_help(Some(
                            "a host port can be forwarded to one VM only: forward it from a VM that is not a replica group, or reach the replicas over a host-only network".into(),
                        ));
                        continue;
                    }
                    self.claim(&mut seen, forward, format!("vm `{}`", key.get()));
                }
            }
        }
    }

    fn claim(&mut self, seen: &mut Vec<HostPort>, forward: &Sp<RawForward>, owner: String) {
        let forward = forward.get();
        let claim = HostPort {
            proto: forward
                .proto
                .as_ref()
                .map_or(Protocol::Tcp, |proto| *proto.get()),
            address: forward
                .host_ip
                .as_ref()
                .and_then(|text| text.get().parse().ok()),
            port: *forward.host_port.get(),
            range: forward.host_port.range(),
            owner,
        };
        if let Some(first) = seen.iter().find(|first| first.clashes_with(&claim)) {
            let proto = match claim.proto {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
            };
            let diagnostic = Diagnostic::error(
                DiagnosticKind::Duplicate,
                self.span(claim.range.clone()),
                format!(
                    "host port {} ({proto}) is forwarded twice: by {} and by {}",
                    claim.port, first.owner, claim.owner
                ),
            )
            .with_label("forwarded again here")
            .with_note(self.span(first.range.clone()), "first forwarded here")
            .with_help(
                "the second rule could not listen when its VM or network starts: give it another `host_port`",
            );
            self.push(diagnostic);
            return;
        }
        seen.push(claim);
    }
}
