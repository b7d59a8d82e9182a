//! Table-driven tests of lab-file validation: each class of error, with its exact location and
//! message.

use labctl::lab::{DiagnosticKind, Severity};

use crate::support::{BASE, MemoryFiles, load, load_with, position};

/// One expected diagnostic: kind, `file:line:col`, message.
type Expected = (DiagnosticKind, &'static str, &'static str);

fn check(name: &str, text: &str, files: &MemoryFiles, expected: &[Expected]) {
    let loaded = load_with(text, files);
    let found: Vec<(DiagnosticKind, String, String)> = loaded
        .diagnostics
        .iter()
        .map(|diagnostic| {
            (
                diagnostic.kind,
                position(&loaded, diagnostic),
                diagnostic.message.clone(),
            )
        })
        .collect();
    let wanted: Vec<(DiagnosticKind, String, String)> = expected
        .iter()
        .map(|(kind, at, message)| (*kind, at.to_string(), message.to_string()))
        .collect();
    assert_eq!(found, wanted, "case `{name}`");
    let has_errors = expected
        .iter()
        .any(|(kind, _, _)| *kind != DiagnosticKind::HostOnlyRange);
    assert_eq!(
        loaded.lab.is_none(),
        has_errors,
        "case `{name}`: a lab is returned exactly when there is no error"
    );
}

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

const VM: &str = "\n[vms.a]\nnics = [{ net = \"lab\", ip = \"192.168.56.10\" }]\n";

#[test]
fn toml_syntax_errors_are_located() {
    check(
        "unclosed table header",
        "[lab\nname = \"t\"\n",
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Syntax,
            "lab.toml:1:5",
            "invalid TOML: unclosed table, expected `]`",
        )],
    );
    check(
        "duplicate key",
        "[lab]\nname = \"t\"\nname = \"u\"\n",
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Syntax,
            "lab.toml:3:1",
            "invalid TOML: duplicate key",
        )],
    );
}

#[test]
fn unknown_keys_are_reported_with_suggestions() {
    let text = with_base(
        "\n[vms.a]\nmemroy = 512\nnics = [{ net = \"lab\", ip = \"192.168.56.10\", colour = 1 }]\n",
    );
    check(
        "unknown keys",
        &text,
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::UnknownKey,
                "lab.toml:14:1",
                "unknown key `memroy` in `vms.a`",
            ),
            (
                DiagnosticKind::UnknownKey,
                "lab.toml:15:46",
                "unknown key `colour` in `vms.a.nics[0]`",
            ),
        ],
    );
    let loaded = load(&text);
    assert_eq!(loaded.diagnostics[0].label, "did you mean `memory`?");
}

#[test]
fn wrong_types_and_bad_enum_values() {
    check(
        "wrong types",
        &with_base(
            "\n[vms.a]\nmemory = \"512\"\ncount = 1.5\nnics = [{ net = \"lab\", cable = \"yes\" }]\n",
        ),
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::WrongType,
                "lab.toml:14:10",
                "wrong type for `vms.a.memory`: expected an integer, found a string",
            ),
            (
                DiagnosticKind::WrongType,
                "lab.toml:15:9",
                "wrong type for `vms.a.count`: expected an integer, found a number",
            ),
            (
                DiagnosticKind::WrongType,
                "lab.toml:16:32",
                "wrong type for `vms.a.nics[0].cable`: expected a boolean, found a string",
            ),
        ],
    );
    check(
        "bad network type",
        "[lab]\nname = \"t\"\n[networks.n]\ntype = \"hostonyl\"\n",
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:4:8",
            "invalid value `hostonyl` for `networks.n.type`: expected `hostonly`, `natnetwork`, `nat` or `internal`",
        )],
    );
    check(
        "port out of range",
        &with_base(&format!("{VM}\n[[checks]]\nport = 70000\non = \"a\"\n")),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:17:8",
            "value out of range for `checks[0].port`: expected a number from 0 to 65535",
        )],
    );
}

