//! Guest setup on an appliance that brings up adapter 1 only (the course's): labctl logs in over
//! adapter 1 — here plain NAT, through a port forward, as Vagrant does — and configures the other
//! adapters in the guest by MAC (a DHCP reservation on the host-only network, a static address
//! on the internal one), sets the host name, does nothing on a second `up`, and follows a change.

use crate::world::{World, lab_preamble};

fn lab(internal_ip: &str) -> String {
    format!(
        r#"
{preamble}
[networks.out]
type = "nat"

[networks.priv]
type = "internal"
cidr = "10.8.0.0/24"

[vms.node]
count = 2
nics = [{{ net = "out" }}, {{ net = "lab", ip = "192.168.56.81" }}, {{ net = "priv", ip = "{internal_ip}" }}]
"#,
        preamble = lab_preamble("guest")
    )
}

fn exec(world: &World, vm: &str, command: &str) -> String {
    let run = world.labctl(&["exec", "lab.toml", vm, "--", command]);
    run.expect(0, command);
    run.stdout
}

#[test]
fn adapters_the_appliance_leaves_down_are_set_up_in_the_guest() {
    let world = World::new("guest");
    world.write("lab.toml", &lab("10.8.0.11"));
    let plan = world.labctl(&["plan", "lab.toml"]);
    plan.expect(0, "plan");
    assert!(
        plan.stdout.contains(
            "configure the guest of `node1`: host name guest-node1; adapter 2 (lab) DHCP → 192.168.56.81; adapter 3 (priv) static 10.8.0.11/24"
        ),
        "{}",
        plan.stdout
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "first up");

    let addresses = exec(
        &world,
        "node1",
        "hostname; ip -4 -o addr show | awk '{print $2, $4}'",
    );
    assert!(addresses.starts_with("guest-node1\n"), "{addresses}");
    assert!(
        addresses.contains("eth0 10.0.2.15/24"),
        "adapter 1 by the appliance: {addresses}"
    );
    assert!(
        addresses.contains("eth1 192.168.56.81/24"),
        "the reservation, by DHCP: {addresses}"
    );
    assert!(
        addresses.contains("eth2 10.8.0.11/24"),
        "static on the internal network: {addresses}"
    );
    exec(
        &world,
        "node1",
        "ping -c1 -W2 10.8.0.12 && ping -c1 -W2 192.168.56.82",
    );
    let files = exec(
        &world,
        "node2",
        "cat /etc/network/interfaces.d/labctl; echo ---; cat /etc/network/interfaces",
    );
    assert!(
        files.contains("# Written by labctl for lab guest")
            && files.contains("iface eth2 inet static")
            && files.contains("address 10.8.0.12/24"),
        "{files}"
    );
    let appliance_own = files.split("---").nth(1).unwrap_or_default();
    assert!(
        !appliance_own.contains("eth1") && !appliance_own.contains("labctl"),
        "the appliance's own file is untouched: {appliance_own}"
    );

    // A lab never brought up whose VM has node1's address: labctl must not reach node1 for it.
    world.write(
        "never.toml",
        &format!(
            "{}\n[vms.web]\nnics = [{{ net = \"lab\", ip = \"192.168.56.81\" }}]\nprovision = []\n\n[[checks]]\nname = \"answers\"\ncommand = \"true\"\non = \"web\"\n",
            lab_preamble("never")
        ),
    );
    let started = std::time::Instant::now();
    let refused = world.labctl(&["exec", "never.toml", "web", "--", "hostname"]);
    refused.expect(3, "exec on a VM never created");
    assert!(
        refused.all().contains("`web` is not created"),
        "{}",
        refused.all()
    );
    world
        .labctl(&["verify", "never.toml"])
        .expect(3, "verify of a lab never brought up");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused at once, not after SSH timeouts"
    );

    let again = world.labctl(&["up", "lab.toml"]);
    again.expect(0, "second up");
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);

    // A changed address: the setup runs again, the old address is gone.
    world.write("lab.toml", &lab("10.8.0.21"));
    let changed = world.labctl(&["up", "lab.toml"]);
    changed.expect(0, "up after a change");
    assert!(
        changed.stdout.contains("configure the guest of `node2`"),
        "{}",
        changed.stdout
    );
    let now = exec(
        &world,
        "node2",
        "ip -4 -o addr show eth2 | awk '{print $4}'",
    );
    assert!(
        now.contains("10.8.0.22/24") && !now.contains("10.8.0.12/"),
        "{now}"
    );

    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}
