//! A real virtual machine behind VBoxManage: in a world made with `--vms qemu`, a real
//! appliance (`make-ova --real`: Debian's kernel, GRUB, systemd, ifupdown) is imported, cloned
//! as a linked clone, booted by QEMU, reached over SSH on a host-only network by the address
//! VirtualBox's DHCP server reserved for it, changed, paused and resumed, its cable pulled and
//! plugged, saved and resumed from its memory image, reset, powered off with the ACPI button,
//! booted again with its changes, and deleted. Needs root and scripts/setup (QEMU, debootstrap); the
//! first run builds the appliance's disk from Debian's archive and caches it.

mod common;

use std::time::{Duration, Instant};

use common::test_world::TestWorld;

fn wait_state(w: &TestWorld, vm: &str, state: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let info = w.vbm(&["showvminfo", vm, "--machinereadable"]);
        if info.contains(&format!("VMState=\"{state}\"")) {
            // VirtualBox releases the VM's session a moment after its state changes (vboxsim:
            // 300 ms); until then the VM is locked for startvm and unregistervm.
            std::thread::sleep(Duration::from_millis(400));
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{vm} is not {state} after {limit:?}:\n{info}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_real_appliance_boots_on_qemu_as_a_linked_clone_and_keeps_its_disk_across_an_acpi_shutdown() {
    if let Err(e) = vboxsim::vm::qemu::check_host() {
        panic!("{e}");
    }
    let w = TestWorld::create("qemu", &["--vms", "qemu"]);
    let ova = w.root.join("real.ova");
    let pubkey = format!("{}.pub", w.key.display());
    let started = Instant::now();
    let out = w.tool(&[
        "make-ova",
        "--real",
        "--out",
        ova.to_str().unwrap(),
        "--user",
        "student",
        "--authorized-key",
        &pubkey,
        "--name",
        "deb",
        "--memory",
        "512",
    ]);
    assert!(
        out.status.success(),
        "make-ova --real: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("real appliance ready in {:?}", started.elapsed());

    w.host_only_with_dhcp("192.168.56.101", "192.168.56.254");
    // A long name, as a lab's VMs have (`<lab>-<vm>`): the VM's folder is then deeper than a
    // UNIX socket's path may be (108 bytes), which QEMU's monitor must not depend on.
    let r1 = "r1-a-linked-clone-of-the-course-appliance-with-a-name-as-long-as-a-lab-gives";
    w.linked_clones(ova.to_str().unwrap(), &[r1]);
    w.vbm(&[
        "modifyvm",
        r1,
        "--nic1",
        "hostonly",
        "--hostonlyadapter1",
        "vboxnet0",
    ]);
    w.vbm(&[
        "dhcpserver",
        "modify",
        "--interface",
        "vboxnet0",
        "--vm",
        r1,
        "--nic",
        "1",
        "--fixed-address",
        "192.168.56.21",
    ]);
    let mac = w.mac(r1, 1);

    let boot = Instant::now();
    w.vbm(&["startvm", r1, "--type", "headless"]);
    w.wait_ssh_for("22", "192.168.56.21", Duration::from_secs(300));
    eprintln!("boot to SSH: {:?}", boot.elapsed());
    let host_kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let facts = w.ssh_ok(
        "192.168.56.21",
        "uname -r; hostname; cat /sys/class/net/eth0/address; systemd-detect-virt || true",
    );
    let facts: Vec<&str> = facts.lines().collect();
    assert!(
        facts[0].ends_with("-amd64") && facts[0] != host_kernel.trim(),
        "the appliance's own kernel runs, not this machine's: {facts:?}"
    );
    assert_eq!(facts[1], "debian", "the appliance keeps its own host name");
    assert_eq!(
        facts[2].replace(':', "").to_uppercase(),
        mac,
        "eth0 has adapter 1's MAC"
    );
    assert_eq!(facts[3], "qemu", "a real virtual machine: {facts:?}");
    assert!(
        !w.vbm(&["guestproperty", "enumerate", r1])
            .contains("/VirtualBox/GuestInfo/Net"),
        "no Guest Additions on the appliance, so nothing publishes its addresses"
    );
    // A provisioning step, as labctl runs one.
    w.ssh_ok(
        "192.168.56.21",
        "echo provisioned | sudo tee /etc/provisioned >/dev/null && sync",
    );

    // What only a running machine's memory holds: a file on tmpfs and the kernel's boot id.
    let boot_id = w.ssh_ok(
        "192.168.56.21",
        "echo in-memory > /dev/shm/marker && cat /proc/sys/kernel/random/boot_id",
    );
    let answers = |why: &str| {
        let out = w.ssh("22", "192.168.56.21", "true");
        eprintln!("{why}: ssh exit {:?}", out.status.code());
        out.status.success()
    };
    // Paused, the guest does not answer; resumed, it does.
    w.vbm(&["controlvm", r1, "pause"]);
    wait_state(&w, r1, "paused", Duration::from_secs(10));
    assert!(!answers("paused"), "a paused VM does not answer");
    w.vbm(&["controlvm", r1, "resume"]);
    wait_state(&w, r1, "running", Duration::from_secs(10));
    w.wait_ssh_for("22", "192.168.56.21", Duration::from_secs(60));
    // Its cable pulled, the NIC carries nothing; plugged back, it does.
    w.vbm(&["controlvm", r1, "setlinkstate1", "off"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !answers("cable out"),
        "a VM whose cable is out does not answer"
    );
    w.vbm(&["controlvm", r1, "setlinkstate1", "on"]);
    w.wait_ssh_for("22", "192.168.56.21", Duration::from_secs(60));
    // savestate writes the memory image VMStateFile names; the next start resumes from it
    // (same boot, tmpfs kept) and deletes it.
    let saving = Instant::now();
    w.vbm(&["controlvm", r1, "savestate"]);
    wait_state(&w, r1, "saved", Duration::from_secs(300));
    eprintln!("saved in {:?}", saving.elapsed());
    let info = w.vbm(&["showvminfo", r1, "--machinereadable"]);
    let state_file = info
        .lines()
        .find_map(|l| l.strip_prefix("VMStateFile="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("a saved VM names its state file:\n{info}"));
    let size = std::fs::metadata(&state_file).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 1 << 20,
        "{state_file} holds the memory image ({size} bytes)"
    );
    let restoring = Instant::now();
    w.vbm(&["startvm", r1, "--type", "headless"]);
    w.wait_ssh_for("22", "192.168.56.21", Duration::from_secs(120));
    eprintln!("resumed to SSH in {:?}", restoring.elapsed());
    assert_eq!(
        w.ssh_ok(
            "192.168.56.21",
            "cat /dev/shm/marker /proc/sys/kernel/random/boot_id"
        ),
        format!("in-memory\n{boot_id}"),
        "the VM resumed where it was saved"
    );
    assert!(
        !std::path::Path::new(&state_file).exists(),
        "the state file is spent once the VM resumed"
    );
    // reset: the same machine boots again (a new boot id, tmpfs empty).
    w.vbm(&["controlvm", r1, "reset"]);
    let start = Instant::now();
    loop {
        let out = w.ssh(
            "22",
            "192.168.56.21",
            "cat /proc/sys/kernel/random/boot_id; ls /dev/shm",
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && !text.starts_with(&boot_id) {
            assert!(!text.contains("marker"), "a reset loses the memory: {text}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no new boot within 5 minutes of reset"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    // An ACPI button pressed while the guest is still starting is lost (logind, which handles
    // it, is not up yet), on VirtualBox too: press it once the boot has finished.
    w.ssh_ok(
        "192.168.56.21",
        "timeout 120 systemctl is-system-running --wait || true",
    );

    w.vbm(&["controlvm", r1, "acpipowerbutton"]);
    wait_state(&w, r1, "poweroff", Duration::from_secs(120));

    w.vbm(&["startvm", r1, "--type", "headless"]);
    w.wait_ssh_for("22", "192.168.56.21", Duration::from_secs(300));
    assert_eq!(
        w.ssh_ok("192.168.56.21", "cat /etc/provisioned"),
        "provisioned",
        "the linked clone's differencing image keeps what was written"
    );
    w.vbm(&["controlvm", r1, "poweroff"]);
    wait_state(&w, r1, "poweroff", Duration::from_secs(30));
    let clone_dir = w
        .root
        .join("worlds")
        .join(&w.name)
        .join("machines")
        .join(r1);
    assert!(clone_dir.exists());
    w.vbm(&["unregistervm", r1, "--delete"]);
    assert!(
        !clone_dir.exists(),
        "the clone's folder and its differencing image are gone"
    );
}
