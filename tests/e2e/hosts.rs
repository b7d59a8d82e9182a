//! labctl on the VirtualBoxes of the other hosts students have. macOS with VirtualBox 7: host-only
//! networks (`hostonlynet`) without reservations, so fixed addresses are set in the guest, which
//! labctl reaches through a NAT adapter 1. Windows: host-only adapters named `VirtualBox Host-Only
//! Ethernet Adapter …`, found by address.

use crate::world::{World, lab_preamble};

#[test]
fn on_macos_host_only_networks_are_made_and_fixed_addresses_set_in_the_guest() {
    let world = World::on_host("mac", "macos");
    world.write(
        "lab.toml",
        &format!(
            r#"{preamble}
[networks.out]
type = "nat"

[vms.node]
count = 2
nics = [{{ net = "out" }}, {{ net = "lab", ip = "192.168.56.31" }}]
"#,
            preamble = lab_preamble("mac")
        ),
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up on macOS");
    let nets = world.vbox_ok(&["list", "hostonlynets"]);
    assert!(
        nets.contains("Name:            labctl-mac-lab\n")
            && nets.contains("LowerIP:         192.168.56.101\n"),
        "a host-only network with the lab's DHCP range: {nets}"
    );
    assert!(
        world.vbox_ok(&["list", "hostonlyifs"]).is_empty(),
        "no host-only interface"
    );
    let pinged = world.labctl(&[
        "exec",
        "lab.toml",
        "node1",
        "--",
        "ip -4 -o addr show eth1 | awk '{print $4}'; ping -c1 -W2 192.168.56.32 >/dev/null && echo reached",
    ]);
    pinged.expect(0, "node1 over the host-only network");
    assert!(
        pinged.stdout.contains("192.168.56.31/24") && pinged.stdout.contains("reached"),
        "{}",
        pinged.stdout
    );
    world
        .host("ping", &["-c1", "-W2", "192.168.56.32"])
        .expect(0, "the host reaches node2");
    let again = world.labctl(&["up", "lab.toml"]);
    again.expect(0, "second up");
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_eq!(
        world.vbox_ok(&["list", "hostonlynets"]),
        "",
        "the network is removed"
    );
}

#[test]
fn on_macos_a_host_only_adapter_one_is_refused_before_anything_is_made() {
    let world = World::on_host("macref", "macos");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.40\" }}]\n",
            lab_preamble("macref")
        ),
    );
    let refused = world.labctl(&["up", "lab.toml"]);
    refused.expect(3, "up refused");
    assert!(
        refused
            .all()
            .contains("host-only networks have no DHCP reservations"),
        "{}",
        refused.all()
    );
    assert!(world.vm_names().is_empty(), "nothing was made");
}

#[test]
fn on_windows_host_only_adapters_have_windows_names() {
    let world = World::on_host("win", "windows");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.40\" }}]\n",
            lab_preamble("win")
        ),
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up on Windows");
    assert!(
        world
            .vbox_ok(&["list", "hostonlyifs"])
            .contains("Name:            VirtualBox Host-Only Ethernet Adapter\n")
    );
    world
        .labctl(&["exec", "lab.toml", "a", "--", "true"])
        .expect(0, "a answers");
    let again = world.labctl(&["up", "lab.toml"]);
    again.expect(0, "second up finds the adapter by its address");
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_eq!(world.vbox_ok(&["list", "hostonlyifs"]), "");
}
