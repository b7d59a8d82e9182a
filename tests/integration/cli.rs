//! The `labctl` binary: exit codes, outputs of validate, plan, graph, schema, completions, man.

use std::process::{Command, Output};

use crate::support::{labctl, repo};

fn run(args: &[&str]) -> Output {
    Command::new(labctl())
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("labctl runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn validate_reports_a_valid_lab_with_exit_0() {
    let output = run(&["validate", "labs/exam3.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("lab `exam3` is valid (5 VMs"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn validate_points_at_the_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[lab]\nname = \"x\"\n\n[vms.a]\nmemroy = 1\n").unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("error: unknown key `memroy` in `vms.a`"),
        "{text}"
    );
    assert!(text.contains("bad.toml:5:1"), "{text}");
    assert!(text.contains("5 │ memroy = 1"), "{text}");
    assert!(text.contains("^^^^^^ did you mean `memory`?"), "{text}");
}

#[test]
fn a_file_that_is_not_utf8_exits_2_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.toml");
    std::fs::write(&file, b"[lab]\nname = \"caf\xe9\"\n").unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("latin1.toml:2:12: not UTF-8 text (byte 0xE9)"),
        "{text}"
    );
    assert!(text.contains("| name = \"caf\\xE9\""), "{text}");
    let binary = dir.path().join("binary.toml");
    let mut bytes = b"\x7fELF\x02\x01\x01\x00\x00".to_vec();
    bytes.extend(std::iter::repeat_n(0x90_u8, 100_000));
    std::fs::write(&binary, bytes).unwrap();
    let output = run(&["up", binary.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("binary.toml:1:10: not UTF-8 text (byte 0x90)"),
        "{text}"
    );
    assert!(
        text.contains("\\u{7f}ELF\\u{2}\\u{1}\\u{1}\\0\\0\\x90"),
        "{text}"
    );
    assert!(text.len() < 1_000, "{} bytes: {text}", text.len());
}

#[test]
fn a_huge_line_is_shown_cut_around_the_error_and_nul_bytes_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.toml");
    let mut text = String::from("[lab]\nname = \"");
    text.push_str(&"a".repeat(5_000_000));
    text.push_str("\" oops\ndescr\0iption = 1\n");
    std::fs::write(&file, &text).unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.len() < 4_000, "{} bytes printed", err.len());
    assert!(
        err.contains(&format!("huge.toml:2:{}", 5_000_000 + 11)),
        "{err}"
    );
    assert!(err.contains("…aaaa"), "{err}");
    assert!(err.contains("aaaa\" oops"), "{err}");
    assert!(err.contains("descr\\0iption = 1"), "{err}");
    assert!(
        !err.contains('\0'),
        "a NUL byte reached the terminal: {err}"
    );
    let output = run(&["--json", "validate", file.to_str().unwrap()]);
    assert!(
        output.stdout.len() < 4_000,
        "{} bytes of JSON",
        output.stdout.len()
    );
}

