//! Crash safety: `up` killed with SIGKILL at random points, or stopped by a failed ownership
//! mark, each time followed by an `up` that converges and a `destroy` that leaves no VM, disk
//! or network behind.

use std::time::{Duration, Instant};

use crate::world::{World, finish, lab_preamble};

fn lab(name: &str) -> String {
    lab_preamble(name)
        + r#"
# A large pool: each round's guests boot afresh and their DHCP clients (ifupdown runs dhclient
# with `-i`) identify themselves by a new time-based DUID, so each round takes new leases, kept
# 10 minutes as VirtualBox's DHCP server keeps them: a /24 pool runs out after about 77 rounds.
[networks.back]
type = "natnetwork"
cidr = "10.30.0.0/16"
dhcp_range = "10.30.1.1-10.30.255.254"

[defaults]
provision = [{ run = "hostname > /tmp/me" }, { text = "hello\n", to = "/tmp/hello" }]

[vms.node]
count = 2
nics = [{ net = "lab", ip = "192.168.56.51" }, { net = "back" }]

[vms.edge]
nics = [{ net = "lab", ip = "192.168.56.50" }]
after = ["node"]
"#
}

/// A small deterministic generator (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed with LABCTL_KILL_SEED.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn assert_converged(world: &World, round: usize, delay: u64) {
    let mut vms = world.vm_names();
    vms.sort();
    assert_eq!(
        vms,
        [
            "crash-edge",
            "crash-master-base",
            "crash-node1",
            "crash-node2"
        ],
        "round {round} (killed after {delay} ms): the lab's VMs and nothing else"
    );
    let answered = world.labctl(&["exec", "lab.toml", "--all", "--", "cat /tmp/me /tmp/hello"]);
    answered.expect(
        0,
        &format!("round {round}: every VM answers and is provisioned"),
    );
    for vm in ["crash-node1", "crash-node2"] {
        assert!(
            answered.stdout.contains(vm),
            "round {round}: {}",
            answered.stdout
        );
    }
}

/// `when` says which moment of the test is checked, for the failure message.
fn assert_nothing_left(world: &World, when: &str) {
    let vms = world.vm_names();
    assert!(vms.is_empty(), "{when}: VMs left: {vms:?}");
    for list in ["hostonlyifs", "natnets", "dhcpservers"] {
        let listed = world.vbox_ok(&["list", list]);
        let names: Vec<&str> = listed
            .lines()
            .filter(|line| line.starts_with("Name:") || line.starts_with("NetworkName:"))
            .collect();
        assert!(names.is_empty(), "{when}: {list} left: {listed}");
    }
    let marks = world.vbox_ok(&["getextradata", "global", "enumerate"]);
    assert!(
        !marks.contains("labctl/"),
        "{when}: ownership marks left: {marks}"
    );
    let files: Vec<String> = world
        .machine_files()
        .into_iter()
        .filter(|file| file.starts_with("labctl/"))
        .collect();
    assert!(files.is_empty(), "{when}: files left: {files:?}");
}

#[test]
fn up_killed_at_random_points_converges_and_destroys_cleanly() {
    let world = World::new("kill");
    world.write("lab.toml", &lab("crash"));
    let began = Instant::now();
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "a full up, to time it");
    let full = began.elapsed().as_millis() as u64;
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "after the first destroy");

    let seed = std::env::var("LABCTL_KILL_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64 | 1)
        });
    eprintln!("kill test: seed {seed} (LABCTL_KILL_SEED replays it), full up {full} ms");
    let mut random = Random(seed);
    // 20 rounds in `scripts/test`; `bench/kill-rounds` runs more.
    let rounds: usize = std::env::var("LABCTL_KILL_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(20);
    for round in 1..=rounds {
        let delay = random.next() % full.max(1);
        let child = world.spawn_labctl(&["up", "lab.toml"], &[]);
        std::thread::sleep(Duration::from_millis(delay));
        // SAFETY: sending SIGKILL to the child this test started.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
        let killed = finish(child);
        // A guest boots in about a second here: a minute is plenty, and a failure says so soon.
        let again = world.labctl(&["up", "lab.toml", "--boot-timeout", "60"]);
        again.expect(
            0,
            &format!(
                "round {round}: up after a kill at {delay} ms (killed run said: {})\n{}",
                killed.all(),
                if again.code == 0 {
                    String::new()
                } else {
                    world.diagnostics()
                }
            ),
        );
        assert_converged(&world, round, delay);
        world
            .labctl(&["destroy", "lab.toml", "--yes"])
            .expect(0, &format!("round {round}: destroy"));
        assert_nothing_left(&world, &format!("round {round} (killed after {delay} ms)"));
    }
    eprintln!("kill test: {rounds} of {rounds} rounds converged, nothing left behind");
}