#[test]
fn missing_required_keys() {
    check(
        "nic without net, image without user",
        "[lab]\nname = \"t\"\n\n[images.base]\nova = \"b.ova\"\n\n[vms.a]\nnics = [{ ip = \"192.168.56.10\" }]\n",
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::MissingKey,
                "lab.toml:4:1",
                "missing required key `user` in `images.base`",
            ),
            (
                DiagnosticKind::MissingKey,
                "lab.toml:8:9",
                "missing required key `net` in `vms.a.nics[0]`",
            ),
        ],
    );
    check(
        "no lab table",
        "[vms.a]\n",
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::MissingKey,
            "lab.toml:1:1",
            "missing required key `lab` in the lab file",
        )],
    );
}

#[test]
fn unknown_references() {
    let text = with_base(
        "\n[vms.a]\nimage = \"bsae\"\nnics = [{ net = \"lbb\" }, { net = \"lab\", ip = \"192.168.56.10\" }]\nafter = [\"bb\"]\nprovision = [{ use = \"instal\" }]\n\n[vms.b]\nnics = [{ net = \"lab\", ip = \"192.168.56.11\" }]\n\n[steps.install]\nrun = \"true\"\n\n[[checks]]\nping = \"c\"\n",
    );
    check(
        "unknown image, network, vm, step",
        &text,
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:14:9",
                "unknown image `bsae`",
            ),
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:15:17",
                "vm `a` is attached to unknown network `lbb`",
            ),
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:16:10",
                "`after` names unknown vm `bb`",
            ),
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:17:22",
                "unknown step `instal`",
            ),
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:22:8",
                "step `install` is defined but no VM uses it",
            ),
            (
                DiagnosticKind::UnknownReference,
                "lab.toml:26:8",
                "unknown vm `c`",
            ),
        ],
    );
    let loaded = load(&text);
    let labels: Vec<&str> = loaded
        .diagnostics
        .iter()
        .map(|d| d.label.as_str())
        .collect();
    assert_eq!(labels[0], "did you mean `base`?");
    assert_eq!(labels[2], "did you mean `b`?");
    assert_eq!(labels[3], "did you mean `install`?");
    assert_eq!(loaded.diagnostics[4].severity, Severity::Warning);
}

#[test]
fn duplicates_after_replica_expansion() {
    check(
        "replica name, address and MAC clashes",
        &with_base(
            "\n[vms.web]\ncount = 2\nnics = [{ net = \"lab\", ip = \"192.168.56.20\", mac = \"080027000001\" }]\n\n[vms.web2]\nnics = [{ net = \"lab\", ip = \"192.168.56.21\", mac = \"08:00:27:00:00:02\" }]\n",
        ),
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::Duplicate,
                "lab.toml:17:6",
                "two VMs are named `web2`",
            ),
            (
                DiagnosticKind::Duplicate,
                "lab.toml:17:6",
                "two VMs would be named `t-web2` in VirtualBox",
            ),
            (
                DiagnosticKind::Duplicate,
                "lab.toml:18:29",
                "address 192.168.56.21 (vm `web2`) is used twice on network `lab`",
            ),
            (
                DiagnosticKind::Duplicate,
                "lab.toml:18:52",
                "MAC 08:00:27:00:00:02 (vm `web2`) is used twice",
            ),
        ],
    );
}

