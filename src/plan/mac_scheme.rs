//! labctl's MAC addresses: deterministic per lab, VM and slot, with VirtualBox's 08:00:27
//! prefix, and never equal to a MAC any registered VM or the lab already uses.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::lab::model::MacAddress;

/// Hands out MACs, remembering every MAC already taken.
#[derive(Debug, Clone, Default)]
pub struct MacScheme {
    taken: HashSet<MacAddress>,
}

impl MacScheme {
    /// A scheme that avoids `taken`.
    pub fn new(taken: impl IntoIterator<Item = MacAddress>) -> Self {
        Self {
            taken: taken.into_iter().collect(),
        }
    }

    /// Marks a MAC as used.
    pub fn reserve(&mut self, mac: MacAddress) {
        self.taken.insert(mac);
    }

    /// The MAC for adapter `slot` of VM `vm` in lab `lab`: the same every run unless that
    /// address is already taken, then the next candidate of the same sequence.
    pub fn assign(&mut self, lab: &str, vm: &str, slot: u8) -> MacAddress {
        let mut attempt = 0u32;
        loop {
            let mut hasher = Sha256::new();
            hasher.update(lab.as_bytes());
            hasher.update([0]);
            hasher.update(vm.as_bytes());
            hasher.update([0, slot]);
            hasher.update(attempt.to_be_bytes());
            let digest = hasher.finalize();
            let [a, b, c] = MacAddress::VIRTUALBOX_PREFIX;
            let mac = MacAddress::from_bytes([a, b, c, digest[0], digest[1], digest[2]]);
            if self.taken.insert(mac) {
                return mac;
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_mac_and_virtualbox_prefix() {
        let first = MacScheme::default().assign("exam3", "web1", 1);
        let again = MacScheme::default().assign("exam3", "web1", 1);
        assert_eq!(first, again);
        assert_eq!(&first.to_vbox()[..6], "080027");
        assert_ne!(first, MacScheme::default().assign("exam3", "web1", 2));
    }

    #[test]
    fn avoids_taken_macs() {
        let usual = MacScheme::default().assign("exam3", "web1", 1);
        let mut scheme = MacScheme::new([usual]);
        let other = scheme.assign("exam3", "web1", 1);
        assert_ne!(usual, other);
        assert_eq!(&other.to_vbox()[..6], "080027");
    }
}
