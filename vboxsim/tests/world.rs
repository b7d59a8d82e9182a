//! End-to-end tests in fresh worlds, driving only the `VBoxManage` CLI the way a VirtualBox user
//! would: real guests, real sshd, real packets. Needs root and the guest tools (scripts/setup);
//! without them these tests fail with a message saying what to install.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::test_world::TestWorld;

fn setup_networks(w: &TestWorld) {
    assert_eq!(
        w.vbm(&["hostonlyif", "create"]),
        "Interface 'vboxnet0' was successfully created\n"
    );
    w.vbm(&[
        "hostonlyif",
        "ipconfig",
        "vboxnet0",
        "--ip",
        "192.168.56.1",
        "--netmask",
        "255.255.255.0",
    ]);
    w.vbm(&[
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
    w.vbm(&[
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
    let out = w.exec(&["ip", "-br", "addr", "show", "vboxnet0"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("192.168.56.1/24"),
        "vboxnet0 carries the host address"
    );
}

/// Reserves `ip` for adapter 1 of `vm` on vboxnet0's DHCP server, boots the VM and waits for
/// its sshd there.
fn boot_with_reservation(w: &TestWorld, vm: &str, ip: &str) {
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--vm",
        vm,
        "--nic",
        "1",
        "--fixed-address",
        ip,
    ]);
    w.vbm(&["startvm", vm, "--type", "headless"]);
    w.wait_ssh("22", ip);
}

/// An appliance of the default (`course`) flavour, with `extra` options of make-ova.
fn make_ova(w: &TestWorld, extra: &[&str]) -> String {
    let ova = w.root.join("deb.ova");
    let pubkey = format!("{}.pub", w.key.display());
    let mut args = vec![
        "make-ova",
        "--out",
        ova.to_str().unwrap(),
        "--user",
        "student",
        "--authorized-key",
        &pubkey,
        "--name",
        "deb",
        "--nics",
        "1",
    ];
    args.extend_from_slice(extra);
    let out = w.tool(&args);
    assert!(
        out.status.success(),
        "make-ova: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ova.display().to_string()
}

#[test]
fn lab_in_a_fresh_world() {
    let w = TestWorld::new("lab");
    setup_networks(&w);
    let ova = make_ova(&w, &[]);
    w.linked_clones(&ova, &["web1", "web2"]);
    for vm in ["web1", "web2"] {
        w.vbm(&[
            "modifyvm",
            vm,
            "--nic1",
            "hostonly",
            "--hostonlyadapter1",
            "vboxnet0",
            "--nic2",
            "natnetwork",
            "--nat-network2",
            "labnet",
            "--nic3",
            "nat",
        ]);
    }
    w.vbm(&["modifyvm", "web1", "--natpf3", "ssh,tcp,127.0.0.1,2222,,22"]);
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--vm",
        "web1",
        "--nic",
        "1",
        "--fixed-address",
        "192.168.56.21",
    ]);
    let mac2 = w
        .vbm(&["showvminfo", "web2", "--machinereadable"])
        .lines()
        .find_map(|l| {
            l.strip_prefix("macaddress1=\"")
                .map(|m| m.trim_end_matches('"').to_string())
        })
        .unwrap();
    let mac1 = w
        .vbm(&["showvminfo", "web1", "--machinereadable"])
        .lines()
        .find_map(|l| {
            l.strip_prefix("macaddress1=\"")
                .map(|m| m.trim_end_matches('"').to_string())
        })
        .unwrap();
    assert_ne!(mac1, mac2, "linked clones get fresh MACs");
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &mac2,
        "--fixed-address",
        "192.168.56.22",
    ]);
    w.vbm(&["startvm", "web1", "--type", "headless"]);
    w.vbm(&["startvm", "web2", "--type", "headless"]);
    w.wait_ssh("22", "192.168.56.21");
    w.wait_ssh("22", "192.168.56.22");
    assert_eq!(
        w.ssh_ok("192.168.56.21", "hostname"),
        "debian",
        "the appliance keeps its own host name"
    );
    let link = w.ssh_ok("192.168.56.22", "cat /sys/class/net/eth0/address");
    assert_eq!(
        link.replace(':', "").to_uppercase(),
        mac2,
        "the guest NIC carries the MAC showvminfo shows"
    );
    for target in ["192.168.56.21", "192.168.56.22"] {
        assert_eq!(
            w.ssh_ok(target, "ip -4 -o addr show eth1; ip -4 -o addr show eth2"),
            "",
            "the course appliance brings up eth0 only"
        );
        // Seed 003, step 5: the student adds the second NIC to the guest's configuration.
        w.ssh_ok(
            target,
            "printf 'auto eth1\\niface eth1 inet dhcp\\nauto eth2\\niface eth2 inet dhcp\\n' \
             | sudo tee /etc/network/interfaces.d/lab >/dev/null && sudo ifup eth1 && sudo ifup eth2",
        );
    }
    let natnet_ip2 = w.ssh_ok(
        "192.168.56.22",
        "ip -4 -o addr show eth1 | awk '{print $4}' | cut -d/ -f1",
    );
    assert!(
        natnet_ip2.starts_with("10.0.9."),
        "NAT network address from its DHCP server: {natnet_ip2}"
    );
    w.ssh_ok("192.168.56.21", "ping -c1 -W2 192.168.56.22");
    w.ssh_ok("192.168.56.21", &format!("ping -c1 -W2 {natnet_ip2}"));
    w.ssh_ok("192.168.56.21", "ping -c1 -W2 10.0.2.2");
    w.ssh_ok(
        "192.168.56.21",
        "echo secret-of-web1 > /home/student/mine.txt && sudo touch /usr/local/web1-was-here",
    );
    let absent = w.ssh(
        "22",
        "192.168.56.22",
        "test -e /home/student/mine.txt || test -e /usr/local/web1-was-here",
    );
    assert!(
        !absent.status.success(),
        "web1's files are invisible in web2"
    );
    assert!(
        !Path::new("/usr/local/web1-was-here").exists(),
        "and on the host"
    );
    w.ssh_ok(
        "192.168.56.21",
        "sudo systemctl start nginx && systemctl is-active nginx",
    );
    let code = w.exec(&[
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
        "http://192.168.56.21/",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&code.stdout),
        "200",
        "nginx started by systemctl answers over the network"
    );
    let haproxy = w.ssh_ok("192.168.56.22", "sudo apt-get install -y haproxy >/dev/null && sudo systemctl restart haproxy && sudo systemctl is-active haproxy");
    assert_eq!(
        haproxy, "active",
        "Debian's haproxy.service runs under the systemctl replacement"
    );
    let closed = w.exec(&["curl", "-s", "--max-time", "3", "http://192.168.56.22/"]);
    assert!(!closed.status.success(), "web2 runs no nginx");
    let via_nat = w.ssh("2222", "127.0.0.1", "cat /sys/class/net/eth0/address");
    assert_eq!(
        String::from_utf8_lossy(&via_nat.stdout)
            .trim()
            .replace(':', "")
            .to_uppercase(),
        mac1,
        "NAT port forward reaches web1's sshd"
    );
    let k1 = w.host_key("192.168.56.21");
    let k2 = w.host_key("192.168.56.22");
    assert!(!k1.is_empty() && k1 != k2, "each VM has its own host key");
    let host_key = std::fs::read_to_string("/etc/ssh/ssh_host_ed25519_key.pub").unwrap_or_default();
    assert!(!host_key.contains(&k1), "the host's key is never reused");
    let booted = w.ssh_ok("192.168.56.21", "cut -d\" \" -f22 /proc/1/stat");
    w.vbm(&["controlvm", "web1", "reset"]);
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "web1 comes back after reset"
        );
        let now = w.ssh("22", "192.168.56.21", "cut -d\" \" -f22 /proc/1/stat");
        if now.status.success() && String::from_utf8_lossy(&now.stdout).trim() != booted {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        w.host_key("192.168.56.21"),
        k1,
        "host keys survive a reboot"
    );
    assert_eq!(
        w.ssh_ok("192.168.56.21", "cat /home/student/mine.txt"),
        "secret-of-web1",
        "the disk survives a reboot"
    );
    let ip_prop = w.vbm(&[
        "guestproperty",
        "get",
        "web2",
        "/VirtualBox/GuestInfo/Net/0/V4/IP",
    ]);
    assert_eq!(
        ip_prop, "No value set!\n",
        "no Guest Additions in the course appliance"
    );
    w.vbm(&["controlvm", "web1", "poweroff"]);
    w.vbm(&["controlvm", "web2", "acpipowerbutton"]);
    let start = Instant::now();
    while !w
        .vbm(&["showvminfo", "web2", "--machinereadable"])
        .contains("VMState=\"poweroff\"")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "ACPI shutdown finishes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(400));
    let web1_dir = w.root.join(format!("worlds/{}/machines/web1", w.name));
    assert!(web1_dir.exists());
    w.vbm(&["unregistervm", "web1", "--delete"]);
    assert!(
        !web1_dir.exists(),
        "unregistervm --delete removes the VM's layers and folder"
    );
    let out = w.tool(&["world", "destroy", &w.name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!w.netns_exists(), "no stray namespace");
    assert!(
        !w.root.join("worlds").join(&w.name).exists(),
        "no stray state"
    );
    let leftovers = Command::new("pgrep")
        .args(["-f", &w.root.display().to_string()])
        .output()
        .unwrap();
    assert!(
        leftovers.stdout.is_empty(),
        "no stray process: {}",
        String::from_utf8_lossy(&leftovers.stdout)
    );
}