#[test]
fn addresses_must_fit_their_network() {
    let case = |ip: &str| {
        with_base(&format!(
            "\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"{ip}\" }}]\n"
        ))
    };
    let at = "lab.toml:14:29";
    check(
        "outside",
        &case("10.0.0.5"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 10.0.0.5 is outside network `lab` (192.168.56.0/24)",
        )],
    );
    check(
        "network address",
        &case("192.168.56.0"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 192.168.56.0 is the network address of `lab` (192.168.56.0/24)",
        )],
    );
    check(
        "broadcast",
        &case("192.168.56.255"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 192.168.56.255 is the broadcast address of `lab` (192.168.56.0/24)",
        )],
    );
    check(
        "host",
        &case("192.168.56.1"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 192.168.56.1, is the host's address on network `lab`",
        )],
    );
    check(
        "dhcp server",
        &case("192.168.56.100"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 192.168.56.100, is the DHCP server's address on network `lab`",
        )],
    );
    check(
        "dhcp range",
        &case("192.168.56.150"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            at,
            "the address of vm `a`, 192.168.56.150, is inside the DHCP range 192.168.56.101-192.168.56.254 of network `lab`",
        )],
    );
    check(
        "nat network gateway",
        "[lab]\nname = \"t\"\n[images.b]\nova = \"b.ova\"\nuser = \"u\"\npassword = \"p\"\n[networks.h]\ntype = \"hostonly\"\ncidr = \"192.168.56.0/24\"\n[networks.n]\ntype = \"natnetwork\"\ncidr = \"10.0.9.0/24\"\n[vms.a]\nnics = [{ net = \"h\", ip = \"192.168.56.5\" }, { net = \"n\", ip = \"10.0.9.1\" }]\n",
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Address,
            "lab.toml:14:63",
            "the address of vm `a`, 10.0.9.1, is the NAT network's gateway on network `n`",
        )],
    );
}

#[test]
fn host_only_range_outside_virtualbox_default_is_a_warning() {
    let text = "[lab]\nname = \"t\"\n[images.b]\nova = \"b.ova\"\nuser = \"u\"\npassword = \"p\"\n[networks.h]\ntype = \"hostonly\"\ncidr = \"10.10.0.0/24\"\n[vms.a]\nnics = [{ net = \"h\", ip = \"10.10.0.5\" }]\n";
    check(
        "outside 192.168.56.0/21",
        text,
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::HostOnlyRange,
            "lab.toml:9:8",
            "host-only network `h` (10.10.0.0/24) is outside VirtualBox's default allowed range 192.168.56.0/21",
        )],
    );
    let loaded = load(text);
    assert_eq!(loaded.diagnostics[0].severity, Severity::Warning);
    assert!(
        loaded.diagnostics[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("/etc/vbox/networks.conf")
    );
}

#[test]
fn dependency_cycles_are_shown() {
    check(
        "a waits for b waits for c waits for a",
        &with_base(
            "\n[vms.a]\nnics = [{ net = \"lab\", ip = \"192.168.56.10\" }]\nafter = [\"b\"]\n\n[vms.b]\nnics = [{ net = \"lab\", ip = \"192.168.56.11\" }]\nafter = [\"c\"]\n\n[vms.c]\nnics = [{ net = \"lab\", ip = \"192.168.56.12\" }]\nafter = [\"a\"]\n",
        ),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Cycle,
            "lab.toml:23:10",
            "dependency cycle in `after`: a → b → c → a",
        )],
    );
}

#[test]
fn invalid_macs() {
    let case = |mac: &str| {
        with_base(&format!(
            "\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.10\", mac = \"{mac}\" }}]\n"
        ))
    };
    check(
        "not 12 hex digits",
        &case("08:00:27:zz:00:01"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Mac,
            "lab.toml:14:52",
            "invalid MAC address `08:00:27:zz:00:01`: expected 12 hexadecimal digits, e.g. `080027A1B2C3` or `08:00:27:a1:b2:c3`",
        )],
    );
    check(
        "multicast",
        &case("090027000001"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Mac,
            "lab.toml:14:52",
            "invalid MAC address `090027000001`: the multicast bit is set, and VirtualBox only accepts unicast MACs",
        )],
    );
}

#[test]
fn more_nics_than_virtualbox_slots() {
    let nics: Vec<String> = (0..9).map(|_| "{ net = \"lab\" }".to_string()).collect();
    let text = with_base(&format!("\n[vms.a]\nnics = [{}]\n", nics.join(", ")));
    check(
        "nine NICs",
        &text,
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::NicCount,
            "lab.toml:14:145",
            "vm `a` has 9 NICs, but VirtualBox has 8 adapter slots",
        )],
    );
}

