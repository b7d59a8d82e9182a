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
            "{}\n[vms.a]\ncount = 2\nnics = [{{ net = \"lab\", ip = \"192.168.56.40\" }}]\n",
            lab_preamble("win")
        ),
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up on Windows");
    // VirtualBox on Windows prints its paths with a drive letter and backslashes: labctl read
    // its machine folder that way and put the VMs under `labctl\win` in it.
    let info = world.vbox_ok(&["showvminfo", "win-a1", "--machinereadable"]);
    let cfg = info
        .lines()
        .find_map(|line| line.strip_prefix("CfgFile="))
        .unwrap_or_default();
    assert!(
        cfg.starts_with("\"C:\\\\")
            && cfg.ends_with("\\\\labctl\\\\win\\\\win-a1\\\\win-a1.vbox\""),
        "{cfg}"
    );
    assert!(
        world
            .vbox_ok(&["list", "hostonlyifs"])
            .contains("Name:            VirtualBox Host-Only Ethernet Adapter\n")
    );
    let pinged = world.labctl(&[
        "exec",
        "lab.toml",
        "a1",
        "--",
        "ping -c1 -W2 192.168.56.41 >/dev/null && echo reached",
    ]);
    pinged.expect(0, "a1 over the host-only network");
    assert!(pinged.stdout.contains("reached"), "{}", pinged.stdout);
    world
        .host("ping", &["-c1", "-W2", "192.168.56.40"])
        .expect(0, "the host reaches a1");
    let again = world.labctl(&["up", "lab.toml"]);
    again.expect(0, "second up finds the adapter by its address");
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_eq!(world.vbox_ok(&["list", "hostonlyifs"]), "");
}

/// A lab this host cannot bring up: a host-only network outside VirtualBox's allowed range, more
/// memory than the host has free, a missing appliance.
fn unready_lab(tag: &str) -> String {
    format!(
        "{}\n[networks.far]\ntype = \"hostonly\"\ncidr = \"10.10.0.0/24\"\n\n[images.other]\nova = \"missing.ova\"\nuser = \"u\"\npassword = \"p\"\n\n[vms.a]\nimage = \"base\"\nmemory = 100000000\nnics = [{{ net = \"lab\", ip = \"192.168.56.42\" }}, {{ net = \"far\", ip = \"10.10.0.42\" }}]\n\n[vms.b]\nimage = \"other\"\nnics = [{{ net = \"lab\", ip = \"192.168.56.43\" }}]\n",
        lab_preamble(tag)
    )
}

#[test]
fn doctor_says_what_up_needs_before_anything_is_created() {
    let world = World::new("doc");
    world.write("lab.toml", &unready_lab("doc"));
    let found = world.labctl(&["doctor", "lab.toml"]);
    found.expect(1, "doctor on a lab this host cannot bring up");
    let text = &found.stdout;
    for expected in [
        "ok    VirtualBox   7.",
        "FAIL  memory",
        "MB available; the lab's 2 VMs to start need 100000512 MB",
        "ok    network lab  192.168.56.0/24: host address 192.168.56.1 allowed by VirtualBox's default range 192.168.56.0/21",
        "FAIL  network far  10.10.0.0/24: VirtualBox will refuse host address 10.10.0.1",
        "help: add the line `* 10.10.0.0/24` to /etc/vbox/networks.conf",
        "ok    image base   appliance",
        "ok    image base   password from environment variable LAB_PASSWORD (set)",
        "FAIL  image other  appliance ",
        "missing.ova: No such file or directory",
        "3 problems found: `labctl up` would fail; fix them first",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
    assert!(!text.contains(crate::world::PASSWORD), "{text}");
    assert!(world.vm_names().is_empty(), "doctor created a VM");
    assert_eq!(world.vbox_ok(&["list", "hostonlyifs"]), "", "or a network");

    let json = world.labctl(&["--json", "doctor", "lab.toml"]);
    json.expect(1, "doctor --json");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["ready"], false);
    let problems: Vec<&str> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["status"] == "problem")
        .map(|finding| finding["subject"].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["memory", "network far", "image other"]);

    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.42\" }}]\n",
            lab_preamble("doc")
        ),
    );
    let ready = world.labctl(&["doctor", "lab.toml"]);
    ready.expect(0, "doctor on a lab this host can bring up");
    assert!(
        ready
            .stdout
            .contains("ready: `labctl up` has what it needs"),
        "{}",
        ready.stdout
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    let after = world.labctl(&["doctor", "lab.toml"]);
    after.expect(0, "doctor on a running lab");
    assert!(
        after.stdout.contains("the lab's VMs run already")
            && after
                .stdout
                .contains("192.168.56.0/24: the host already has 192.168.56.1 on it")
            && after
                .stdout
                .contains("VM `doc-master-base` is in VirtualBox"),
        "{}",
        after.stdout
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn doctor_knows_windows_does_not_restrict_host_only_addresses() {
    let world = World::on_host("docwin", "windows");
    world.write("lab.toml", &unready_lab("docwin"));
    let found = world.labctl(&["doctor", "lab.toml"]);
    found.expect(1, "doctor on Windows");
    assert!(
        found.stdout.contains(
            "ok    network far  10.10.0.0/24: Windows does not restrict host-only addresses"
        ),
        "{}",
        found.stdout
    );
}
