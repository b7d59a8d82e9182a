//! The hosts students have: VirtualBox 7 on macOS (host-only networks, no host-only
//! interfaces) and on Windows (adapter names, no allowed-range rule), against Linux.

mod common;

use common::Sim;

fn on(name: &str, host: &str) -> Sim {
    let mut sim = Sim::new(name);
    sim.extra_env.push(("VBOXSIM_HOST".into(), host.into()));
    sim
}

#[test]
fn macos_has_host_only_networks_and_no_host_only_interfaces() {
    let sim = on("host-macos", "macos");
    let r = sim.vbm(&["hostonlyif", "create"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "0%...\nProgress state: NS_ERROR_FAILURE\n\
         VBoxManage: error: Failed to create the host-only adapter\n\
         VBoxManage: error: VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory\n\
         VBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component HostNetworkInterfaceWrap, interface IHostNetworkInterface, callee nsISupports\n\
         VBoxManage: error: Context: \"RTEXITCODE handleCreate(HandlerArg *)\" at line 95 of file VBoxManageHostonly.cpp\n"
    );
    let r = sim.vbm(&[
        "hostonlynet",
        "add",
        "--name",
        "labnet",
        "--netmask",
        "255.255.255.0",
    ]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "VBoxManage: error: The --lower-ip parameter must be specified\n"
        )
    );
    sim.ok(&[
        "hostonlynet",
        "add",
        "--name",
        "labnet",
        "--id",
        "10000000-0000-0000-0000-000000000000",
        "--netmask",
        "255.255.255.0",
        "--lower-ip",
        "192.168.61.0",
        "--upper-ip",
        "192.168.61.0",
    ]);
    assert_eq!(
        sim.ok(&["list", "hostonlynets"]).stdout,
        "Name:            labnet\nGUID:            10000000-0000-0000-0000-000000000000\n\n\
         State:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.61.0\n\
         UpperIP:         192.168.61.0\nVBoxNetworkName: hostonly-labnet\n\n",
        "reference §3.3, blank line after GUID included"
    );
    let r = sim.vbm(&["hostonlynet", "modify", "--lower-ip", "192.168.61.10"]);
    assert_eq!(
        r.stderr,
        "VBoxManage: error: Either --name or --id parameter must be specified\n"
    );
    sim.ok(&[
        "hostonlynet",
        "modify",
        "--name",
        "labnet",
        "--lower-ip",
        "192.168.61.10",
        "--upper-ip",
        "192.168.61.20",
    ]);
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    sim.ok(&[
        "modifyvm",
        "vm1",
        "--nic1",
        "hostonlynet",
        "--host-only-net1",
        "labnet",
    ]);
    let info = sim.info("vm1");
    assert_eq!(info["nic1"], "hostonlynetwork");
    assert_eq!(info["hostonly-network1"], "labnet");
    assert!(
        sim.ok(&["list", "hostinfo"])
            .stdout
            .contains("\nOperating system: Darwin\n")
    );
    sim.ok(&["hostonlynet", "remove", "--name", "labnet"]);
    assert_eq!(sim.ok(&["list", "hostonlynets"]).stdout, "");
}