#[test]
fn templates_with_unknown_variables() {
    let text = with_base(&format!(
        "{VM}provision = [\n  {{ run = \"echo {{{{ vms.b.ip }}}}\" }},\n  {{ template = \"conf.j2\", to = \"/etc/x\" }},\n]\n\n[vars]\nport = 80\n"
    ));
    let files =
        MemoryFiles::default().with("conf.j2", "listen {{ vars.prot }}\nserver {{ vm.ip }}\n");
    check(
        "inline and file templates",
        &text,
        &files,
        &[
            (
                DiagnosticKind::Template,
                "lab.toml:16:20",
                "template uses unknown variable `vms.b`",
            ),
            (
                DiagnosticKind::Template,
                "conf.j2:1:11",
                "template uses unknown variable `vars.prot`",
            ),
        ],
    );
    let loaded = load_with(&text, &files);
    assert_eq!(loaded.diagnostics[1].label, "did you mean `vars.port`?");
}

#[test]
fn every_problem_is_reported_in_one_run_sorted_by_position() {
    let text = with_base(
        "\n[vms.a]\nmemroy = 1\nnics = [{ net = \"nope\" }]\nafter = [\"zz\"]\n\n[[checks]]\nping = \"qq\"\n",
    );
    let loaded = load(&text);
    let lines: Vec<usize> = loaded
        .diagnostics
        .iter()
        .map(|diagnostic| diagnostic.location(&loaded.sources).line)
        .collect();
    assert!(lines.len() >= 4, "{:?}", loaded.diagnostics);
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn a_valid_lab_has_no_diagnostics_and_expands_replicas() {
    let loaded = load(&with_base(
        "\n[vms.web]\ncount = 3\nnics = [{ net = \"lab\", ip = \"192.168.56.21\", mac = \"080027000010\" }]\n",
    ));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let lab = loaded.lab.expect("valid");
    let names: Vec<&str> = lab.vms.iter().map(|vm| vm.name.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "web3"]);
    let ips: Vec<String> = lab
        .vms
        .iter()
        .map(|vm| vm.nics[0].ip.unwrap().to_string())
        .collect();
    assert_eq!(ips, ["192.168.56.21", "192.168.56.22", "192.168.56.23"]);
    let macs: Vec<String> = lab
        .vms
        .iter()
        .map(|vm| vm.nics[0].mac.unwrap().to_vbox())
        .collect();
    assert_eq!(macs, ["080027000010", "080027000011", "080027000012"]);
    assert_eq!(lab.vms[2].vbox_name, "t-web3");
}

#[test]
fn adapter_one_must_be_one_the_appliance_brings_up() {
    let nets = "\n[networks.back]\ntype = \"natnetwork\"\ncidr = \"10.9.0.0/24\"\n\n[networks.priv]\ntype = \"internal\"\ncidr = \"10.8.0.0/24\"\n";
    check(
        "a NAT network first",
        &with_base(&format!(
            "{nets}\n[vms.a]\nnics = [{{ net = \"back\" }}, {{ net = \"lab\", ip = \"192.168.56.10\" }}]\n"
        )),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Conflict,
            "lab.toml:21:6",
            "labctl cannot log in to vm `a` to set up its other adapters: adapter 1 is on `back`, a NAT network, which the host cannot reach",
        )],
    );
    check(
        "an internal network first",
        &with_base(&format!(
            "{nets}\n[vms.a]\nnics = [{{ net = \"priv\", ip = \"10.8.0.5\" }}, {{ net = \"lab\", ip = \"192.168.56.10\" }}]\n"
        )),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::Conflict,
            "lab.toml:21:6",
            "labctl cannot log in to vm `a` to set up its other adapters: adapter 1 is on `priv`, an internal network, which the host cannot reach",
        )],
    );
    // Plain NAT first, as Vagrant does: labctl logs in through a port forward on adapter 1,
    // then reaches the VM at its host-only address.
    let lab = load(&with_base(
        "\n[networks.out]\ntype = \"nat\"\n\n[vms.a]\nnics = [{ net = \"out\" }, { net = \"lab\", ip = \"192.168.56.10\" }]\n",
    ))
    .lab
    .expect("valid");
    let vm = lab.vm("a").unwrap();
    assert_eq!(
        vm.ssh,
        labctl::lab::model::SshRoute::Address {
            network: "lab".into(),
            ip: "192.168.56.10".parse().unwrap()
        }
    );
    assert_eq!(
        vm.bootstrap,
        Some(labctl::lab::model::SshRoute::Forward {
            slot: 1,
            host_port: None
        })
    );
    let plain = load(&with_base(VM)).lab.expect("valid");
    assert_eq!(
        plain.vm("a").unwrap().bootstrap,
        None,
        "adapter 1 is the SSH route"
    );
}

