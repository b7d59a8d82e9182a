//! Benchmarks on the simulated VirtualBox with its latency model on (real VirtualBox timings,
//! scaled): `up` wall time against the lab's critical path and against one-action-at-a-time
//! bring-up (what Vagrant does), re-`up` of an up-to-date lab, VBoxManage calls per VM
//! created, `status` of a 14-VM lab, and `verify` wall time against its slowest check.
//! Prints `name: value unit` lines. Needs root (simulated worlds); fails saying so otherwise.

#[path = "../tests/e2e/world.rs"]
#[allow(dead_code)]
mod world;

use std::time::Instant;

use serde_json::Value;
use world::{World, calls, lab_preamble};

/// The latency model's factor: real VirtualBox timings × this.
const SCALE: &str = "0.1";

/// db → three web replicas → lb: the critical path is db, one web, lb.
fn lab(name: &str) -> String {
    format!(
        r#"
{preamble}

[networks.back]
type = "natnetwork"
cidr = "10.40.0.0/24"

[defaults]
provision = [{{ run = "hostname > /tmp/me" }}, {{ text = "{{{{ vm.name }}}}\n", to = "/srv/name" }}]

[vms.db]
nics = [{{ net = "lab", ip = "192.168.56.30" }}, {{ net = "back" }}]

[vms.web]
count = 3
nics = [{{ net = "lab", ip = "192.168.56.21" }}, {{ net = "back" }}]
after = ["db"]

[vms.lb]
nics = [{{ net = "lab", ip = "192.168.56.10" }}, {{ net = "back" }}]
after = ["web"]

[[checks]]
name = "every VM answers ping"
ping = "web"

[[checks]]
name = "ssh ports"
port = 22
on = "web"

[[checks]]
name = "names in place"
command = "cat /srv/name"
on = "web"
output = "{{{{ vm.name }}}}"

[[checks]]
name = "lb reaches db"
ping = "db"
from = "lb"
"#,
        preamble = lab_preamble(name)
    )
}

fn timed(world: &World, args: &[&str], env: &[(&str, &str)]) -> f64 {
    let began = Instant::now();
    world.labctl_with(args, env).expect(0, &args.join(" "));
    began.elapsed().as_secs_f64()
}

fn main() {
    let latency = [("VBOXSIM_TIME_SCALE", SCALE)];

    // The critical path: db, then one web replica, then lb — the longest `after` chain, each
    // VM after the one before, with the appliance imported once.
    let chain = World::new("bcrit");
    chain.write("lab.toml", &lab("bcrit"));
    let critical = timed(&chain, &["up", "lab.toml", "db"], &latency)
        + timed(&chain, &["up", "lab.toml", "web1"], &latency);
    // lb needs every web replica; bring the other two up untimed, then time lb alone.
    chain
        .labctl_with(&["up", "lab.toml", "web2", "web3"], &latency)
        .expect(0, "web2 web3");
    let critical = critical + timed(&chain, &["up", "lab.toml", "lb"], &latency);
    drop(chain);

    // The whole lab at once, with a call log.
    let world = World::new("bpar");
    world.write("lab.toml", &lab("bpar"));
    let log = world.dir.join("calls.jsonl");
    let log_text = log.display().to_string();
    let parallel = timed(
        &world,
        &["up", "lab.toml"],
        &[
            ("VBOXSIM_TIME_SCALE", SCALE),
            ("VBOXSIM_CALL_LOG", &log_text),
        ],
    );
    let calls = calls(&log);
    let status: Value =
        serde_json::from_str(&world.labctl(&["--json", "status", "lab.toml"]).stdout)
            .expect("status JSON");
    let mut per_vm = Vec::new();
    for row in status["vms"].as_array().expect("rows") {
        let name = row["vbox_name"].as_str().unwrap_or_default().to_string();
        let uuid = row["uuid"].as_str().unwrap_or_default().to_string();
        let count = calls
            .iter()
            .filter(|argv| argv.iter().any(|arg| *arg == name || *arg == uuid))
            .count();
        per_vm.push(count);
    }
    let reup = {
        let mut best = f64::MAX;
        for _ in 0..5 {
            best = best.min(timed(&world, &["up", "lab.toml"], &latency));
        }
        best
    };

    // verify: every check in parallel; the wall time against the slowest check.
    let began = Instant::now();
    let verify = world.labctl(&["--json", "verify", "lab.toml"]);
    let verify_wall = began.elapsed().as_secs_f64();
    verify.expect(0, "verify");
    let report: Value =
        serde_json::from_str(verify.stdout.lines().last().unwrap_or("")).expect("verify JSON");
    let verify_run = report["suites"][0]["seconds"]
        .as_f64()
        .unwrap_or(verify_wall);
    let slowest = report["suites"][0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|check| check["seconds"].as_f64())
        .fold(0.0, f64::max);
    drop(world);

    // One action at a time (Vagrant brings machines up one after another).
    let serial = World::new("bser");
    serial.write("lab.toml", &lab("bser"));
    let one_at_a_time = timed(&serial, &["up", "lab.toml", "--jobs", "1"], &latency);
    drop(serial);

    // status of a 14-VM lab, each VM with a DHCP adapter whose lease status reads.
    let big = World::new("bbig");
    big.write(
        "lab.toml",
        &(lab_preamble("bbig")
            + "\n[networks.back]\ntype = \"natnetwork\"\ncidr = \"10.50.0.0/24\"\n\n[vms.node]\ncount = 14\nnics = [{ net = \"lab\", ip = \"192.168.56.41\" }, { net = \"back\" }]\n"),
    );
    big.labctl(&["up", "lab.toml"]).expect(0, "up of 14 VMs");
    let mut status_best = f64::MAX;
    for _ in 0..5 {
        status_best = status_best.min(timed(&big, &["status", "lab.toml"], &[]));
    }
    drop(big);

    let vms = per_vm.len().max(1);
    println!("up_wall_time: {parallel:.2} s");
    println!("up_critical_path: {critical:.2} s");
    println!(
        "up_over_critical_path: {:.3} ratio (target <= 1.10)",
        parallel / critical
    );
    println!("up_one_at_a_time: {one_at_a_time:.2} s");
    println!(
        "up_speedup_over_one_at_a_time: {:.2} ratio",
        one_at_a_time / parallel
    );
    println!("reup_wall_time: {reup:.3} s (target <= 0.3)");
    println!(
        "vboxmanage_calls_per_vm_created: {:.1} calls (max {}, target <= 6)",
        per_vm.iter().sum::<usize>() as f64 / vms as f64,
        per_vm.iter().max().copied().unwrap_or(0)
    );
    println!("status_14_vms: {status_best:.3} s (target <= 0.3)");
    println!(
        "verify_wall_time: {verify_run:.2} s (the checks' run, as labctl reports it: leases, logins, every check)"
    );
    println!("verify_slowest_check: {slowest:.2} s");
    println!(
        "verify_over_slowest_check: {:.3} ratio (target <= 1.2)",
        verify_run / slowest.max(0.001)
    );
    println!(
        "verify_command_wall_time: {verify_wall:.2} s (the whole command: start, lab file, inventory, reports)"
    );
    println!(
        "verify_command_over_slowest_check: {:.3} ratio",
        verify_wall / slowest.max(0.001)
    );
    println!("latency_scale: {SCALE} factor");
}
