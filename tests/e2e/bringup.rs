//! Bring-up on the simulated VirtualBox: a five-VM, two-network lab comes up and answers SSH;
//! re-`up` writes nothing; drift is repaired; a VM labctl does not own is never touched;
//! `--prune`; concurrent `up`s; injected faults; `clone`; `destroy` leaves VirtualBox as it was.

use serde_json::Value;

use crate::world::{PASSWORD, World, calls, finish, lab_preamble};

/// Five VMs (one, three replicas, one) on a host-only and a NAT network.
pub fn five_vm_lab(name: &str, web_count: u32) -> String {
    format!(
        r#"
{preamble}

[networks.back]
type = "natnetwork"
cidr = "10.10.0.0/24"

[vms.db]
nics = [{{ net = "lab", ip = "192.168.56.30" }}, {{ net = "back", ip = "10.10.0.30" }}]
provision = [{{ run = "echo db > /tmp/role" }}]

[vms.web]
count = {web_count}
nics = [{{ net = "lab", ip = "192.168.56.21" }}, {{ net = "back" }}]
after = ["db"]
provision = [{{ text = "served by {{{{ vm.name }}}}\n", to = "/srv/www/index.html" }}]

[vms.lb]
nics = [{{ net = "lab", ip = "192.168.56.10" }}, {{ net = "back" }}]
after = ["web"]
"#,
        preamble = lab_preamble(name)
    )
}

/// VBoxManage commands that change VirtualBox.
fn is_write(argv: &[String]) -> bool {
    let first = argv.first().map(String::as_str).unwrap_or("");
    let second = argv.get(1).map(String::as_str).unwrap_or("");
    match first {
        "list" | "showvminfo" | "getextradata" | "--version" | "-v" | "-q" | "--nologo" => false,
        "guestproperty" => matches!(second, "set" | "delete" | "unset"),
        "dhcpserver" => second != "findlease",
        "natnetwork" => second != "list",
        "snapshot" => second != "list",
        _ => true,
    }
}

fn machine_readable(world: &World, vm: &str) -> String {
    world.vbox_ok(&["showvminfo", vm, "--machinereadable"])
}

fn value(info: &str, key: &str) -> String {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .unwrap_or("")
        .trim_matches('"')
        .to_string()
}