#[test]
fn absurd_sizes_are_refused_before_anything_is_made() {
    check(
        "ten thousand replicas",
        &with_base("\n[vms.web]\ncount = 10000\nnics = [{ net = \"lab\" }]\n"),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:14:9",
            "`count` of vm `web` is 10000: at most 100 replicas (each is a VM of its own)",
        )],
    );
    let long = "x".repeat(5000);
    check(
        "a description longer than a command line takes",
        &with_base(&format!(
            "\n[vms.a]\ndescription = \"{long}\"\nnics = [{{ net = \"lab\", ip = \"192.168.56.10\" }}]\n"
        )),
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:13:6",
            "the description of vm `a` is 5000 bytes: at most 4096",
        )],
    );
}

#[test]
fn a_network_with_a_bad_cidr_is_one_error_not_a_cascade() {
    let text = "[lab]\nname = \"t\"\n[images.base]\nova = \"b.ova\"\nuser = \"u\"\npassword = \"p\"\n[networks.lan]\ntype = \"hostonly\"\ncidr = \"192.168.56.1/24\"\n[networks.nat]\ntype = \"natnetwork\"\ncidr = \"10.0.9.0/24\"\nforwards = [{ host_port = 2201, guest_port = 22, vm = \"a\" }]\n[vms.a]\nnics = [{ net = \"lan\", ip = \"192.168.56.10\" }, { net = \"nat\", ip = \"10.0.9.10\" }]\n[vms.b]\nafter = [\"a\"]\nnics = [{ net = \"lan\", ip = \"192.168.56.11\" }]\n";
    check(
        "host bits set",
        text,
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:9:8",
            "cidr `192.168.56.1/24` has host bits set",
        )],
    );
    let unparsable = text.replace("192.168.56.1/24", "192.168.56/24");
    check(
        "not a cidr",
        &unparsable,
        &MemoryFiles::default(),
        &[(
            DiagnosticKind::InvalidValue,
            "lab.toml:9:8",
            "invalid cidr `192.168.56/24`: expected an IPv4 network such as 192.168.56.0/24",
        )],
    );
}