#[test]
fn two_worlds_side_by_side() {
    let a = TestWorld::new("a");
    let b = TestWorld::new("b");
    for (w, name) in [(&a, "alpha"), (&b, "beta")] {
        assert_eq!(
            w.vbm(&["hostonlyif", "create"]),
            "Interface 'vboxnet0' was successfully created\n"
        );
        w.vbm(&["hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1"]);
        w.vbm(&[
            "dhcpserver",
            "add",
            "--interface",
            "vboxnet0",
            "--server-ip",
            "192.168.56.100",
            "--netmask",
            "255.255.255.0",
            "--lower-ip",
            "192.168.56.10",
            "--upper-ip",
            "192.168.56.20",
            "--enable",
        ]);
        let ova = make_ova(w, &[]);
        w.vbm(&["import", &ova, "--vsys", "0", "--vmname", name]);
        w.vbm(&[
            "modifyvm",
            name,
            "--nic1",
            "hostonly",
            "--hostonlyadapter1",
            "vboxnet0",
        ]);
        w.vbm(&["startvm", name, "--type", "headless"]);
    }
    for (w, name, other) in [(&a, "alpha", "beta"), (&b, "beta", "alpha")] {
        w.wait_ssh("22", "192.168.56.10");
        assert_eq!(
            w.ssh_ok("192.168.56.10", "cat /sys/class/net/eth0/address")
                .replace(':', "")
                .to_uppercase(),
            w.mac(name, 1),
            "each world reaches its own VM at the same address"
        );
        let list = w.vbm(&["list", "vms"]);
        assert!(
            list.contains(name) && !list.contains(other),
            "a world sees only its VMs: {list}"
        );
    }
    let host = Command::new("ip").args(["-br", "addr"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&host.stdout).contains("192.168.56."),
        "nothing leaks onto the real host"
    );
    let status = a.exec(&[
        "sh",
        "-c",
        "test \"$VBOXSIM_WORLD\" = \"$0\" && exit 7",
        &a.name,
    ]);
    assert_eq!(
        status.status.code(),
        Some(7),
        "world exec exits with the command's status, in the world's env"
    );
    let listed = String::from_utf8_lossy(&a.tool(&["world", "list"]).stdout).to_string();
    assert!(listed.contains(&a.name));
    let again = a.tool(&["world", "create", &a.name]);
    assert!(
        !again.status.success(),
        "creating an existing world fails without --replace"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    let mut vm_process = 0u32;
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            b.root
                .join(format!("worlds/{}/vbox-home/vboxsim-state.json", b.name)),
        )
        .unwrap(),
    )
    .unwrap();
    if let Some(pid) = state["machines"][0]["session"]["pid"].as_u64() {
        vm_process = pid as u32;
    }
    assert!(vm_process > 0);
    // A world whose VM process was SIGKILLed halfway still tears down cleanly.
    // SAFETY: the VM process this test's world started.
    unsafe {
        libc::kill(vm_process as i32, libc::SIGKILL);
    }
    let out = b.tool(&["world", "destroy", &b.name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!b.netns_exists());
    assert!(
        a.netns_exists(),
        "destroying one world leaves the other alone"
    );
    assert_eq!(
        a.ssh_ok("192.168.56.10", "cat /sys/class/net/eth0/address")
            .replace(':', "")
            .to_uppercase(),
        a.mac("alpha", 1)
    );
}

