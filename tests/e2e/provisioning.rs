//! Provisioning over SSH on real guests: each step runs once per content hash, an edited step
//! runs with the ones after it, a failing step stops its VM with its location and output and
//! the next `up` resumes from it; `provision --force`; host keys pinned per VM.

use serde_json::Value;

use crate::world::{PASSWORD, Run, World, lab_preamble};

fn lab(second_step: &str) -> String {
    format!(
        r#"
{preamble}

[vms.node]
count = 2
nics = [{{ net = "lab", ip = "192.168.56.61" }}]
provision = [
  {{ name = "first", run = "echo first >> /var/tmp/runs" }},
  {{ name = "second", run = "{second_step}" }},
  {{ name = "third", run = "echo third >> /var/tmp/runs" }},
]
"#,
        preamble = lab_preamble("prov")
    )
}

/// The names of the steps an `up --json` or `provision --json` ran, as `vm:step`.
fn steps_run(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "step-finished")
        .map(|event| {
            format!(
                "{}:{}",
                event["vm"].as_str().unwrap_or(""),
                event["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn runs_on(world: &World, vm: &str) -> String {
    let run = world.labctl(&["exec", "lab.toml", vm, "--", "cat /var/tmp/runs"]);
    run.expect(0, "read the step log");
    run.stdout
}

#[test]
fn steps_run_once_per_content_and_resume_after_a_failure() {
    let world = World::new("prov");
    world.write("lab.toml", &lab("echo second >> /var/tmp/runs"));
    let first = world.labctl(&["--json", "up", "lab.toml"]);
    first.expect(0, "first up");
    assert_eq!(steps_run(&first).len(), 6, "{}", first.stdout);

    let again = world.labctl(&["--json", "up", "lab.toml"]);
    again.expect(0, "second up");
    assert!(
        steps_run(&again).is_empty(),
        "second up ran steps: {}",
        again.stdout
    );

    // Editing the second step runs it and the third, not the first.
    world.write("lab.toml", &lab("echo second-edited >> /var/tmp/runs"));
    let plan = world.labctl(&["plan", "lab.toml"]);
    plan.expect(0, "plan after an edit");
    assert!(plan.stdout.contains("provision"), "{}", plan.stdout);
    let edited = world.labctl(&["--json", "up", "lab.toml"]);
    edited.expect(0, "up after an edit");
    let mut ran = steps_run(&edited);
    ran.sort();
    assert_eq!(
        ran,
        ["node1:second", "node1:third", "node2:second", "node2:third"]
    );
    assert_eq!(
        runs_on(&world, "node1"),
        "first\nsecond\nthird\nsecond-edited\nthird\n"
    );

    // A failing step stops its VM, says where the step is and what it printed.
    world.write(
        "lab.toml",
        &lab("echo going wrong; echo really wrong >&2; exit 7"),
    );
    let failed = world.labctl(&["up", "lab.toml"]);
    failed.expect(3, "up with a failing step");
    let text = failed.all();
    assert!(text.contains("exited with status 7"), "{text}");
    assert!(
        text.contains("really wrong"),
        "the last lines of output: {text}"
    );
    let line = lab("x")
        .lines()
        .position(|line| line.contains("name = \"second\""))
        .expect("the step's line")
        + 1;
    assert!(
        text.contains(&format!("lab.toml:{line}:")),
        "the step's location (line {line}): {text}"
    );

    // Fixed, the next up resumes from the failed step.
    world.write("lab.toml", &lab("echo second-fixed >> /var/tmp/runs"));
    let resumed = world.labctl(&["--json", "up", "lab.toml"]);
    resumed.expect(0, "up after the fix");
    let mut ran = steps_run(&resumed);
    ran.sort();
    assert_eq!(
        ran,
        ["node1:second", "node1:third", "node2:second", "node2:third"]
    );

    // --force runs everything again, on the VMs named.
    let forced = world.labctl(&["--json", "provision", "lab.toml", "node2", "--force"]);
    forced.expect(0, "provision --force");
    assert_eq!(
        steps_run(&forced),
        ["node2:first", "node2:second", "node2:third"]
    );
    assert!(
        forced
            .stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .any(|event| event["event"] == "started" && event["command"] == "provision"),
        "the run says it provisions: {}",
        forced.stdout
    );
    let none = world.labctl(&["provision", "lab.toml"]);
    none.expect(0, "provision with nothing to do");
    assert!(none.stdout.contains("nothing to do"), "{}", none.stdout);

    for run in [&first, &again, &edited, &failed, &resumed, &forced] {
        assert!(
            !run.all().contains(PASSWORD),
            "the password leaked: {}",
            run.all()
        );
    }
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn a_changed_host_key_on_the_same_vm_is_refused_and_a_recreated_vm_is_pinned_afresh() {
    let world = World::new("pin");
    world.write("lab.toml", &lab("true"));
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    world
        .labctl(&["exec", "lab.toml", "node1", "--", "true"])
        .expect(0, "exec with the pinned key");
    // Someone regenerates node1's host keys; the VM stays the same VM.
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "node1",
            "--",
            "sudo sh -c 'rm -f /etc/ssh/ssh_host_*_key* && ssh-keygen -A'",
        ])
        .expect(0, "regenerate host keys");
    world.vbox_ok(&["controlvm", "prov-node1", "reset"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let refused = world.labctl(&["exec", "lab.toml", "node1", "--", "true"]);
    refused.expect(3, "exec after the host key changed");
    assert!(
        refused.stderr.to_lowercase().contains("host key") && refused.stderr.contains("node1"),
        "a clear refusal: {}",
        refused.stderr
    );
    world
        .labctl(&["exec", "lab.toml", "node2", "--", "true"])
        .expect(0, "the other VM is unaffected");
    // Recreated, the VM is a new VM with a new pin.
    world
        .labctl(&["destroy", "lab.toml", "node1", "--yes"])
        .expect(0, "destroy node1");
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "recreate node1");
    world
        .labctl(&["exec", "lab.toml", "node1", "--", "true"])
        .expect(0, "exec on the recreated VM");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

/// Whatever answers at a VM's address on first contact must be that VM (one of its MACs)
/// before its host key is pinned: here node1 takes node2's address, node2's pin is gone.
#[test]
fn a_first_contact_with_another_vm_at_the_address_is_refused_and_nothing_pinned() {
    let world = World::new("who");
    world.write("lab.toml", &lab("true").replace("\"prov\"", "\"who\""));
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "node2",
            "--",
            "sudo sh -c 'nohup sh -c \"sleep 1; ip addr del 192.168.56.62/24 dev eth0\" >/dev/null 2>&1 &'",
        ])
        .expect(0, "node2 lets its address go");
    std::thread::sleep(std::time::Duration::from_secs(2));
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "node1",
            "--",
            "sudo ip addr add 192.168.56.62/24 dev eth0",
        ])
        .expect(0, "node1 takes it");
    // The host forgets node2's MAC for the address, as it would after a while.
    world
        .host("ip", &["neigh", "flush", "to", "192.168.56.62"])
        .expect(0, "flush the host's neighbour entry");
    let pins_path = world.dir.join(".labctl/who/hostkeys.json");
    let mut pins: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&pins_path).expect("pins")).expect("JSON");
    pins.retain(|_, pin| pin["vm"] != "node2");
    std::fs::write(&pins_path, serde_json::to_string(&pins).unwrap()).unwrap();

    let refused = world.labctl(&["exec", "lab.toml", "node2", "--", "hostname"]);
    refused.expect(3, "exec reaching node1 at node2's address");
    assert!(
        refused
            .stderr
            .contains("the machine answering at 192.168.56.62:22 is not `node2`"),
        "{}",
        refused.all()
    );
    assert!(!refused.stdout.contains("node1"), "{}", refused.stdout);
    let pins = std::fs::read_to_string(&pins_path).unwrap();
    assert_eq!(
        pins.matches("\"node2\"").count(),
        0,
        "node1's key was not pinned as node2's: {pins}"
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn exec_and_ssh_pass_the_exit_status_through() {
    let world = World::new("exec");
    world.write("lab.toml", &lab("true"));
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    let one = world.labctl(&["exec", "lab.toml", "node2", "--", "hostname; exit 5"]);
    one.expect(5, "exec with status 5");
    assert_eq!(one.stdout, "prov-node2\n");
    let all = world.labctl(&["exec", "lab.toml", "--all", "--", "echo $(hostname) here"]);
    all.expect(0, "exec --all");
    assert!(
        all.stdout.contains("node1 | prov-node1 here"),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout.contains("node2 | prov-node2 here"),
        "{}",
        all.stdout
    );
    let ssh = world.labctl(&["ssh", "lab.toml", "node1", "--", "id -un; exit 4"]);
    ssh.expect(4, "ssh with a command");
    assert_eq!(ssh.stdout.trim(), "student");
    assert!(!ssh.all().contains(PASSWORD));
    let unknown = world.labctl(&["exec", "lab.toml", "nod1", "--", "true"]);
    unknown.expect(2, "exec on a misspelt VM");
    assert!(
        unknown.stderr.contains("did you mean `node"),
        "{}",
        unknown.stderr
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}