/// The narrow window between creating a network and marking it as the lab's, made wide: every
/// mark fails, as it would with VirtualBox.xml unwritable, so `up` stops at its first network.
#[test]
fn networks_whose_ownership_mark_failed_are_never_left_behind() {
    let world = World::new("mark");
    world.write("lab.toml", &lab("mark"));
    world.fault(&["global-extradata-fail", "100"]);
    let failed = world.labctl(&["up", "lab.toml"]);
    assert_ne!(
        failed.code,
        0,
        "up with every mark failing: {}",
        failed.all()
    );
    assert!(
        failed.all().contains("VirtualBox.xml"),
        "the failure names its cause: {}",
        failed.all()
    );
    world.fault(&["clear"]);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy after the failed up");
    assert_nothing_left(&world, "destroy after the failed up");
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "up once marks can be written");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "destroy after a full up");
}

/// VirtualBox does not list a DHCP server's reservations back, so a run that created a server
/// and stopped before adding them (here: `dhcpserver modify` fails) must leave the next run
/// knowing they are missing, although every VM already exists.
#[test]
fn reservations_a_failed_run_never_made_are_made_by_the_next() {
    let world = World::new("resv");
    world.write("lab.toml", &lab("resv"));
    world.fault(&["dhcp-modify-fail", "1"]);
    let failed = world.labctl(&["up", "lab.toml"]);
    assert_ne!(
        failed.code,
        0,
        "up with the reservations failing: {}",
        failed.all()
    );
    assert!(
        failed.all().contains("VirtualBox.xml"),
        "the failure names its cause: {}",
        failed.all()
    );
    let mut vms = world.vm_names();
    vms.sort();
    assert!(
        vms.contains(&"resv-node1".to_string()),
        "the VMs were made meanwhile: {vms:?}"
    );
    world
        .labctl(&["up", "lab.toml", "--boot-timeout", "60"])
        .expect(0, "the next up makes the reservations");
    world
        .labctl(&["exec", "lab.toml", "--all", "--", "cat /tmp/me"])
        .expect(0, "every VM answers at its fixed address");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "destroy");
}

/// SIGKILL ends labctl, not the VBoxManage it runs: here a `startvm` (slowed by a fault) goes
/// on after its labctl died. The next `up` must let it finish before planning, or it plans a
/// second start of a VM that the orphan is starting ("already locked by a session").
#[test]
fn a_killed_ups_vboxmanage_calls_finish_before_the_next_up_plans() {
    let world = World::new("orphan");
    world.write("lab.toml", &lab("orphan"));
    world.fault(&["startvm-delay", "3000"]);
    let child = world.spawn_labctl(&["up", "lab.toml"], &[]);
    wait_for_call_in_flight(&world, "orphan", "startvm");
    // SAFETY: SIGKILL to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = finish(child);
    // Every start stays slow, so that without waiting the orphan would claim the VM while the
    // next up's own start of it is under way.
    let next = world.labctl(&["up", "lab.toml"]);
    next.expect(0, "up right after the kill");
    assert!(
        next.stderr.contains("note: waited for `VBoxManage startvm"),
        "{}",
        next.stderr
    );
    world
        .labctl(&["exec", "lab.toml", "--all", "--", "cat /tmp/me"])
        .expect(0, "every VM answers");
    world.fault(&["startvm-delay", "0"]);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "destroy");
}

