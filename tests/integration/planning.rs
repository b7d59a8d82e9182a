//! Planning against what VirtualBox has, without VirtualBox: inventories made by hand.

use labctl::hypervisor::Inventory;
use labctl::hypervisor::inventory::{ObservedHostOnly, Reservation};
use labctl::plan::{Intent, PlanError, plan_up};

use crate::support::{BASE, load};

/// A VirtualBox where lab `other` created `vboxnet0` on 192.168.56.0/24.
fn other_labs_network() -> Inventory {
    Inventory {
        host_only: vec![ObservedHostOnly {
            name: "vboxnet0".into(),
            ip: Some("192.168.56.1".parse().unwrap()),
            netmask: Some("255.255.255.0".parse().unwrap()),
            network_name: "HostInterfaceNetworking-vboxnet0".into(),
        }],
        owned_networks: vec![("hostonly".into(), "vboxnet0".into(), "other".into())],
        ..Inventory::default()
    }
}

const VM: &str = "\n[vms.a]\nnics = [{ net = \"lab\", ip = \"192.168.56.10\" }]\n";

#[test]
fn another_labs_network_is_not_shared_without_asking() {
    let lab = load(&format!("{BASE}{VM}")).lab.expect("valid");
    let refused = plan_up(&lab, &other_labs_network(), &Intent::default()).unwrap_err();
    assert!(
        matches!(&refused, PlanError::ForeignNetwork { interface, owner, .. } if interface == "vboxnet0" && owner == "other"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("name = \"vboxnet0\""),
        "{refused}"
    );
    assert!(refused.span().is_some(), "located at the network");

    let named = load(&format!(
        "{}{VM}",
        BASE.replace(
            "type = \"hostonly\"",
            "type = \"hostonly\"\nname = \"vboxnet0\""
        )
    ))
    .lab
    .expect("valid");
    assert!(
        plan_up(&named, &other_labs_network(), &Intent::default()).is_ok(),
        "naming the interface shares it on purpose"
    );
    let unowned = Inventory {
        owned_networks: Vec::new(),
        ..other_labs_network()
    };
    assert!(
        plan_up(&lab, &unowned, &Intent::default()).is_ok(),
        "an interface no lab created is used as before"
    );
}

#[test]
fn an_address_another_lab_reserved_on_a_shared_network_is_refused() {
    let shared = load(&format!(
        "{}{VM}",
        BASE.replace(
            "type = \"hostonly\"",
            "type = \"hostonly\"\nname = \"vboxnet0\""
        )
    ))
    .lab
    .expect("valid");
    let reserved = |lab: &str, ip: &str| Inventory {
        reservations: Reservation::parse(
            &format!("labctl/reservations/HostInterfaceNetworking-vboxnet0/{lab}"),
            &format!("08:00:27:00:00:0a={ip},08:00:27:00:00:0b=192.168.56.99"),
        )
        .expect("a reservations key"),
        ..other_labs_network()
    };
    let refused = plan_up(
        &shared,
        &reserved("other", "192.168.56.10"),
        &Intent::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&refused, PlanError::AddressReserved { vm, owner, .. } if vm == "a" && owner == "other"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("08:00:27:00:00:0a") && refused.span().is_some(),
        "{refused}"
    );
    assert!(
        plan_up(
            &shared,
            &reserved("other", "192.168.56.11"),
            &Intent::default()
        )
        .is_ok(),
        "other addresses of the shared network are free"
    );
    assert!(
        plan_up(&shared, &reserved("t", "192.168.56.10"), &Intent::default()).is_ok(),
        "the lab's own reservation is no clash"
    );
}