#[test]
fn a_host_port_is_forwarded_once() {
    let nets = "\n[networks.nat]\ntype = \"natnetwork\"\ncidr = \"10.0.9.0/24\"\nforwards = [{ host_port = 2201, guest_port = 22, vm = \"a\" }, { host_port = 8080, guest_port = 80, vm = \"a\", host_ip = \"127.0.0.1\" }]\n[networks.out]\ntype = \"nat\"\n";
    let vms = "\n[vms.a]\nnics = [{ net = \"lab\", ip = \"192.168.56.10\" }, { net = \"nat\", ip = \"10.0.9.10\" }]\n[vms.b]\nnics = [{ net = \"out\", forwards = [{ host_port = 2201, guest_port = 22 }, { host_port = 2201, guest_port = 53, proto = \"udp\" }, { host_port = 8080, guest_port = 80, host_ip = \"127.0.0.2\" }] }, { net = \"lab\", ip = \"192.168.56.11\" }]\n[vms.web]\ncount = 2\nnics = [{ net = \"out\", forwards = [{ host_port = 9000, guest_port = 80 }] }, { net = \"lab\", ip = \"192.168.56.20\" }]\n";
    check(
        "forward clashes",
        &with_base(&format!("{nets}{vms}")),
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::Duplicate,
                "lab.toml:23:50",
                "host port 2201 (TCP) is forwarded twice: by NAT network `nat` and by vm `b`",
            ),
            (
                DiagnosticKind::Conflict,
                "lab.toml:26:50",
                "every replica of `web` would forward host port 9000",
            ),
        ],
    );
    let same_address = with_base(&format!("{nets}{vms}"))
        .replace("host_ip = \"127.0.0.2\"", "host_ip = \"0.0.0.0\"")
        .replace("count = 2\n", "");
    check(
        "every address clashes with one address",
        &same_address,
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::Duplicate,
                "lab.toml:23:50",
                "host port 2201 (TCP) is forwarded twice: by NAT network `nat` and by vm `b`",
            ),
            (
                DiagnosticKind::Duplicate,
                "lab.toml:23:143",
                "host port 8080 (TCP) is forwarded twice: by NAT network `nat` and by vm `b`",
            ),
        ],
    );
}

#[test]
fn one_problem_of_many_replicas_is_reported_once() {
    check(
        "20 replicas past the end of the network",
        &with_base("\n[vms.web]\ncount = 20\nnics = [{ net = \"lab\", ip = \"192.168.56.90\" }]\n"),
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::Address,
                "lab.toml:15:29",
                "the address of vm `web11` (replica 11 of `web`), 192.168.56.100, is the DHCP server's address on network `lab`",
            ),
            (
                DiagnosticKind::Address,
                "lab.toml:15:29",
                "the address of vm `web12` (replica 12 of `web`), 192.168.56.101, is inside the DHCP range 192.168.56.101-192.168.56.254 of network `lab` (and 8 more like it from this line)",
            ),
        ],
    );
}

#[test]
fn basic_authentication_needs_a_user_and_one_password_and_is_sent_from_the_host() {
    let checks = "[[checks]]\nhttp = \"http://192.168.56.10:8161/1\"\nuser = \"admin\"\n\
        [[checks]]\nhttp = \"http://192.168.56.10:8161/2\"\npassword = \"admin\"\n\
        [[checks]]\nhttp = \"http://192.168.56.10:8161/3\"\nuser = \"admin\"\npassword = \"admin\"\npassword_env = \"CONSOLE_PASSWORD\"\n\
        [[checks]]\nhttp = \"http://192.168.56.10:8161/4\"\nfrom = \"a\"\nuser = \"admin\"\npassword_env = \"CONSOLE_PASSWORD\"\n\
        [[checks]]\ncommand = \"true\"\non = \"a\"\nuser = \"admin\"\n";
    check(
        "basic authentication",
        &with_base(&format!("{VM}{checks}")),
        &MemoryFiles::default(),
        &[
            (
                DiagnosticKind::MissingKey,
                "lab.toml:17:8",
                "`user` without a password: set `password_env` (or `password`)",
            ),
            (
                DiagnosticKind::MissingKey,
                "lab.toml:20:12",
                "a password without `user`: basic authentication needs both",
            ),
            (
                DiagnosticKind::Conflict,
                "lab.toml:25:16",
                "`password` and `password_env` both set: keep one",
            ),
            (
                DiagnosticKind::Conflict,
                "lab.toml:28:8",
                "an `http` check with `user` is sent from the host only",
            ),
            (
                DiagnosticKind::Conflict,
                "lab.toml:34:8",
                "`user` does not apply to a `command` check",
            ),
        ],
    );
}