#[test]
fn ctrl_c_stops_up_with_exit_130_and_the_next_up_converges() {
    let world = World::new("int");
    world.write("lab.toml", &lab("int"));
    let child = world.spawn_labctl(&["up", "lab.toml"], &[("VBOXSIM_TIME_SCALE", "0.05")]);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending SIGINT to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let interrupted = finish(child);
    interrupted.expect(130, "up interrupted");
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "up after Ctrl-C");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert!(world.vm_names().is_empty());
}

/// Waits until `labctl` has a VBoxManage call whose command line contains `what` in flight.
fn wait_for_call_in_flight(world: &World, lab: &str, what: &str) {
    let inflight = world.dir.join(format!(".labctl/{lab}/inflight"));
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(&inflight)
            .map(|entries| {
                entries.flatten().any(|entry| {
                    std::fs::read_to_string(entry.path()).is_ok_and(|text| text.contains(what))
                })
            })
            .unwrap_or(false);
        if found {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no `{what}` was ever in flight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(child: &std::process::Child) {
    // SAFETY: SIGINT to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
}

/// Ctrl-C while `up` waits for SSH: the wait stops at once and is reported as interrupted,
/// not as a failure, after a line that says what the run still waits for.
#[test]
fn ctrl_c_during_the_ssh_wait_is_an_interruption_not_a_failure() {
    let world = World::new("intssh");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.52\" }}]\n",
            lab_preamble("intssh")
        ),
    );
    world.fault(&["no-sshd", "on"]);
    let child = world.spawn_labctl(&["up", "lab.toml", "--boot-timeout", "600"], &[]);
    let started = Instant::now();
    while !world.vbox_ok(&["list", "runningvms"]).contains("intssh-a") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let asked = Instant::now();
    let stopped = finish(child);
    stopped.expect(130, "up interrupted while waiting for SSH");
    let waited = asked.elapsed();
    let text = stopped.all();
    assert!(
        waited < Duration::from_secs(60),
        "Ctrl-C took {waited:?}, as long as an SSH timeout:\n{text}"
    );
    assert!(
        text.contains("stopping (Ctrl-C): nothing else starts"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.contains(" a ") && line.contains(" interrupted (")),
        "{text}"
    );
    assert!(!text.contains("FAILED"), "{text}");
    assert!(text.contains("1 interrupted"), "{text}");
    // The guest booted without sshd keeps running without it: start it again.
    world.fault(&["no-sshd", "off"]);
    world.vbox_ok(&["controlvm", "intssh-a", "poweroff"]);
    world
        .labctl(&["up", "lab.toml"])
        .expect(0, "up after the interruption");
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "destroy");
}

/// The first Ctrl-C names what the run waits for (here a slow `startvm`); the second leaves at
/// once, the call goes on, and the next `up` waits for it and converges.
#[test]
fn a_second_ctrl_c_leaves_at_once_and_the_next_up_waits_for_what_was_left() {
    let world = World::new("int2");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.53\" }}]\n",
            lab_preamble("int2")
        ),
    );
    world.fault(&["startvm-delay", "8000"]);
    let child = world.spawn_labctl(&["up", "lab.toml"], &[]);
    wait_for_call_in_flight(&world, "int2", "startvm");
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&child);
    let left = finish(child);
    left.expect(130, "up left at the second Ctrl-C");
    let text = left.all();
    assert!(
        text.contains("stopping (Ctrl-C): nothing else starts; waiting for #")
            && text.contains("start int2-a")
            && text.contains("Ctrl-C again to leave it running"),
        "{text}"
    );
    assert!(text.contains("interrupted again: leaving now"), "{text}");
    assert!(
        !text.contains("done,"),
        "the run did not wait for the start to finish:\n{text}"
    );
    world.fault(&["startvm-delay", "0"]);
    let next = world.labctl(&["up", "lab.toml"]);
    next.expect(0, "up after leaving");
    assert!(
        next.stderr.contains("note: waited for `VBoxManage startvm"),
        "{}",
        next.stderr
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
    assert_nothing_left(&world, "destroy");
}