#[test]
fn a_five_vm_lab_comes_up_converges_and_is_destroyed_without_a_trace() {
    let world = World::new("five");
    world.write("lab.toml", &five_vm_lab("five", 3));
    // A VM that happens to have a lab VM's name, not made by labctl.
    world.vbox_ok(&["import", "base.ova", "--vsys", "0", "--vmname", "five-lb"]);
    let foreign_before = machine_readable(&world, "five-lb");

    let refused = world.labctl(&["up", "lab.toml"]);
    refused.expect(3, "up with a foreign VM in the way");
    assert!(
        refused.stderr.contains("five-lb"),
        "the refusal names the VM: {}",
        refused.stderr
    );
    assert_eq!(
        machine_readable(&world, "five-lb"),
        foreign_before,
        "the foreign VM is untouched"
    );
    assert!(
        !world
            .vm_names()
            .iter()
            .any(|vm| vm.starts_with("five-") && vm != "five-lb"),
        "nothing was created before the refusal: {:?}",
        world.vm_names()
    );

    // Out of the way, it stays a bystander that labctl must never touch.
    world.vbox_ok(&["modifyvm", "five-lb", "--name", "bystander"]);
    let bystander = machine_readable(&world, "bystander");
    let hostonly_before = world.vbox_ok(&["list", "hostonlyifs"]);
    let natnets_before = world.vbox_ok(&["list", "natnets"]);

    let log = world.dir.join("calls-up.jsonl");
    let log_text = log.display().to_string();
    world
        .labctl_with(&["up", "lab.toml"], &[("VBOXSIM_CALL_LOG", &log_text)])
        .expect(0, "up");
    let created = calls(&log);
    let writes = created.iter().filter(|argv| is_write(argv)).count();
    assert!(
        writes <= 6 * 5 + 8,
        "at most 6 writes per VM (plus master and networks), got {writes}"
    );

    // Every VM answers SSH at its address, as itself.
    let hostnames = world.labctl(&["exec", "lab.toml", "--all", "--", "hostname"]);
    hostnames.expect(0, "exec --all");
    for vm in ["db", "web1", "web2", "web3", "lb"] {
        assert!(
            hostnames.stdout.contains(&format!("| five-{vm}")),
            "{vm} answered: {}",
            hostnames.stdout
        );
    }
    let status = world.labctl(&["--json", "status", "lab.toml"]);
    status.expect(0, "status");
    let rows: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let rows = rows
        .as_array()
        .or_else(|| rows["vms"].as_array())
        .expect("rows")
        .clone();
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(row["state"], "running", "{row}");
        assert_eq!(row["owner"], "labctl", "{row}");
    }
    // The NAT-network adapter of lb has no fixed address: status shows the one it leased,
    // which is the one the guest has.
    let lb = rows.iter().find(|row| row["vm"] == "lb").expect("lb row");
    let leased = lb["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|address| address.strip_prefix("back=")?.strip_suffix("(dhcp)"))
        .unwrap_or_else(|| panic!("lb shows its leased address: {lb}"))
        .to_string();
    assert!(leased.starts_with("10.10.0."), "{lb}");
    let addresses = world.labctl(&["exec", "lab.toml", "lb", "--", "ip -4 -o addr show"]);
    addresses.expect(0, "lb's addresses");
    assert!(
        addresses.stdout.contains(&format!("inet {leased}/")),
        "status said {leased}, the guest has: {}",
        addresses.stdout
    );
    for (vm, ip) in [("web2", "192.168.56.22"), ("lb", "192.168.56.10")] {
        let reached = world.host("ping", &["-c", "1", "-W", "2", ip]);
        reached.expect(0, &format!("ping {vm} at {ip} from the host"));
    }

    // Re-up of an up-to-date lab: no VBoxManage write, no step.
    let log = world.dir.join("calls-reup.jsonl");
    let log_text = log.display().to_string();
    let again = world.labctl_with(&["up", "lab.toml"], &[("VBOXSIM_CALL_LOG", &log_text)]);
    again.expect(0, "re-up");
    assert!(again.stdout.contains("up to date"), "{}", again.stdout);
    let writes: Vec<Vec<String>> = calls(&log)
        .into_iter()
        .filter(|argv| is_write(argv))
        .collect();
    assert!(writes.is_empty(), "re-up wrote: {writes:?}");

    // Drift: memory changed behind labctl's back is put back (the VM powered off first).
    world.vbox_ok(&["controlvm", "five-db", "poweroff"]);
    std::thread::sleep(std::time::Duration::from_millis(600));
    world.vbox_ok(&["modifyvm", "five-db", "--memory", "256"]);
    let plan = world.labctl(&["plan", "lab.toml"]);
    plan.expect(0, "plan after drift");
    assert!(
        plan.stdout.contains("256"),
        "the plan says what drifted: {}",
        plan.stdout
    );
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "up repairs drift");
    let db = machine_readable(&world, "five-db");
    assert_eq!(value(&db, "memory"), "512");
    assert_eq!(value(&db, "VMState"), "running");

    // A replica removed from the file is reported, and deleted only with --prune.
    world.write("lab.toml", &five_vm_lab("five", 2));
    let reported = world.labctl(&["up", "lab.toml"]);
    reported.expect(0, "up with one replica fewer");
    assert!(reported.stderr.contains("five-web3"), "{}", reported.all());
    assert!(world.vm_names().contains(&"five-web3".to_string()));
    world
        .labctl(&["up", "lab.toml", "--prune"])
        .expect(0, "up --prune");
    assert!(!world.vm_names().contains(&"five-web3".to_string()));

    // destroy leaves VirtualBox as it was before `up`, the bystander included.
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_eq!(world.vm_names(), vec!["bystander".to_string()]);
    assert_eq!(machine_readable(&world, "bystander"), bystander);
    assert_eq!(world.vbox_ok(&["list", "hostonlyifs"]), hostonly_before);
    assert_eq!(world.vbox_ok(&["list", "natnets"]), natnets_before);
    let leftovers: Vec<String> = world
        .machine_files()
        .into_iter()
        .filter(|file| file.starts_with("labctl/"))
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

