//! State tests: import → snapshot → linked clones, locks, unregister --delete, faults, the call
//! log, persistence, and concurrent VBoxManage processes.

mod common;

use std::path::Path;

use common::Sim;

/// Guest Additions publish after boot: poll as a client would.
fn wait_for_property(sim: &Sim, vm: &str, prop: &str) {
    for _ in 0..100 {
        if sim
            .ok(&["guestproperty", "get", vm, prop])
            .stdout
            .starts_with("Value: ")
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{prop} never appeared");
}

#[test]
fn import_snapshot_two_linked_clones() {
    let sim = Sim::new("state-clones");
    let ova = sim.ova("deb", 2);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "master"]);
    let r = sim.ok(&[
        "snapshot",
        "master",
        "take",
        "base",
        "--description",
        "golden",
    ]);
    assert!(r.stdout.starts_with("Snapshot taken. UUID: "));
    let r = sim.ok(&["snapshot", "master", "list", "--machinereadable"]);
    assert!(r.stdout.contains("SnapshotName=\"base\"\nSnapshotUUID=\""));
    assert!(
        r.stdout
            .contains("SnapshotDescription=\"golden\"\nCurrentSnapshotName=\"base\"\n")
    );
    let r = sim.vbm(&[
        "clonevm",
        "master",
        "--options",
        "link",
        "--name",
        "nolink",
        "--register",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .starts_with("VBoxManage: error: Linked clone can only be created from a snapshot\n")
    );
    let web1_uuid = "6f0a5c1e-1111-4b1e-8f0e-3d4c5b6a7980";
    let r = sim.ok(&[
        "clonevm",
        "master",
        "--snapshot",
        "base",
        "--options",
        "link",
        "--name",
        "web1",
        "--uuid",
        web1_uuid,
        "--register",
        "--groups",
        "/labctl/lab",
    ]);
    assert_eq!(
        r.stdout,
        "Machine has been successfully cloned as \"web1\"\n"
    );
    sim.ok(&[
        "clonevm",
        "master",
        "--snapshot",
        "base",
        "--options=link",
        "--name=web2",
        "--register",
    ]);
    sim.ok(&[
        "clonevm",
        "master",
        "--snapshot",
        "base",
        "--options",
        "link",
        "--name",
        "orphan",
    ]);
    let list = sim.ok(&["list", "vms"]).stdout;
    assert!(list.contains(&format!("\"web1\" {{{web1_uuid}}}\n")));
    assert!(list.contains("\"web2\" {"));
    assert!(
        !list.contains("orphan"),
        "without --register a clone is not registered"
    );
    let (a, b, m) = (sim.info("web1"), sim.info(web1_uuid), sim.info("master"));
    assert_eq!(a["name"], b["name"], "lookup by UUID and by name agree");
    let c = sim.info("web2");
    assert_ne!(a["UUID"], c["UUID"]);
    for n in ["1", "2"] {
        let key = format!("macaddress{n}");
        assert_ne!(a[&key], c[&key]);
        assert_ne!(a[&key], m[&key]);
    }
    assert_eq!(a["groups"], "/labctl/lab");
    assert!(
        a["SATA-0-0"].contains("/web1/Snapshots/{"),
        "differencing disk in the clone's Snapshots folder"
    );
    let r = sim.vbm(&["snapshot", "master", "delete", "base"]);
    assert_eq!(r.code, 1, "the snapshot linked clones stand on cannot go");
    let web1_dir = sim.machines().join("web1");
    assert!(web1_dir.join("web1.vbox").exists());
    sim.ok(&["unregistervm", "web1", "--delete"]);
    assert!(
        !web1_dir.exists(),
        "unregistervm --delete removes the VM folder"
    );
    assert!(
        sim.machines().join("master").exists(),
        "the master's base disk stays"
    );
    let r = sim.vbm(&["showvminfo", "web1"]);
    assert_eq!(r.code, 1);
}

