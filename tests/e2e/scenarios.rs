//! Scenarios on real guests: a replica added (a linked clone with fresh MACs) and removed,
//! VMs stopped and started, steps run on a group, a VM cloned and its MACs compared, checks
//! after each act with their own expectations, and a report per act.

use serde_json::Value;

use crate::world::{World, lab_preamble};

fn lab() -> String {
    lab_preamble("scen")
        + r#"
[vms.node]
count = 2
nics = [{ net = "lab", ip = "192.168.56.91" }]
provision = [
  { text = "{{ vm.name }} of {{ vm.count }}\n", to = "/srv/me" },
  { text = "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n", to = "/etc/systemd/system/idle.service" },
  { run = "systemctl enable idle && systemctl start idle" },
]
"#
}

const SCENARIO: &str = r#"
[scenario]
name = "grow-and-shrink"
description = "a third replica comes and goes"
lab = "lab.toml"

[[act]]
name = "two replicas"

[[act.checks]]
name = "two replicas answer"
command = "cat /srv/me"
on = "node"
output = "^{{ vm.name }} of 2$"

[[act]]
name = "a third replica joins"
add = "node"

[[act.checks]]
name = "node3 answers at the next address"
ping = "node3"

[[act.checks]]
name = "node3 is provisioned like the others"
command = "cat /srv/me"
on = "node3"
output = "^node3 of 3$"

[[act]]
name = "node1 goes down"
stop = "node1"

[[act.checks]]
name = "node1 no longer answers"
command = "ping -c 1 -W 1 {{ vms.node1.ip }} >/dev/null && echo up || echo down"
on = "node2"
output = "^down$"

[[act]]
name = "node1 comes back"
start = "node1"

[[act.checks]]
name = "node1 answers again"
ping = "node1"

[[act.checks]]
name = "the service enabled on node1 started at boot"
command = "systemctl is-active idle"
on = "node1"
output = "^active$"

[[act.checks]]
name = "packages come from the appliance, never from the network"
command = "sudo apt-get install -y openssh-server >/dev/null && echo installed; sudo apt-get install -y no-such-package-here 2>&1 | grep -c 'Unable to locate package'"
on = "node1"
output = "^installed\n1$"

[[act]]
name = "mark every replica"
on = "node"
steps = [{ run = "echo marked > /srv/mark" }]

[[act.checks]]
name = "every replica is marked"
command = "cat /srv/mark"
on = "node"
output = "^marked$"

[[act]]
name = "a clone of node1 gets MACs of its own"
clone = "node1"

[[act]]
name = "the third replica leaves"
remove = "node3"

[[act.checks]]
name = "node3 is gone"
command = "ping -c 1 -W 1 192.168.56.93 >/dev/null && echo up || echo down"
on = "node1"
output = "^down$"
"#;

#[test]
fn a_scenario_adds_stops_starts_runs_and_removes_with_checks_after_each_act() {
    let world = World::new("scen");
    world.write("lab.toml", &lab());
    world.write("grow.toml", SCENARIO);
    world
        .labctl(&["scenario", "validate", "grow.toml"])
        .expect(0, "scenario validate");
    let run = world.labctl(&["scenario", "run", "grow.toml", "--junit", "acts.xml"]);
    run.expect(0, "scenario run");
    for act in [
        "two replicas",
        "a third replica joins",
        "node1 goes down",
        "the third replica leaves",
    ] {
        assert!(run.stdout.contains(act), "{act}: {}", run.stdout);
    }
    let names = world.vm_names();
    assert!(!names.contains(&"scen-node3".to_string()), "{names:?}");
    let junit = std::fs::read_to_string(world.dir.join("acts.xml")).expect("acts.xml");
    let parsed = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).expect("JUnit");
    assert_eq!(parsed.suites.len(), 7, "a suite per act with checks");
    assert_eq!(parsed.failures, 0);
    let clone_suite = parsed
        .suites
        .iter()
        .find(|suite| suite.name.contains("a clone of node1"))
        .expect("the clone act's suite");
    assert_eq!(
        clone_suite.cases[0].original_name,
        "a clone of node1 has MACs of its own"
    );
    assert!(
        names.iter().all(|name| !name.ends_with("-clone")),
        "the clone is deleted after the comparison: {names:?}"
    );

    // Run again: the lab is back to two replicas, so the scenario holds again.
    let again = world.labctl(&["--json", "scenario", "run", "grow.toml"]);
    again.expect(0, "the scenario a second time");
    let last = again.stdout.lines().last().unwrap_or("");
    let document: Value = serde_json::from_str(last).expect("the report ends the JSON Lines");
    assert_eq!(document["passed"], true);
    assert_eq!(document["suites"].as_array().map(Vec::len), Some(7));
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}