fn two_vm_lab(name: &str) -> String {
    format!(
        r#"
{preamble}

[networks.back]
type = "natnetwork"
cidr = "10.20.0.0/24"

[vms.node]
count = 2
nics = [{{ net = "lab", ip = "192.168.56.41" }}, {{ net = "back" }}]
provision = [{{ run = "hostname > /tmp/me" }}]
"#,
        preamble = lab_preamble(name)
    )
}

#[test]
fn a_second_up_on_the_same_lab_is_refused_naming_the_holder() {
    let world = World::new("twice");
    world.write("lab.toml", &two_vm_lab("twice"));
    let first = world.spawn_labctl(&["up", "lab.toml"], &[]);
    let second = world.spawn_labctl(&["up", "lab.toml"], &[]);
    let (first, second) = (finish(first), finish(second));
    let (winner, loser) = if first.code == 0 {
        (first, second)
    } else {
        (second, first)
    };
    winner.expect(0, "the up that holds the lock");
    loser.expect(3, "the up that found the lock taken");
    assert!(
        loser.stderr.contains("pid") && loser.stderr.contains("labctl up"),
        "the refusal names the holder: {}",
        loser.stderr
    );
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "up once the lock is free");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert!(world.vm_names().is_empty());
}

#[test]
fn lock_errors_and_a_slow_startvm_do_not_stop_the_lab_converging() {
    let world = World::new("faults");
    world.write("lab.toml", &two_vm_lab("faults"));
    world.fault(&["lock-writes", "4"]);
    world.fault(&["startvm-delay", "1500"]);
    let up = world.labctl(&["up", "lab.toml"]);
    up.expect(0, "up under injected faults");
    let answered = world.labctl(&["exec", "lab.toml", "--all", "--", "cat /tmp/me"]);
    answered.expect(0, "both nodes provisioned");
    assert!(answered.stdout.contains("faults-node1") && answered.stdout.contains("faults-node2"));
    world.fault(&["clear"]);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn one_vm_is_recreated_without_touching_the_others() {
    let world = World::new("one");
    world.write("lab.toml", &two_vm_lab("one"));
    world
        .labctl(&["up", "lab.toml", "node2"])
        .expect(0, "up node2 only");
    assert_eq!(
        world
            .vm_names()
            .iter()
            .filter(|vm| vm.starts_with("one-node"))
            .count(),
        1
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up the rest");
    let node1 = value(&machine_readable(&world, "one-node1"), "UUID");
    world
        .labctl(&["destroy", "lab.toml", "node2", "--yes"])
        .expect(0, "destroy node2");
    assert!(!world.vm_names().contains(&"one-node2".to_string()));
    world
        .labctl(&["up", "lab.toml", "node2"])
        .expect(0, "recreate node2");
    assert_eq!(
        value(&machine_readable(&world, "one-node1"), "UUID"),
        node1,
        "node1 kept"
    );
    let halted = world.labctl(&["halt", "lab.toml", "node1"]);
    halted.expect(0, "halt node1");
    assert_eq!(
        value(&machine_readable(&world, "one-node1"), "VMState"),
        "poweroff"
    );
    assert_eq!(
        value(&machine_readable(&world, "one-node2"), "VMState"),
        "running"
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn clone_of_a_vm_outside_any_lab_gets_fresh_macs() {
    let world = World::new("clone");
    world.vbox_ok(&["import", "base.ova", "--vsys", "0", "--vmname", "solo"]);
    world.vbox_ok(&["modifyvm", "solo", "--nic2", "nat"]);
    let cloned = world.labctl(&["clone", "solo", "solo-copy"]);
    cloned.expect(0, "clone");
    let solo = machine_readable(&world, "solo");
    let copy = machine_readable(&world, "solo-copy");
    for slot in ["macaddress1", "macaddress2"] {
        let (old, new) = (value(&solo, slot), value(&copy, slot));
        assert!(
            !old.is_empty() && !new.is_empty() && old != new,
            "{slot}: {old} vs {new}"
        );
        assert!(new.starts_with("080027"), "VirtualBox's prefix: {new}");
        let table = cloned.stdout.to_uppercase().replace(':', "");
        assert!(
            table.contains(&old) && table.contains(&new),
            "{}",
            cloned.stdout
        );
    }
    assert!(value(&copy, "CfgFile").contains("solo-copy"));
    let full = world.labctl(&["clone", "solo", "solo-full", "--full"]);
    full.expect(0, "full clone");
    assert_ne!(
        value(&machine_readable(&world, "solo-full"), "macaddress1"),
        value(&solo, "macaddress1")
    );
    assert!(!full.all().contains(PASSWORD));
}

#[test]
fn snapshots_are_saved_listed_and_restored() {
    let world = World::new("snap");
    world.write("lab.toml", &two_vm_lab("snap"));
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "--all",
            "--",
            "echo before > /var/tmp/state",
        ])
        .expect(0, "write before");
    world
        .labctl(&["snapshot", "save", "checkpoint", "lab.toml"])
        .expect(0, "snapshot save");
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "--all",
            "--",
            "echo after > /var/tmp/state",
        ])
        .expect(0, "write after");
    let listed = world.labctl(&["snapshot", "list", "lab.toml"]);
    listed.expect(0, "snapshot list");
    assert!(
        listed.stdout.matches("checkpoint").count() >= 2,
        "both VMs have it: {}",
        listed.stdout
    );
    world
        .labctl(&["snapshot", "restore", "checkpoint", "lab.toml", "node1"])
        .expect(0, "snapshot restore node1");
    let node1 = world.labctl(&["exec", "lab.toml", "node1", "--", "cat /var/tmp/state"]);
    node1.expect(0, "read node1");
    assert_eq!(node1.stdout, "before\n", "node1 is back at the snapshot");
    let node2 = world.labctl(&["exec", "lab.toml", "node2", "--", "cat /var/tmp/state"]);
    assert_eq!(node2.stdout, "after\n", "node2 was not restored");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert!(world.vm_names().is_empty());
}

