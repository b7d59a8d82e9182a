//! Scenario files, validated without VirtualBox: every act's names against the lab as it
//! stands at that act, every problem located in the scenario file.

use std::process::{Command, Output};

use crate::support::labctl;

const LAB: &str = r#"
[lab]
name = "grow"

[vars]
extra = false

[images.base]
ova = "base.ova"
user = "student"
password = "pw"

[networks.lab]
type = "hostonly"
cidr = "192.168.56.0/24"

[vms.web]
count = 3
nics = [{ net = "lab", ip = "192.168.56.21" }]

[vms.lb]
nics = [{ net = "lab", ip = "192.168.56.10" }]
"#;

fn validate(scenario: &str) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    validate_in(dir.path(), &[])
}

/// `labctl [ARGS] scenario validate s.toml` in `dir`, with the lab written beside it.
fn validate_in(dir: &std::path::Path, args: &[&str]) -> (Output, String) {
    std::fs::write(dir.join("base.ova"), b"").unwrap();
    std::fs::write(dir.join("lab.toml"), LAB).unwrap();
    let output = Command::new(labctl())
        .args(args)
        .args(["scenario", "validate", "s.toml"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("labctl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

#[test]
fn a_replica_added_by_one_act_exists_for_the_next() {
    let (output, text) = validate(
        r#"
[scenario]
name = "add"
lab = "lab.toml"

[[act]]
add = "web"

[[act.checks]]
http = "http://{{ vms.web4.ip }}/"

[[act]]
remove = "web4"

[[act.checks]]
ping = "web"
"#,
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("is valid (2 acts, 2 checks)"), "{text}");
}

#[test]
fn every_problem_is_reported_at_its_place_in_the_scenario() {
    let (output, text) = validate(
        r#"
[scenario]
name = "Bad Name"
lab = "lab.toml"

[[act]]
add = "webs"

[[act]]
stop = "lb"
start = "lb"

[[act]]
remove = "web2"

[[act]]
on = "lb"

[[act.checks]]
ping = "web4"

[[act]]
steps = [{ run = "true" }]
wait = 5000
colour = "red"
"#,
    );
    assert_eq!(output.status.code(), Some(2), "{text}");
    for expected in [
        "s.toml:3:8",
        "a scenario's name is lowercase letters",
        "s.toml:7:7",
        "no VM or replica group `webs`",
        "did you mean `web`?",
        "s.toml:11:9",
        "an act does one thing",
        "s.toml:14:10",
        "only the last replica of `web` can be removed: `web3`",
        "s.toml:17:6",
        "`on` names where `steps` run",
        "unknown key `colour`",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn checks_of_an_act_see_the_lab_as_it_stands_then() {
    let (output, text) = validate(
        r#"
[scenario]
name = "early"
lab = "lab.toml"

[[act]]
name = "before the replica exists"

[[act.checks]]
ping = "web4"
"#,
    );
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("s.toml:10:8"), "{text}");
    assert!(text.contains("web4"), "{text}");
}

#[test]
fn every_shipped_scenario_validates_against_its_lab() {
    let repo = crate::support::repo();
    let mut found = 0;
    for entry in std::fs::read_dir(repo.join("scenarios")).expect("scenarios/") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        found += 1;
        let output = Command::new(labctl())
            .args(["scenario", "validate"])
            .arg(&path)
            .current_dir(&repo)
            .env("NO_COLOR", "1")
            .output()
            .expect("labctl runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "warnings: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(found >= 3, "the course scenarios are shipped");
}

#[test]
fn an_act_whose_when_is_false_is_left_out_and_var_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"
[scenario]
name = "maybe"
lab = "lab.toml"

[[act]]
name = "grow more"
when = "vars.extra"
add = "web"

[[act.checks]]
http = "http://{{ vms.web4.ip }}/"

[[act]]
name = "always"
stop = "lb"
"#,
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let (output, text) = validate_in(dir.path(), extra);
        (output.status.code(), text)
    };
    let (code, text) = run(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("is valid (1 act, 0 checks)")
            && text.contains("act `grow more` (when vars.extra is false)"),
        "{text}"
    );
    let (code, text) = run(&["--var", "extra=true"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("is valid (2 acts, 1 check)"), "{text}");

    let bad = std::fs::read_to_string(dir.path().join("s.toml"))
        .unwrap()
        .replace("vars.extra", "vars.extar");
    std::fs::write(dir.path().join("s.toml"), bad).unwrap();
    let (code, text) = run(&[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("s.toml:8:") && text.contains("did you mean `vars.extra`?"),
        "{text}"
    );
}

#[test]
fn a_clone_act_names_one_vm() {
    let (output, text) = validate(
        r#"
[scenario]
name = "clones"
lab = "lab.toml"

[[act]]
clone = "web"

[[act]]
clone = "lb"
"#,
    );
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("`clone` makes a clone of one VM; `web` is a group of 3")
            && text.contains("s.toml:7:9"),
        "{text}"
    );
    let (output, text) =
        validate("[scenario]\nname = \"clone\"\nlab = \"lab.toml\"\n\n[[act]]\nclone = \"lb\"\n");
    assert_eq!(output.status.code(), Some(0), "{text}");
}