#[test]
fn locks_while_running_and_after_poweroff() {
    let mut sim = Sim::new("state-locks");
    sim.extra_env
        .push(("VBOXSIM_LOCK_GRACE_MS".into(), "800".into()));
    let ova = sim.ova_with_additions("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    let r = sim.ok(&["startvm", "vm1", "--type", "headless"]);
    assert_eq!(
        r.stdout,
        "Waiting for VM \"vm1\" to power on...\nVM \"vm1\" has been successfully started.\n"
    );
    let info = sim.info("vm1");
    assert_eq!(info["VMState"], "running");
    assert_eq!(info["SessionName"], "headless");
    assert_eq!(sim.ok(&["list", "runningvms"]).stdout.lines().count(), 1);
    let r = sim.vbm(&["modifyvm", "vm1", "--memory", "2048"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "VBoxManage: error: The machine 'vm1' is already locked for a session (or being unlocked)\n\
         VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n\
         VBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 640 of file VBoxManageModifyVM.cpp\n"
    );
    let r = sim.vbm(&["startvm", "vm1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("is already locked by a session (or being locked or unlocked)")
    );
    let r = sim.vbm(&["unregistervm", "vm1"]);
    assert!(r.stderr.starts_with(
        "VBoxManage: error: Cannot unregister the machine 'vm1' while it is locked\n"
    ));
    sim.ok(&["setextradata", "vm1", "labctl/owner", "labctl"]);
    assert_eq!(
        sim.ok(&["getextradata", "vm1", "labctl/owner"]).stdout,
        "Value: labctl\n"
    );
    wait_for_property(&sim, "vm1", "/VirtualBox/GuestAdd/Version");
    assert_eq!(
        sim.ok(&[
            "guestproperty",
            "get",
            "vm1",
            "/VirtualBox/GuestAdd/Version"
        ])
        .stdout,
        "Value: 7.0.20\n"
    );
    sim.ok(&["controlvm", "vm1", "poweroff"]);
    let info = sim.info("vm1");
    assert_eq!(info["VMState"], "poweroff");
    assert!(!info.contains_key("SessionName"));
    let r = sim.vbm(&["modifyvm", "vm1", "--memory", "2048"]);
    assert_eq!(r.code, 1, "the lock lingers right after poweroff");
    std::thread::sleep(std::time::Duration::from_millis(900));
    sim.ok(&["modifyvm", "vm1", "--memory", "2048"]);
    let r = sim.vbm(&["controlvm", "vm1", "poweroff"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "VBoxManage: error: Machine 'vm1' is not currently running.\n"
        )
    );
    assert_eq!(
        sim.ok(&[
            "guestproperty",
            "get",
            "vm1",
            "/VirtualBox/GuestInfo/Net/0/V4/IP"
        ])
        .stdout,
        "Value: 10.0.2.15\n",
        "stale after a hard power-off"
    );
}

#[test]
fn aborted_when_the_vm_process_dies() {
    let sim = Sim::new("state-aborted");
    let ova = sim.ova_with_additions("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    sim.ok(&["startvm", "vm1", "--type", "headless"]);
    common::kill_vm_processes(&sim.vbox_home().join("vboxsim-state.json"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(sim.info("vm1")["VMState"], "aborted");
    sim.ok(&["startvm", "vm1", "--type", "headless"]);
    wait_for_property(&sim, "vm1", "/VirtualBox/GuestInfo/Net/0/V4/IP");
    sim.ok(&["controlvm", "vm1", "acpipowerbutton"]);
    for _ in 0..50 {
        if sim.info("vm1")["VMState"] == "poweroff" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(sim.info("vm1")["VMState"], "poweroff");
    assert_eq!(
        sim.ok(&[
            "guestproperty",
            "get",
            "vm1",
            "/VirtualBox/GuestInfo/Net/0/V4/IP"
        ])
        .stdout,
        "No value set!\n",
        "a clean shutdown retracts Net/*"
    );
}

#[test]
fn fault_injection_persists_across_processes() {
    let sim = Sim::new("state-faults");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    assert_eq!(sim.tool(&["fault", "lock-writes", "2"]).code, 0);
    assert_eq!(sim.vbm(&["modifyvm", "vm1", "--cpus", "2"]).code, 1);
    assert_eq!(sim.vbm(&["unregistervm", "vm1"]).code, 1);
    sim.ok(&["modifyvm", "vm1", "--cpus", "2"]);
    assert_eq!(sim.tool(&["fault", "startvm-fail", "1"]).code, 0);
    let r = sim.vbm(&["startvm", "vm1", "--type", "headless"]);
    assert_eq!(r.code, 1);
    // Reference §10.1: the waiting line on stdout, then the progress's error (no context line).
    assert_eq!(r.stdout, "Waiting for VM \"vm1\" to power on...\n");
    assert_eq!(
        r.stderr,
        "VBoxManage: error: The virtual machine 'vm1' has terminated unexpectedly during startup with exit code 1 (0x1)\n\
         VBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component MachineWrap, interface IMachine, callee nsISupports\n"
    );
    assert_eq!(sim.tool(&["fault", "startvm-exit1", "1"]).code, 0);
    let r = sim.vbm(&["startvm", "vm1", "--type", "headless"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("VM \"vm1\" has been successfully started.")
    );
    assert_eq!(sim.info("vm1")["VMState"], "running");
    sim.ok(&["controlvm", "vm1", "poweroff"]);
    assert_eq!(sim.tool(&["fault", "nonsense"]).code, 2);
}

#[test]
fn call_log_and_latency_model() {
    let mut sim = Sim::new("state-calllog");
    let log = sim.dir.join("calls.jsonl");
    sim.extra_env
        .push(("VBOXSIM_CALL_LOG".into(), log.display().to_string()));
    sim.ok(&["list", "vms"]);
    let _ = sim.vbm(&["showvminfo", "nope"]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["argv"], serde_json::json!(["list", "vms"]));
    assert_eq!(lines[1]["exit"], 1);
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    sim.extra_env
        .push(("VBOXSIM_TIME_SCALE".into(), "1".into()));
    let start = std::time::Instant::now();
    sim.ok(&["modifyvm", "vm1", "--cpus", "2"]);
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(190),
        "modifyvm takes about 0.2 s at scale 1"
    );
}

#[test]
fn dhcp_fixed_addresses_and_leases() {
    let sim = Sim::new("state-dhcp");
    let ova = sim.ova_with_additions("deb", 2);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    sim.ok(&["hostonlyif", "create"]);
    sim.ok(&["hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1"]);
    sim.ok(&[
        "dhcpserver",
        "add",
        "--interface",
        "vboxnet0",
        "--server-ip",
        "192.168.56.100",
        "--netmask",
        "255.255.255.0",
        "--lower-ip",
        "192.168.56.101",
        "--upper-ip",
        "192.168.56.254",
        "--enable",
    ]);
    sim.ok(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--vm",
        "vm1",
        "--nic",
        "1",
        "--fixed-address",
        "192.168.56.21",
    ]);
    sim.ok(&[
        "natnetwork",
        "add",
        "--netname",
        "labnet",
        "--network",
        "10.0.9.0/24",
        "--enable",
        "--dhcp",
        "on",
    ]);
    // NATNetwork::start makes the DHCP server object: before it, there is none to modify.
    let modify_natnet = [
        "dhcpserver",
        "modify",
        "--network",
        "labnet",
        "--lower-ip",
        "10.0.9.4",
    ];
    let r = sim.vbm(&modify_natnet);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "VBoxManage: error: DHCP server does not exist\n")
    );
    let r = sim.vbm(&["dhcpserver", "restart", "--network", "labnet"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "VBoxManage: error: Failed to find DHCP server for network 'labnet'\n"
        )
    );
    sim.ok(&["natnetwork", "start", "--netname", "labnet"]);
    let servers = sim.ok(&["list", "dhcpservers"]).stdout;
    assert!(
        servers.contains("NetworkName:    labnet\nDhcpd IP:       10.0.9.3\nLowerIPAddress: 10.0.9.4\nUpperIPAddress: 10.0.9.254"),
        "{servers}"
    );
    sim.ok(&modify_natnet);
    sim.ok(&["natnetwork", "stop", "--netname", "labnet"]);
    // A host-only server that never ran: restart refuses, stop is silent.
    let r = sim.vbm(&["dhcpserver", "restart", "--interface", "vboxnet0"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "VBoxManage: error: Failed to restart the server\n\
             VBoxManage: error: not running\n\
             VBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component DHCPServerWrap, interface IDHCPServer, callee nsISupports\n"
        )
    );
    sim.ok(&["dhcpserver", "stop", "--interface", "vboxnet0"]);
    sim.ok(&[
        "modifyvm",
        "vm1",
        "--nic1",
        "hostonly",
        "--hostonlyadapter1",
        "vboxnet0",
        "--nic2",
        "natnetwork",
        "--nat-network2",
        "labnet",
    ]);
    let mac2 = sim.info("vm1")["macaddress2"].clone();
    sim.ok(&[
        "dhcpserver",
        "modify",
        "--network",
        "labnet",
        "--mac-address",
        &mac2,
        "--fixed-address",
        "10.0.9.22",
    ]);
    sim.ok(&["startvm", "vm1", "--type", "headless"]);
    wait_for_property(&sim, "vm1", "/VirtualBox/GuestInfo/Net/Count");
    let get = |p: &str| sim.ok(&["guestproperty", "get", "vm1", p]).stdout;
    assert_eq!(
        get("/VirtualBox/GuestInfo/Net/0/V4/IP"),
        "Value: 192.168.56.21\n"
    );
    assert_eq!(
        get("/VirtualBox/GuestInfo/Net/1/V4/IP"),
        "Value: 10.0.9.22\n"
    );
    assert_eq!(get("/VirtualBox/GuestInfo/Net/Count"), "Value: 2\n");
    assert_eq!(
        get("/VirtualBox/GuestInfo/Net/1/MAC"),
        format!("Value: {mac2}\n")
    );
    // The VM's power-up started both servers: a second start is refused, restart works.
    let r = sim.vbm(&["dhcpserver", "start", "--interface", "vboxnet0"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with(
            "VBoxManage: error: Failed to start the server\n\
             VBoxManage: error: Cannot start DHCP server because it is already running (pid "
        ),
        "{}",
        r.stderr
    );
    sim.ok(&["dhcpserver", "restart", "--interface", "vboxnet0"]);
    // No server answered on a wire here (no world): no lease database was ever written.
    let r = sim.vbm(&[
        "dhcpserver",
        "findlease",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &sim.info("vm1")["macaddress1"],
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("HostInterfaceNetworking-vboxnet0-Dhcpd.leases' failed: VERR_FILE_NOT_FOUND"),
        "{}",
        r.stderr
    );
    sim.ok(&["controlvm", "vm1", "poweroff"]);
}

#[test]
fn concurrent_processes_never_corrupt_the_state() {
    let sim = Sim::new("state-concurrent");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "master"]);
    sim.ok(&["snapshot", "master", "take", "base"]);
    let children: Vec<_> = (0..8)
        .map(|i| {
            sim.command("VBoxManage")
                .args([
                    "clonevm",
                    "master",
                    "--snapshot",
                    "base",
                    "--options",
                    "link",
                    "--name",
                    &format!("c{i}"),
                    "--register",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let setters: Vec<_> = (0..8)
        .map(|i| {
            sim.command("VBoxManage")
                .args(["setextradata", "master", &format!("k{i}"), "v"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children.into_iter().chain(setters) {
        assert!(c.wait().unwrap().success());
    }
    let list = sim.ok(&["list", "vms"]).stdout;
    assert_eq!(list.lines().count(), 9, "{list}");
    let extra = sim.ok(&["getextradata", "master", "enumerate"]).stdout;
    assert_eq!(extra.lines().count(), 8);
    assert!(sim.state_json()["machines"].is_array());
    assert!(
        !std::fs::read_dir(sim.vbox_home()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn killed_writer_leaves_a_consistent_state() {
    let sim = Sim::new("state-sigkill");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "master"]);
    sim.ok(&["snapshot", "master", "take", "base"]);
    for i in 0..10 {
        let mut child = sim
            .command("VBoxManage")
            .env("VBOXSIM_TIME_SCALE", "0.05")
            .args([
                "clonevm",
                "master",
                "--snapshot",
                "base",
                "--options",
                "link",
                "--name",
                &format!("k{i}"),
                "--register",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5 * i));
        let _ = child.kill();
        let _ = child.wait();
        let r = sim.ok(&["list", "vms"]);
        assert!(r.stdout.lines().all(|l| l.starts_with('"')));
    }
    assert!(Path::new(&sim.vbox_home().join("vboxsim-state.json")).exists());
}

#[test]
fn real_guests_refuse_to_start_outside_a_world() {
    let mut sim = Sim::new("state-noworld");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    sim.extra_env
        .push(("VBOXSIM_GUEST".into(), "namespace".into()));
    let r = sim.vbm(&["startvm", "vm1", "--type", "headless"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("has terminated unexpectedly during startup"),
        "{}",
        r.stderr
    );
    let log = std::fs::read_to_string(sim.machines().join("vm1/Logs/VBox.log")).unwrap();
    assert!(log.contains("real guests run only inside a world"), "{log}");
    assert_eq!(sim.info("vm1")["VMState"], "poweroff");
}

#[test]
fn make_ova_keeps_secrets_out_of_clear_text() {
    let sim = Sim::new("state-ova-secrets");
    let out = sim.dir.join("s.ova");
    let r = sim.tool(&[
        "make-ova",
        "--out",
        out.to_str().unwrap(),
        "--user",
        "student",
        "--password",
        "Sup3rSecret!",
        "--name",
        "s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("Sup3rSecret!"),
        "the password never appears in clear"
    );
    assert!(
        text.contains("\"$6$"),
        "a SHA-512 crypt hash is carried on the disk"
    );
    assert!(text.starts_with("s.ovf"), "the OVF comes first in the tar");
    assert!(
        text.contains("ovf:key=\"vboxsim.login.user\"") && text.contains("ovf:value=\"student\"")
    );
    let key = sim.dir.join("k");
    std::fs::write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n").unwrap();
    let r = sim.tool(&[
        "make-ova",
        "--out",
        "x.ova",
        "--user",
        "student",
        "--authorized-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "a private key is refused");
    let r = sim.tool(&[
        "make-ova",
        "--out",
        "x.ova",
        "--user",
        "Bad User",
        "--password",
        "x",
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn missing_settings_file_makes_the_vm_inaccessible() {
    let sim = Sim::new("state-inaccessible");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    let uuid = sim.info("vm1")["UUID"].clone();
    std::fs::remove_file(sim.machines().join("vm1/vm1.vbox")).unwrap();
    assert_eq!(
        sim.ok(&["list", "vms"]).stdout,
        format!("\"<inaccessible>\" {{{uuid}}}\n")
    );
    assert_eq!(
        sim.ok(&["showvminfo", &uuid, "--machinereadable"]).stdout,
        format!("name=\"<inaccessible>\"\nUUID=\"{uuid}\"\n")
    );
}

#[test]
fn registry_changes_are_serialised_but_do_not_block_other_commands() {
    let mut sim = Sim::new("state-vboxsvc");
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "master"]);
    sim.ok(&["snapshot", "master", "take", "base"]);
    sim.extra_env
        .push(("VBOXSIM_TIME_SCALE".into(), "0.4".into()));
    let start = std::time::Instant::now();
    let clones: Vec<_> = (0..2)
        .map(|i| {
            sim.command("VBoxManage")
                .args([
                    "clonevm",
                    "master",
                    "--snapshot",
                    "base",
                    "--options",
                    "link",
                    "--name",
                    &format!("p{i}"),
                    "--register",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let m = std::time::Instant::now();
    sim.ok(&["modifyvm", "master", "--cpus", "2"]);
    assert!(
        m.elapsed() < std::time::Duration::from_millis(450),
        "modifyvm does not wait for clones: {:?}",
        m.elapsed()
    );
    for mut c in clones {
        assert!(c.wait().unwrap().success());
    }
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(1150),
        "two linked clones (0.6 s each) ran one after another: {:?}",
        start.elapsed()
    );
}