/// An appliance that is not there stops `up` before anything is created, pointing at the image.
/// No VM and no network: `up` stopped before creating anything.
fn assert_nothing_created(world: &World) {
    assert!(world.vm_names().is_empty(), "no VM");
    assert_eq!(
        world.vbox_ok(&["list", "hostonlyifs"]),
        "",
        "no network either"
    );
}

#[test]
fn a_missing_appliance_stops_up_before_anything_is_created() {
    let world = World::new("noova");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.40\" }}]\n",
            lab_preamble("noova").replace("ova = \"base.ova\"", "ova = \"nothere.ova\"")
        ),
    );
    let refused = world.labctl(&["up", "lab.toml"]);
    refused.expect(3, "up with a missing appliance");
    assert!(
        refused.all().contains("the appliance")
            && refused.all().contains("nothere.ova")
            && refused.all().contains("lab.toml:"),
        "{}",
        refused.all()
    );
    assert_nothing_created(&world);
}

#[test]
fn an_unset_password_variable_stops_up_before_anything_is_created() {
    let world = World::new("nopw");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.41\" }}]\n",
            lab_preamble("nopw").replace("LAB_PASSWORD", "LABCTL_E2E_NEVER_SET")
        ),
    );
    let refused = world.labctl(&["up", "lab.toml"]);
    refused.expect(2, "up without the password variable");
    assert!(
        refused
            .all()
            .contains("environment variable LABCTL_E2E_NEVER_SET is not set")
            && refused.all().contains("lab.toml:7:16"),
        "{}",
        refused.all()
    );
    assert_nothing_created(&world);
}