#[test]
fn linux_has_no_host_only_networks() {
    let sim = Sim::new("host-linux");
    let r = sim.vbm(&["hostonlynet", "add", "--name", "x"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "VBoxManage: error: Invalid command 'hostonlynet'\n")
    );
    let ova = sim.ova("deb", 1);
    sim.ok(&["import", &ova, "--vsys", "0", "--vmname", "vm1"]);
    let r = sim.vbm(&["modifyvm", "vm1", "--nic1", "hostonlynet"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Invalid type 'hostonlynet'"),
        "{}",
        r.stderr
    );
    let info = sim.ok(&["list", "hostinfo"]).stdout;
    assert!(info.contains("\nOperating system: Linux\n"), "{info}");
    let available = info
        .lines()
        .find_map(|line| line.strip_prefix("Memory available: "))
        .and_then(|rest| rest.strip_suffix(" MByte"))
        .and_then(|megabytes| megabytes.parse::<u64>().ok());
    assert!(available.is_some_and(|megabytes| megabytes > 0), "{info}");
    assert!(
        info.find("Memory size: ") < info.find("Memory available: ")
            && info.find("Memory available: ") < info.find("Operating system: "),
        "listHostInfo's order: {info}"
    );
}

#[test]
fn windows_names_host_only_adapters_its_way_and_allows_any_range() {
    let sim = on("host-windows", "windows");
    assert_eq!(
        sim.ok(&["hostonlyif", "create"]).stdout,
        "Interface 'VirtualBox Host-Only Ethernet Adapter' was successfully created\n"
    );
    assert_eq!(
        sim.ok(&["hostonlyif", "create"]).stdout,
        "Interface 'VirtualBox Host-Only Ethernet Adapter #2' was successfully created\n"
    );
    // No /etc/vbox/networks.conf rule on Windows (reference §9.4).
    sim.ok(&[
        "hostonlyif",
        "ipconfig",
        "VirtualBox Host-Only Ethernet Adapter #2",
        "--ip",
        "10.77.0.1",
    ]);
    let listed = sim.ok(&["list", "hostonlyifs"]).stdout;
    assert!(
        listed.contains(
            "Name:            VirtualBox Host-Only Ethernet Adapter #2\n"
        ) && listed.contains(
            "VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2\n"
        ),
        "{listed}"
    );
    let linux = Sim::new("host-windows-linux");
    linux.ok(&["hostonlyif", "create"]);
    let r = linux.vbm(&["hostonlyif", "ipconfig", "vboxnet0", "--ip", "10.77.0.1"]);
    assert_eq!(r.code, 1, "Linux keeps the 6.1.28+ rule");
}

/// API errors as VBoxManage.exe prints them on Windows: the executable's file name as prefix,
/// COM's `IUnknown` as callee, `E_FAIL` for 0x80004005 (reference §1.3, §1.5); Linux keeps
/// `VBoxManage`, `nsISupports`.
#[test]
fn windows_prints_api_errors_with_its_program_name_and_com_callee() {
    let sim = on("host-windows-errors", "windows");
    let r = sim.vbm(&["showvminfo", "nosuchvm"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "VBoxManage.exe: error: Could not find a registered machine named 'nosuchvm'\n\
         VBoxManage.exe: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee IUnknown\n\
         VBoxManage.exe: error: Context: \"FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())\" at line 2953 of file VBoxManageInfo.cpp\n"
    );
    let linux = Sim::new("host-windows-errors-linux");
    let r = linux.vbm(&["showvminfo", "nosuchvm"]);
    assert!(
        r.stderr.starts_with("VBoxManage: error: Could not find")
            && r.stderr.contains("callee nsISupports\n"),
        "{}",
        r.stderr
    );
}

/// Paths on a Windows host: VirtualBox prints drive-letter paths with backslashes (escaped in
/// machine-readable output) and takes them as arguments, with either separator (reference
/// §11.3 `CfgFile`; IPRT's RTPATH_IS_SLASH). The world's root stands for drive C:.
#[test]
fn windows_prints_and_reads_drive_letter_paths() {
    let sim = on("host-windows-paths", "windows");
    let home = sim.home().display().to_string();
    let windows = |path: &str| format!("C:{}", path.replace('/', "\\"));
    let props = sim.ok(&["list", "systemproperties"]).stdout;
    let folder = windows(&format!("{home}/VirtualBox VMs"));
    assert!(
        props.contains(&format!("Default machine folder:          {folder}\n")),
        "{props}"
    );
    let ova = windows(&sim.ova("winapp", 1));
    let base = windows(&format!("{home}/labs"));
    let import = |file: &str, dry_run: bool| {
        let mut args = vec![file, "--vsys", "0", "--vmname", "w1", "--basefolder", &base];
        if dry_run {
            args.push("-n");
        }
        sim.ok(&[&["import"], args.as_slice()].concat())
    };
    let dry = import(&ova, true);
    assert!(
        dry.stdout.contains(&format!(
            "VM base folder specified with --basefolder: \"{base}\""
        )) && dry.stdout.contains(&format!("target path={base}\\w1\\")),
        "{}",
        dry.stdout
    );
    // A relative path with backslashes, from the current directory.
    let ova_name = ova.rsplit('\\').next().unwrap().to_string();
    import(&format!(".\\{ova_name}"), false);
    let info = sim.info("w1");
    let cfg = format!("{base}\\w1\\w1.vbox");
    assert_eq!(
        info.get("CfgFile"),
        Some(&cfg.replace('\\', "\\\\")),
        "{info:?}"
    );
    assert!(
        sim.ok(&["showvminfo", "w1", "--machinereadable"])
            .stdout
            .contains(&format!("CfgFile=\"{}\"", cfg.replace('\\', "\\\\"))),
        "machine-readable output escapes the backslashes"
    );
    assert!(
        std::path::Path::new(&format!("{home}/labs/w1/w1.vbox")).exists(),
        "the settings file is where the Windows path says"
    );
    let missing = sim.vbm(&["import", "D:\\nowhere\\x.ova"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("Could not open the file 'D:\\nowhere\\x.ova'"),
        "{}",
        missing.stderr
    );
    let linux = Sim::new("host-windows-paths-linux");
    assert!(
        linux
            .ok(&["list", "systemproperties"])
            .stdout
            .contains(&format!(
                "Default machine folder:          {}/VirtualBox VMs\n",
                linux.home().display()
            ))
    );
}