#[test]
fn guest_without_sshd_boots_but_is_unreachable() {
    let w = TestWorld::new("nosshd");
    w.host_only_with_dhcp("192.168.56.30", "192.168.56.40");
    let ova = make_ova(&w, &["--guest-additions"]);
    w.vbm(&["import", &ova, "--vsys", "0", "--vmname", "mute"]);
    w.vbm(&[
        "modifyvm",
        "mute",
        "--nic1",
        "hostonly",
        "--hostonlyadapter1",
        "vboxnet0",
    ]);
    let out = w.exec(&["vboxsim", "fault", "no-sshd", "on"]);
    assert!(out.status.success());
    w.vbm(&["startvm", "mute", "--type", "headless"]);
    let start = Instant::now();
    while !w
        .vbm(&[
            "guestproperty",
            "get",
            "mute",
            "/VirtualBox/GuestInfo/Net/0/V4/IP",
        ])
        .starts_with("Value: 192.168.56.30")
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the guest reports in"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ping = w.exec(&["ping", "-c1", "-W2", "192.168.56.30"]);
    assert!(ping.status.success(), "the guest is up on the network");
    assert!(
        !w.ssh("22", "192.168.56.30", "true").status.success(),
        "but nothing answers on port 22"
    );
}

/// An Ubuntu appliance in a world: NICs named from VirtualBox's PCI slots, no ifupdown, netplan
/// with `enp0s3` only, rendered for systemd-networkd at boot; `netplan apply` (the real one)
/// after adding configuration brings the next NIC up by DHCP.
#[test]
fn an_ubuntu_guest_configures_enp0s3_only_and_netplan_apply_brings_up_the_next() {
    let w = TestWorld::new("ubuntu");
    w.host_only_with_dhcp("192.168.56.101", "192.168.56.254");
    // Adapter 3 on a network of its own, as a lab's second network is: two NICs of one guest
    // on one subnet answer each other's ARP and share routes, which is not what this tests.
    w.vbm(&["hostonlyif", "create"]);
    w.vbm(&["hostonlyif", "ipconfig", "vboxnet1", "--ip", "192.168.57.1"]);
    w.vbm(&[
        "dhcpserver",
        "add",
        "--interface",
        "vboxnet1",
        "--server-ip",
        "192.168.57.100",
        "--netmask",
        "255.255.255.0",
        "--lower-ip",
        "192.168.57.101",
        "--upper-ip",
        "192.168.57.254",
        "--enable",
    ]);
    let ova = make_ova(&w, &["--flavour", "ubuntu"]);
    w.linked_clones(&ova, &["u1"]);
    w.vbm(&[
        "modifyvm",
        "u1",
        "--nic1",
        "hostonly",
        "--hostonlyadapter1",
        "vboxnet0",
        "--nic3",
        "hostonly",
        "--hostonlyadapter3",
        "vboxnet1",
    ]);
    boot_with_reservation(&w, "u1", "192.168.56.21");
    assert_eq!(
        w.ssh_ok("192.168.56.21", "ls /sys/class/net | sort | tr '\\n' ' '"),
        "enp0s3 enp0s9 lo",
        "adapter 3 sits in PCI slot 9 whatever adapter 2 is"
    );
    assert_eq!(
        w.ssh_ok(
            "192.168.56.21",
            "hostname; test -e /etc/network/interfaces || echo no-interfaces; command -v ifup || echo no-ifup"
        ),
        "ubuntu\nno-interfaces\nno-ifup"
    );
    assert_eq!(
        w.ssh_ok("192.168.56.21", "ip -4 -o addr show enp0s9"),
        "",
        "NIC 3 has no address until netplan says so"
    );
    // `netplan apply` ends with `networkctl reconfigure` of every networkd link, enp0s3 too: its
    // lease is dropped and taken again under the SSH session running the command, as on a real
    // Ubuntu guest. So it runs detached, and its result is read over new sessions.
    w.ssh_ok(
        "192.168.56.21",
        "printf 'network:\\n  version: 2\\n  ethernets:\\n    enp0s9:\\n      dhcp4: true\\n' | sudo tee /etc/netplan/60-enp0s9.yaml >/dev/null \
         && sudo chmod 600 /etc/netplan/60-enp0s9.yaml \
         && sudo setsid -f sh -c 'netplan apply >/run/apply.log 2>&1; echo $? >/run/apply.rc' </dev/null >/dev/null 2>&1",
    );
    let start = Instant::now();
    let (rc, enp0s9) = loop {
        let out = w.ssh(
            "22",
            "192.168.56.21",
            "echo \"rc=$(cat /run/apply.rc 2>/dev/null)\"; ip -4 -o addr show enp0s9 | awk '{print $4}'",
        );
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = stdout.lines();
        let rc = lines
            .next()
            .unwrap_or("rc=")
            .trim_start_matches("rc=")
            .to_string();
        let address = lines.next().unwrap_or("").to_string();
        if !rc.is_empty() && !address.is_empty() {
            break (rc, address);
        }
        if start.elapsed() > Duration::from_secs(90) {
            let log = w.ssh("22", "192.168.56.21", "cat /run/apply.log");
            let vbox_log = std::fs::read_to_string(
                w.root
                    .join("worlds")
                    .join(&w.name)
                    .join("machines/u1/Logs/VBox.log"),
            )
            .unwrap_or_default();
            panic!(
                "netplan apply (rc {rc:?}) left enp0s9 without an address after 90 s\n\
                 apply log:\n{}\nVBox.log:\n{vbox_log}",
                String::from_utf8_lossy(&log.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(rc, "0", "netplan apply");
    assert_eq!(enp0s9, "192.168.57.101/24", "by networkd's DHCP client");
    let networkctl = w.ssh_ok("192.168.56.21", "networkctl --no-pager --no-legend");
    assert!(
        networkctl
            .lines()
            .any(|l| l.contains("enp0s9") && l.contains("routable")),
        "{networkctl}"
    );
    // A pattern matching no unit in memory is nothing to do, not an unknown unit.
    w.ssh_ok(
        "192.168.56.21",
        "sudo systemctl stop 'netplan-wpa-*.service'",
    );
}

/// VirtualBox's DHCP servers on the wire, as a course appliance meets them: configuration read
/// when the server starts (a reservation made while it runs is handed out only after
/// `dhcpserver restart`), NICs the appliance does not configure stay down until the guest's own
/// configuration says otherwise, and power commands in the guest end (or restart) the VM.
#[test]
fn dhcp_and_power_as_virtualbox_runs_them() {
    let w = TestWorld::new("dhcp");
    w.host_only_with_dhcp("192.168.56.101", "192.168.56.254");
    let ova = make_ova(&w, &[]);
    w.linked_clones(&ova, &["c1", "c2"]);
    for vm in ["c1", "c2"] {
        w.vbm(&[
            "modifyvm",
            vm,
            "--nic1",
            "hostonly",
            "--hostonlyadapter1",
            "vboxnet0",
            "--nic2",
            "hostonly",
            "--hostonlyadapter2",
            "vboxnet0",
        ]);
    }
    boot_with_reservation(&w, "c1", "192.168.56.21");
    assert_eq!(
        w.ssh_ok("192.168.56.21", "ip -4 -o addr show eth1"),
        "",
        "NIC 2 has no address until the guest's configuration says so"
    );
    let eth1 = w.ssh_ok(
        "192.168.56.21",
        "printf 'auto eth1\\niface eth1 inet dhcp\\n' | sudo tee /etc/network/interfaces.d/eth1 >/dev/null \
         && sudo ifup eth1 >/dev/null 2>&1; ip -4 -o addr show eth1 | awk '{print $4}'",
    );
    assert_eq!(
        eth1, "192.168.56.101/24",
        "the first free address of the pool"
    );
    let lease = w.vbm(&[
        "dhcpserver",
        "findlease",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &w.mac("c1", 2),
    ]);
    assert!(
        lease.starts_with("IP Address:  192.168.56.101\nMAC Address: "),
        "findlease answers from the lease database: {lease}"
    );
    assert!(lease.contains("State:       acked\n"), "{lease}");
    assert!(
        lease.contains("TTL:         600 sec, currently "),
        "{lease}"
    );

    // A reservation added while the server runs does not reach it.
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--vm",
        "c2",
        "--nic",
        "1",
        "--fixed-address",
        "192.168.56.22",
    ]);
    w.vbm(&["startvm", "c2", "--type", "headless"]);
    w.wait_ssh("22", "192.168.56.102");
    assert!(
        !w.exec(&["ping", "-c1", "-W1", "192.168.56.22"])
            .status
            .success(),
        "the running server never heard of the reservation"
    );
    let restarted = w.exec(&[
        "VBoxManage",
        "dhcpserver",
        "start",
        "--interface",
        "vboxnet0",
    ]);
    assert!(
        String::from_utf8_lossy(&restarted.stderr)
            .contains("Cannot start DHCP server because it is already running (pid "),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    w.vbm(&["dhcpserver", "restart", "--interface", "vboxnet0"]);
    // A reboot from inside the guest: its DHCP client now gets the reservation.
    let _ = w.ssh("22", "192.168.56.102", "sudo reboot");
    w.wait_ssh("22", "192.168.56.22");
    assert_eq!(w.vm_state("c2"), "running", "a reboot keeps the VM running");
    assert_eq!(
        w.ssh_ok(
            "192.168.56.21",
            "ip -4 -o addr show eth1 | awk '{print $4}'"
        ),
        "192.168.56.101/24",
        "a running guest keeps its lease across the restart"
    );

    // No Guest Additions: no addresses in the guest properties.
    assert_eq!(
        w.vbm(&[
            "guestproperty",
            "get",
            "c1",
            "/VirtualBox/GuestInfo/Net/Count"
        ]),
        "No value set!\n"
    );
    // Power commands in the guest power the VM off, as ACPI would.
    let _ = w.ssh("22", "192.168.56.22", "sudo systemctl poweroff");
    w.wait_state("c2", "poweroff", Duration::from_secs(20));
    let _ = w.ssh("22", "192.168.56.21", "sudo shutdown -h now");
    w.wait_state("c1", "poweroff", Duration::from_secs(20));
}

/// A reservation wins over a lease another MAC still holds on its address, as in VBoxNetDHCP
/// (fixed addresses enter its database first when it starts, Dhcpd/Db.cpp `Db::init`).
#[test]
fn a_reservation_wins_over_an_old_lease_of_its_address() {
    let w = TestWorld::new("resv");
    w.host_only_with_dhcp("192.168.56.101", "192.168.56.254");
    let ova = make_ova(&w, &[]);
    w.linked_clones(&ova, &["x", "y"]);
    for vm in ["x", "y"] {
        w.vbm(&[
            "modifyvm",
            vm,
            "--nic1",
            "hostonly",
            "--hostonlyadapter1",
            "vboxnet0",
        ]);
    }
    let (mx, my) = (w.mac("x", 1), w.mac("y", 1));
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &mx,
        "--fixed-address",
        "192.168.56.21",
    ]);
    w.vbm(&["startvm", "x", "--type", "headless"]);
    w.wait_ssh("22", "192.168.56.21");
    w.vbm(&["controlvm", "x", "poweroff"]);
    // The address goes to y; x's lease on it has not expired.
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &mx,
        "--remove-config",
    ]);
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--mac-address",
        &my,
        "--fixed-address",
        "192.168.56.21",
    ]);
    w.vbm(&["dhcpserver", "restart", "--interface", "vboxnet0"]);
    w.vbm(&["startvm", "y", "--type", "headless"]);
    w.wait_ssh("22", "192.168.56.21");
    assert_eq!(
        w.ssh_ok("192.168.56.21", "cat /sys/class/net/eth0/address")
            .replace(':', "")
            .to_uppercase(),
        my,
        "y holds the reserved address"
    );
}