/// Two labs on one host-only network, shared on purpose (named): an address one reserved is
/// refused to the other before anything is created, and `destroy` releases a lab's
/// reservations from the server the other keeps using.
#[test]
fn labs_sharing_a_network_never_hand_out_one_address_twice() {
    let world = World::new("share");
    let vm = |name: &str, ip: &str| {
        format!("\n[vms.{name}]\nnics = [{{ net = \"lab\", ip = \"{ip}\" }}]\n")
    };
    world.write(
        "a.toml",
        &format!("{}{}", lab_preamble("sha"), vm("x", "192.168.56.90")),
    );
    world.labctl(&["up", "a.toml"]).expect(0, "up lab a");
    let shared = lab_preamble("shb").replace(
        "type = \"hostonly\"",
        "type = \"hostonly\"\nname = \"vboxnet0\"",
    );
    world.write("b.toml", &format!("{shared}{}", vm("y", "192.168.56.90")));
    let refused = world.labctl(&["up", "b.toml"]);
    refused.expect(3, "up of lab b on a's address");
    assert!(
        refused
            .all()
            .contains("`y` wants 192.168.56.90 on network `lab`, which its DHCP server already hands out to a VM of lab `sha`"),
        "{}",
        refused.all()
    );
    assert!(
        refused.all().contains("b.toml:"),
        "located: {}",
        refused.all()
    );
    assert!(
        world.vm_names().iter().all(|name| name.starts_with("sha-")),
        "nothing of lab b was created: {:?}",
        world.vm_names()
    );

    world.write("b.toml", &format!("{shared}{}", vm("y", "192.168.56.91")));
    world
        .labctl(&["up", "b.toml"])
        .expect(0, "up lab b beside a");
    let y_mac = world
        .vbox_ok(&["showvminfo", "shb-y", "--machinereadable"])
        .lines()
        .find_map(|line| line.strip_prefix("macaddress1=\""))
        .map(|mac| mac.trim_end_matches('"').to_lowercase())
        .expect("y's MAC");
    let colon = |mac: &str| {
        mac.as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    };
    assert!(
        world
            .vbox_ok(&["list", "dhcpservers"])
            .to_lowercase()
            .contains(&colon(&y_mac)),
        "y's reservation is on the shared server"
    );
    let destroyed = world.labctl(&["destroy", "b.toml", "--yes"]);
    destroyed.expect(0, "destroy lab b");
    assert!(
        destroyed.stdout.contains(
            "released 1 reserved address on the DHCP server of HostInterfaceNetworking-vboxnet0"
        ),
        "{}",
        destroyed.stdout
    );
    assert!(
        !world
            .vbox_ok(&["list", "dhcpservers"])
            .to_lowercase()
            .contains(&colon(&y_mac)),
        "y's reservation is gone from the server lab a keeps"
    );
    let marks = world.vbox_ok(&["getextradata", "global", "enumerate"]);
    assert!(!marks.contains("/shb"), "{marks}");
    assert!(
        marks.contains("labctl/reservations/HostInterfaceNetworking-vboxnet0/sha"),
        "{marks}"
    );
    world
        .labctl(&["exec", "a.toml", "x", "--", "true"])
        .expect(0, "lab a is untouched");
    world
        .labctl(&["destroy", "a.toml", "--yes"])
        .expect(0, "destroy lab a");
    assert!(
        !world
            .vbox_ok(&["getextradata", "global", "enumerate"])
            .contains("labctl/"),
        "no mark left"
    );
}