#[test]
fn an_unset_credential_variable_is_a_warning_at_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.toml");
    std::fs::write(
        &file,
        "[lab]\nname = \"env\"\n[images.base]\nova = \"b.ova\"\nuser = \"u\"\npassword_env = \"LABCTL_TEST_UNSET_PW\"\n[networks.lab]\ntype = \"hostonly\"\ncidr = \"192.168.56.0/24\"\n[vms.a]\nnics = [{ net = \"lab\", ip = \"192.168.56.10\" }]\n",
    )
    .unwrap();
    let output = Command::new(labctl())
        .args(["validate", file.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env_remove("LABCTL_TEST_UNSET_PW")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("warning: environment variable LABCTL_TEST_UNSET_PW is not set: image `base` reads its password from it"),
        "{text}"
    );
    assert!(text.contains("env.toml:6:16"), "{text}");
    assert!(
        stdout(&output).contains("is valid (1 VM, 1 network, 1 image, 0 checks, 1 warning)"),
        "{}",
        stdout(&output)
    );
    let output = Command::new(labctl())
        .args(["validate", file.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("LABCTL_TEST_UNSET_PW", "sekrit")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("sekrit") && !stderr(&output).contains("sekrit"));
}

#[test]
fn validate_json_lists_diagnostics_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[lab]\nname = \"x\"\npassword = \"sekrit\"\n").unwrap();
    let output = run(&["--json", "validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["valid"], false);
    assert_eq!(value["diagnostics"][0]["kind"], "unknown-key");
    assert_eq!(value["diagnostics"][0]["line"], 3);
    assert!(
        !stdout(&output).contains("sekrit"),
        "passwords are never printed"
    );
}

#[test]
fn passwords_in_the_lab_file_never_appear_in_error_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[lab]\nname = \"x\"\n[images.i]\nova = \"a.ova\"\nuser = \"u\"\npasword = \"hunter2-secret\"\n").unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown key `pasword`"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("hunter2-secret"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_file_is_a_host_error_with_cause() {
    let output = run(&["validate", "no/such/lab.toml"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("cannot read `no/such/lab.toml`"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("caused by:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn exec_takes_vm_names_or_all_not_both() {
    let output = run(&["exec", "labs/exam3.toml", "web1", "--all", "--", "true"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("name VMs or pass --all, not both"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        run(&["validate", "labs/exam3.toml", "--image", "nope"])
            .status
            .code(),
        Some(0),
        "validate ignores overrides"
    );
    let output = run(&["plan", "labs/exam3.toml", "--image", "ubunto=/tmp/x.ova"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did you mean `ubuntu`?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn plan_shows_stages_reasons_and_parallelism() {
    let output = run(&["plan", "labs/exam3.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("stage 1"), "{text}");
    assert!(
        text.contains("import labs/../appliances/ubuntu-lab.ova")
            || text.contains("import appliances/ubuntu-lab.ova"),
        "{text}"
    );
    assert!(text.contains("actions in parallel"), "{text}");
    assert!(text.contains("because: absent"), "{text}");
    let json = run(&["--json", "plan", "labs/exam3.toml"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let actions = value["actions"].as_array().unwrap();
    let clones = actions
        .iter()
        .filter(|action| action["kind"] == "clone-vm")
        .count();
    assert_eq!(clones, 5);
    let imports = actions
        .iter()
        .filter(|action| action["kind"] == "import-appliance")
        .count();
    assert_eq!(imports, 1, "the appliance is imported once");
    for action in actions {
        assert!(
            action["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty())
        );
    }
}

#[test]
fn plan_orders_dependencies_before_dependents() {
    let output = run(&["--json", "plan", "labs/exam3.toml"]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let actions = value["actions"].as_array().unwrap();
    let stage_of = |kind: &str, vm: &str| {
        actions
            .iter()
            .find(|action| action["kind"] == kind && action["vm"] == vm)
            .map(|action| action["stage"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("no {kind} for {vm}"))
    };
    assert!(
        stage_of("start-vm", "web1") > stage_of("provision", "discovery"),
        "web waits for discovery (after)"
    );
    assert!(stage_of("configure-vm", "web1") > stage_of("clone-vm", "web1"));
    assert_eq!(
        stage_of("clone-vm", "web1"),
        stage_of("clone-vm", "lb"),
        "independent clones run in parallel"
    );
}

#[test]
fn graph_draws_mermaid_and_dot() {
    let mermaid = stdout(&run(&["graph", "labs/exam3.toml"]));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(
        mermaid.contains("vm_web2 ---|\"nic1 192.168.56.22\"| net_lab"),
        "{mermaid}"
    );
    assert!(mermaid.contains("192.168.56.0/24"), "{mermaid}");
    let dot = stdout(&run(&["graph", "labs/exam3.toml", "--format", "dot"]));
    assert!(dot.starts_with("digraph \"exam3\""), "{dot}");
    assert!(dot.contains("vm_lb -> vm_discovery [style=dashed"), "{dot}");
}

#[test]
fn schema_is_json_schema_of_the_lab_file() {
    let output = run(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["title"], "labctl lab file");
    assert!(value["properties"]["vms"].is_object());
    assert_eq!(value["$defs"]["RawVm"]["additionalProperties"], false);
}

#[test]
fn completions_and_man_page() {
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    assert!(
        stdout(&bash).contains("_labctl"),
        "bash completion function"
    );
    let man = run(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    assert!(stdout(&man).contains(".TH labctl"), "roff man page");
}

/// A lab with a variant: `discovery` picks which VM and steps exist.
const VARIANTS: &str = r#"[lab]
name = "variants"

[vars]
discovery = "etcd"
port = 5000

[images.base]
ova = "b.ova"
user = "u"
password = "p"

[networks.lab]
type = "hostonly"
cidr = "192.168.56.0/24"

[vms.etcd]
when = "vars.discovery == 'etcd'"
nics = [{ net = "lab", ip = "192.168.56.10" }]

[vms.consul]
when = "vars.discovery == 'consul'"
nics = [{ net = "lab", ip = "192.168.56.11" }]
provision = [{ name = "install consul", run = "apt-get install -y consul" }]

[vms.lb]
nics = [{ net = "lab", ip = "192.168.56.20" }]
provision = [
  { name = "watch etcd", run = "echo etcd", when = "vars.discovery == 'etcd'" },
  { name = "watch consul", run = "echo consul", when = "vars.discovery == 'consul'" },
]

[[checks]]
name = "consul lists the replicas"
when = "vars.discovery == 'consul'"
command = "consul catalog nodes"
on = "consul"
"#;

fn variants_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("variants.toml");
    std::fs::write(&file, VARIANTS).unwrap();
    let shown = file.to_str().unwrap().to_string();
    (dir, shown)
}

#[test]
fn when_leaves_out_vms_steps_and_checks_and_plan_says_so() {
    let (_dir, file) = variants_file();
    let output = run(&["plan", "--offline", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("create VM variants-etcd") || text.contains("variants-etcd"),
        "{text}"
    );
    assert!(!text.contains("variants-consul"), "{text}");
    assert!(
        text.contains("left out by `when`:")
            && text.contains("vm `consul` (when vars.discovery == 'consul' is false)")
            && text.contains("step `watch consul` (when vars.discovery == 'consul' is false)")
            && text.contains("check `consul lists the replicas` (when"),
        "{text}"
    );

    let output = run(&["--var", "discovery=consul", "plan", "--offline", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("variants-consul") && !text.contains("variants-etcd"),
        "{text}"
    );
    assert!(
        text.contains("vm `etcd` (when vars.discovery == 'etcd' is false)"),
        "{text}"
    );

    let vars = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(vars.path(), "discovery = \"consul\"\n").unwrap();
    let output = run(&[
        "--json",
        "--vars",
        vars.path().to_str().unwrap(),
        "plan",
        "--offline",
        &file,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let left_out: Vec<&str> = plan["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["what"].as_str().unwrap())
        .collect();
    assert_eq!(left_out, ["vm `etcd`", "step `watch etcd`"]);
}

#[test]
fn var_overrides_are_checked_against_the_lab() {
    let (_dir, file) = variants_file();
    let output = run(&["--var", "discovry=consul", "validate", &file]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "`--var discovry=consul`: lab `variants` has no var `discovry` in [vars]; did you mean `discovery`?"
        ),
        "{}",
        stderr(&output)
    );
    let output = run(&["--var", "port=http", "validate", &file]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`port` is a number in the lab file, not a string"),
        "{}",
        stderr(&output)
    );
    let output = run(&["--var", "port=8080", "validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_when_is_checked_like_a_template() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    let bad = VARIANTS
        .replace("when = \"vars.discovery == 'etcd'\"\nnics", "when = \"vars.discovry == 'etcd'\"\nnics")
        .replace(
            "{ name = \"watch consul\", run = \"echo consul\", when = \"vars.discovery == 'consul'\" }",
            "{ name = \"watch consul\", run = \"echo consul\", when = \"vm.name == 'lb'\" }",
        )
        .replace("when = \"vars.discovery == 'consul'\"\ncommand", "when = \"vars.discovery ==\"\ncommand");
    std::fs::write(&file, bad).unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("template uses unknown variable `vars.discovry`")
            && text.contains("did you mean `vars.discovery`?"),
        "{text}"
    );
    assert!(
        text.contains("template uses unknown variable `vm`"),
        "{text}"
    );
    assert!(text.contains("`when` is not an expression"), "{text}");

    let orphan = VARIANTS.replace("when = \"vars.discovery == 'consul'\"\ncommand", "command");
    std::fs::write(&file, orphan).unwrap();
    let output = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("this check names vm `consul`, which its `when` leaves out of the lab"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn exam3_plans_its_consul_variant_from_the_command_line() {
    let etcd = run(&["plan", "--offline", "labs/exam3.toml"]);
    assert_eq!(etcd.status.code(), Some(0), "{}", stderr(&etcd));
    let text = stdout(&etcd);
    assert!(
        text.contains("steps: base packages, install etcd, configure etcd, start etcd")
            && !text
                .lines()
                .any(|line| line.trim_start().starts_with("steps:") && line.contains("consul")),
        "{text}"
    );
    let consul = run(&[
        "--var",
        "discovery=consul",
        "plan",
        "--offline",
        "labs/exam3.toml",
    ]);
    assert_eq!(consul.status.code(), Some(0), "{}", stderr(&consul));
    let text = stdout(&consul);
    for wanted in [
        "steps: base packages, HashiCorp's APT repository, install consul, configure consul server, start consul server",
        "consul service definition, start microservice and consul agent",
        "install consul-template, haproxy consul-template, consul-template unit, start balancer with consul-template",
        "step `install etcd` (when vars.discovery == 'etcd' is false)",
        "check `discovery service lists three instances` (when vars.discovery == 'etcd' is false)",
    ] {
        assert!(text.contains(wanted), "`{wanted}` missing:\n{text}");
    }
    assert!(
        !text
            .lines()
            .any(|line| line.trim_start().starts_with("steps:") && line.contains("etcd")),
        "{text}"
    );
    let scenario = run(&[
        "--var",
        "discovery=consul",
        "scenario",
        "validate",
        "scenarios/exam3-add-replica.toml",
    ]);
    assert_eq!(scenario.status.code(), Some(0), "{}", stderr(&scenario));
}
