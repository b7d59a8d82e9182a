//! Golden tests: output and error texts pinned to the captured VirtualBox samples of the
//! reference (showvminfo §11.3, list formats §3, errors §1.5/§1.8/§1.9/§9), per emulated version.

mod common;

use std::collections::BTreeMap;

use common::Sim;
use vboxsim::commands::showvminfo::machine_readable;
use vboxsim::model::host::Host;
use vboxsim::model::machine::{Disk, Hardware, Machine, PowerState};
use vboxsim::model::nic::{Attachment, Nic};
use vboxsim::vbox::emulation::Family;

fn golden(version: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/golden/{version}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The VM of the reference's §11.3 capture (VirtualBox 7.0, powered off, one NAT NIC).
fn sample_machine() -> Machine {
    let dir = "/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean";
    let mut nics: Vec<Nic> = (0..8).map(|_| Nic::disabled()).collect();
    nics[0].attachment = Attachment::Nat;
    nics[0].mac = "08002744D7F6".into();
    let mut settings = BTreeMap::new();
    settings.insert("rtcuseutc".to_string(), "on".to_string());
    Machine {
        uuid: "19e117b3-06f4-4a1e-851d-47336ad6a142".into(),
        hardware_uuid: "19e117b3-06f4-4a1e-851d-47336ad6a142".into(),
        name: "manjaro-gnome-x64-full-clean".into(),
        groups: vec!["/".into()],
        description: "name1=value1\nname2=value2".into(),
        cfg_file: format!("{dir}/manjaro-gnome-x64-full-clean.vbox"),
        vm_dir: dir.into(),
        state: PowerState::PowerOff,
        state_change_ns: 1_675_649_927_191_000_000,
        hw: Hardware {
            ostype: "ArchLinux_64".into(),
            memory: 4096,
            cpus: 4,
            nics,
            settings,
        },
        disk: Some(Disk {
            file: format!("{dir}/manjaro-gnome-x64-full-clean-disk001.vdi"),
            uuid: "37a0bb6b-4292-464e-b766-1e8b7101ec94".into(),
            layers: vec![],
            owned: vec![],
            controller: "SATA".into(),
        }),
        snapshots: vec![],
        current_snapshot: None,
        extradata: BTreeMap::new(),
        guest_props: BTreeMap::new(),
        guest_props_deleted: BTreeMap::new(),
        session: None,
        lock_until_ms: 0,
        boot_id: 0,
        appliance_user: None,
        nic_leases: vec![],
        saved_state: None,
    }
}

#[test]
fn showvminfo_machinereadable_matches_capture_per_version() {
    for (family, dir) in [
        (Family::V7_0, "7.0"),
        (Family::V6_1, "6.1"),
        (Family::V7_1, "7.1"),
        (Family::V7_2, "7.2"),
    ] {
        let got = machine_readable(&sample_machine(), family, Host::Linux, "7.0.20", "163906");
        let want = golden(dir, "showvminfo-poweroff.txt");
        assert_eq!(got, want, "showvminfo --machinereadable for {dir}");
    }
}

/// The same VM on a Windows host: every path a drive-letter path with backslashes, escaped
/// (reference §11.3 `CfgFile`: "escaped backslashes on Windows").
#[test]
fn showvminfo_machinereadable_on_windows_prints_drive_letter_paths() {
    let mut m = sample_machine();
    let windows = |path: &mut String| *path = path.replace("/home/user/", "/Users/user/");
    windows(&mut m.cfg_file);
    windows(&mut m.vm_dir);
    if let Some(disk) = m.disk.as_mut() {
        windows(&mut disk.file);
    }
    let got = machine_readable(&m, Family::V7_1, Host::Windows, "7.1.4", "165100");
    assert_eq!(got, golden("7.1", "showvminfo-poweroff-windows.txt"));
}

#[test]
fn natnetwork_list_matches_capture() {
    let sim = Sim::new("golden-natnet");
    sim.ok(&[
        "natnetwork",
        "add",
        "--netname",
        "vm-net",
        "--network",
        "192.168.10.0/24",
        "--enable",
        "--dhcp",
        "off",
        "--port-forward-4",
        "ssh-to-storage-1:tcp:[]:3323:[192.168.10.23]:22",
        "--loopback-4",
        "127.0.0.1=2",
    ]);
    let r = sim.ok(&["natnetwork", "list"]);
    assert_eq!(r.stdout, golden("7.0", "natnetwork-list.txt"));
    assert_eq!(
        sim.ok(&["list", "--long", "natnets"]).stdout,
        golden("7.0", "natnetwork-list.txt")
    );
    // The short form (printNATNetwork with fLong false) has no Enabled line, no port forwards and
    // no loopback mappings.
    let r = sim.ok(&["list", "natnets"]);
    assert_eq!(
        r.stdout,
        golden("7.0", "natnetwork-list.txt")
            .replace("Enabled:      Yes\n", "")
            .replace(
                "Port-forwarding (ipv4)\n        ssh-to-storage-1:tcp:[]:3323:[192.168.10.23]:22\n",
                ""
            )
            .replace("loopback mappings (ipv4)\n        127.0.0.1=2\n", "")
    );
}

#[test]
fn list_natnets_61_matches_capture() {
    let sim = Sim::with_version("golden-natnet61", "6.1.50r161033");
    sim.ok(&[
        "natnetwork",
        "add",
        "--netname",
        "NatNetwork",
        "--network",
        "10.0.2.0/24",
        "--enable",
        "--dhcp",
        "on",
        "--loopback-4",
        "127.0.0.1=2",
    ]);
    assert_eq!(
        sim.ok(&["list", "natnets"]).stdout,
        golden("6.1", "list-natnets.txt")
    );
    // 6.1 does not know the 7.x aliases.
    let r = sim.vbm(&[
        "natnetwork",
        "add",
        "--netname",
        "x",
        "--ipv4-prefix",
        "10.0.3.0/24",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("VBoxManage: error: Unknown option: --ipv4-prefix"),
        "{}",
        r.stderr
    );
}

#[test]
fn list_dhcpservers_and_hostonlyifs_formats() {
    let sim = Sim::new("golden-dhcp");
    let r = sim.ok(&["hostonlyif", "create"]);
    assert_eq!(r.stdout, "Interface 'vboxnet0' was successfully created\n");
    assert!(
        r.stderr
            .starts_with("0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n")
    );
    sim.ok(&[
        "hostonlyif",
        "ipconfig",
        "vboxnet0",
        "--ip",
        "192.168.56.1",
        "--netmask",
        "255.255.255.0",
    ]);
    sim.ok(&[
        "dhcpserver",
        "add",
        "--ifname",
        "vboxnet0",
        "--ip",
        "192.168.56.100",
        "--netmask",
        "255.255.255.0",
        "--lowerip",
        "192.168.56.101",
        "--upperip",
        "192.168.56.254",
        "--enable",
    ]);
    assert_eq!(
        sim.ok(&["list", "dhcpservers"]).stdout,
        golden("7.0", "list-dhcpservers.txt")
    );
    assert_eq!(
        sim.ok(&["list", "hostonlyifs"]).stdout,
        golden("7.0", "list-hostonlyifs.txt")
    );
    let r = sim.vbm(&[
        "dhcpserver",
        "add",
        "--ifname",
        "vboxnet0",
        "--ip",
        "192.168.56.100",
        "--netmask",
        "255.255.255.0",
        "--lowerip",
        "192.168.56.101",
        "--upperip",
        "192.168.56.254",
        "--enable",
    ]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "VBoxManage: error: DHCP server already exists\n")
    );
}

#[test]
fn import_dry_run_per_version() {
    for (version, dir) in [("7.0.20r163906", "7.0"), ("6.1.50r161033", "6.1")] {
        let sim = Sim::with_version(&format!("golden-import-{dir}"), version);
        let ova = sim.ova("deb", 1);
        let r = sim.ok(&["import", &ova, "-n"]);
        let home = sim.home().display().to_string();
        assert_eq!(
            r.stdout.replace(&home, "/HOME"),
            golden(dir, "import-dry-run.txt"),
            "import -n for {dir}"
        );
        assert_eq!(
            r.stderr.replace(&sim.dir.display().to_string(), "/DIR"),
            "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\nInterpreting /DIR/deb.ova/deb.ovf...\nOK.\n"
        );
        let r = sim.ok(&[
            "import",
            &ova,
            "--vsys",
            "0",
            "--vmname",
            "lab-master",
            "--cpus",
            "1",
            "--memory",
            "2048",
        ]);
        assert!(
            r.stdout
                .contains(" 1: VM name specified with --vmname: \"lab-master\"\n"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout
                .contains(" 5: No. of CPUs specified with --cpus: 1\n")
        );
        assert!(
            r.stdout
                .contains(" 6: Guest memory specified with --memory: 2048 MB\n")
        );
        assert!(r.stdout.ends_with("Successfully imported the appliance.\n"));
    }
}

#[test]
fn error_shapes() {
    let sim = Sim::new("golden-errors");
    let r = sim.vbm(&["showvminfo", "lab-web1", "--machinereadable"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, golden("7.0", "error-not-found.txt"));
    let r = sim.vbm(&["showvminfo", "2c1b6a4e-4c2d-4f8e-9a51-0c5b8d2f1e77"]);
    assert!(r.stderr.starts_with("VBoxManage: error: Could not find a registered machine with UUID {2c1b6a4e-4c2d-4f8e-9a51-0c5b8d2f1e77}\n"));
    sim.ok(&["hostonlyif", "create"]);
    let r = sim.vbm(&[
        "hostonlyif",
        "ipconfig",
        "vboxnet0",
        "--ip",
        "10.10.10.1",
        "--netmask",
        "255.255.255.0",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\n\
         VBoxManage: error: Context: \"EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())\" at line 242 of file VBoxManageHostonly.cpp\n"
    );
    let r = sim.vbm(&["foo"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "VBoxManage: error: Invalid command 'foo'\n")
    );
    let r = sim.vbm(&[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("Oracle VM VirtualBox Command Line Management Interface Version 7.0.20\n")
    );
}

#[test]
fn hostonly_range_check_follows_the_version() {
    let sim = Sim::with_version("golden-range", "6.1.26r145957");
    sim.ok(&["hostonlyif", "create"]);
    sim.ok(&["hostonlyif", "ipconfig", "vboxnet0", "--ip", "10.10.10.1"]);
}

#[test]
fn hostonly_create_failure_fault() {
    let sim = Sim::new("golden-vboxnetctl");
    assert_eq!(sim.tool(&["fault", "hostonly-create-fail", "1"]).code, 0);
    let r = sim.vbm(&["hostonlyif", "create"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, golden("7.0", "error-hostonly-create.txt"));
    sim.ok(&["hostonlyif", "create"]);
}

#[test]
fn version_strings() {
    for v in ["7.0.20r163906", "6.1.50r161033", "7.1.4r165100"] {
        let sim = Sim::with_version("golden-version", v);
        assert_eq!(sim.ok(&["--version"]).stdout, format!("{v}\n"));
        assert_eq!(sim.ok(&["-q", "-v"]).stdout, format!("{v}\n"));
    }
}
