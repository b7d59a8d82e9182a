//! The course labs, end to end on the simulated VirtualBox, with the lab and scenario files as
//! shipped (only the appliance pointed at a simulated one): each lab comes up, verifies with
//! every check passing, runs each of its scenarios, and is destroyed without a trace. Between
//! them they cover every emulated VirtualBox release (6.1, 7.0, 7.1, 7.2) and both appliance
//! flavours (`course`: no Guest Additions, eth0 only; `box`: Guest Additions); exam3 runs on
//! each discovery service a machine here can install (etcd, ZooKeeper).

use std::path::Path;

use crate::world::World;

/// Copies `labs/` and `scenarios/` into the world's folder, so that the lab's state folder
/// (lock, pins, step hashes) belongs to this test's VirtualBox only.
fn copy_course_files(world: &World) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for top in ["labs", "scenarios"] {
        let mut stack = vec![repo.join(top)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("read course files")
                .flatten()
            {
                let path = entry.path();
                let relative = path.strip_prefix(repo).expect("inside the repo");
                if relative
                    .components()
                    .any(|part| part.as_os_str() == ".labctl")
                {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let target = world.dir.join(relative);
                    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                    std::fs::copy(&path, &target).expect("copy a course file");
                }
            }
        }
    }
}

/// The course appliance's login, as the lab sheet gives it, of an appliance flavour.
fn appliance(world: &World, flavour: &str) -> String {
    let path = world.dir.join("ubuntu-lab.ova");
    let made = std::process::Command::new(crate::world::vboxsim())
        .args(["make-ova", "--flavour", flavour, "--out"])
        .arg(&path)
        .args([
            "--name",
            "ubuntu-lab",
            "--user",
            "ubuntu",
            "--password",
            "reverse",
        ])
        .output()
        .expect("make-ova");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    format!("ubuntu={}", path.display())
}

/// A check of a course lab broken on purpose: it must fail, with what it found, and pass again
/// once repaired.
struct Breakage {
    /// The check's name.
    check: &'static str,
    /// The VM broken, and how (a shell command run as root).
    vm: &'static str,
    break_with: &'static str,
    /// What the failed check's `actual` shows.
    actual_has: &'static str,
    /// How it is repaired (on the same VM), then a command on `settled_on` that exits 0 once the
    /// lab is whole again.
    repair_with: &'static str,
    settled_on: &'static str,
    settled: &'static str,
}

/// A course lab in its world, with the `--var` overrides every labctl call of the run is given.
struct CourseRun<'a> {
    world: &'a World,
    lab_file: String,
    vars: &'a [&'a str],
}

impl CourseRun<'_> {
    fn labctl(&self, args: &[&str]) -> crate::world::Run {
        let mut all: Vec<&str> = Vec::new();
        for var in self.vars {
            all.extend(["--var", var]);
        }
        all.extend(args);
        self.world.labctl(&all)
    }

    fn exec(&self, vm: &str, command: &str, what: &str) {
        self.labctl(&[
            "exec",
            &self.lab_file,
            vm,
            "--",
            &format!("sudo sh -c '{command}'"),
        ])
        .expect(0, what);
    }
}

fn break_and_repair(run: &CourseRun, breakage: &Breakage) {
    let what = breakage.check;
    let lab_file = run.lab_file.as_str();
    run.exec(breakage.vm, breakage.break_with, &format!("break `{what}`"));
    let broken = run.labctl(&["--json", "verify", lab_file, "--only", what]);
    broken.expect(1, &format!("`{what}` with its subject broken"));
    let report: serde_json::Value = serde_json::from_str(&broken.stdout).expect("JSON report");
    let check = &report["suites"][0]["checks"][0];
    assert_eq!(check["passed"], false, "{check}");
    let actual = check["actual"].as_str().unwrap_or_default();
    assert!(
        actual.contains(breakage.actual_has)
            && !check["expected"].as_str().unwrap_or("").is_empty(),
        "`{what}` broken: expected {}, actual {actual}",
        check["expected"]
    );
    run.exec(
        breakage.vm,
        breakage.repair_with,
        &format!("repair `{what}`"),
    );
    run.exec(
        breakage.settled_on,
        &format!(
            "for i in $(seq 60); do {} && exit 0; sleep 1; done; exit 1",
            breakage.settled
        ),
        &format!("`{what}` settles after the repair"),
    );
    run.labctl(&["verify", lab_file, "--only", what])
        .expect(0, &format!("`{what}` repaired"));
}

/// What a course lab's test runs: the lab, with `--var` overrides, its scenarios, on which
/// emulated VirtualBox release and appliance flavour, and which checks it breaks on purpose.
struct CourseLab<'a> {
    tag: &'a str,
    lab: &'a str,
    vars: &'a [&'a str],
    scenarios: &'a [&'a str],
    version: Option<&'a str>,
    flavour: &'a str,
    /// A VM whose second NIC shows how labctl configured it for the flavour.
    guest: &'a str,
    breakages: &'a [Breakage],
}

fn course_lab(lab: CourseLab) {
    let mut world = World::new(lab.tag);
    if let Some(version) = lab.version {
        world = world.emulating(version);
    }
    copy_course_files(&world);
    let image = appliance(&world, lab.flavour);
    let run = CourseRun {
        world: &world,
        lab_file: format!("labs/{}.toml", lab.lab),
        vars: lab.vars,
    };
    let lab_file = run.lab_file.as_str();
    run.labctl(&["up", lab_file, "--image", &image])
        .expect(0, &format!("up {lab_file}"));
    let verify = run.labctl(&["verify", lab_file, "--junit", "reports/verify.xml"]);
    verify.expect(0, &format!("verify {lab_file}"));
    assert!(verify.stdout.contains("(100.0%)"), "{}", verify.stdout);
    // The appliance configured adapter 1 only; labctl configured adapter 2 with the flavour's
    // own network system, under the name the flavour's kernel gives it.
    let configured_by_labctl = match lab.flavour {
        "ubuntu" => {
            "test ! -e /etc/network/interfaces && grep -q \"^    enp0s8:\" /etc/netplan/90-labctl.yaml && ip -4 -o addr show dev enp0s8 | grep -q inet"
        }
        _ => {
            "grep -q \"^iface eth1 inet\" /etc/network/interfaces.d/labctl && ip -4 -o addr show dev eth1 | grep -q inet"
        }
    };
    run.exec(
        lab.guest,
        configured_by_labctl,
        &format!("{}: adapter 2 configured by labctl", lab.guest),
    );
    for breakage in lab.breakages {
        break_and_repair(&run, breakage);
    }
    for scenario in lab.scenarios {
        let file = format!("scenarios/{scenario}.toml");
        run.labctl(&["scenario", "run", &file, "--image", &image])
            .expect(0, &format!("scenario {file}"));
    }
    // The lab still verifies after its scenarios (they put back what they changed).
    run.labctl(&["verify", lab_file])
        .expect(0, &format!("verify {lab_file} after its scenarios"));
    run.labctl(&["destroy", lab_file, "--yes"])
        .expect(0, &format!("destroy {lab_file}"));
    assert!(world.vm_names().is_empty(), "{:?}", world.vm_names());
    let left: Vec<String> = world
        .machine_files()
        .into_iter()
        .filter(|file| file.starts_with("labctl/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// On VirtualBox 6.1, the course appliance; etcd, the default discovery service.
#[test]
fn exam3_comes_up_verifies_adds_a_replica_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "exam3",
        lab: "exam3",
        vars: &[],
        scenarios: &["exam3-add-replica"],
        version: Some("6.1.50r161033"),
        flavour: "course",
        guest: "lb",
        breakages: &[Breakage {
            check: "HAProxy's stats page lists every replica as UP",
            vm: "web2",
            break_with: "systemctl stop microservice",
            actual_has: "web1 UP",
            repair_with: "systemctl start microservice",
            settled_on: "lb",
            settled: "curl -fsS \"http://127.0.0.1:8181/;csv\" | grep -q \"^microservices,web2,.*,UP,\"",
        }],
    });
}

/// On VirtualBox 7.0, the course appliance; ZooKeeper as the discovery service. The replicas
/// are ephemeral znodes: one whose service stops leaves ZooKeeper's listing, and comes back.
#[test]
fn exam3_on_zookeeper_comes_up_verifies_adds_a_replica_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "exam3zk",
        lab: "exam3",
        vars: &["discovery=zookeeper"],
        scenarios: &["exam3-add-replica"],
        version: Some("7.0.20r163906"),
        flavour: "course",
        guest: "lb",
        breakages: &[Breakage {
            check: "ZooKeeper lists three instances",
            vm: "web3",
            break_with: "systemctl stop microservice",
            actual_has: "2",
            repair_with: "systemctl start microservice",
            settled_on: "lb",
            settled: "curl -fsS \"http://127.0.0.1:8181/;csv\" | grep -q \"^microservices,web3,.*,UP,\"",
        }],
    });
}

/// On VirtualBox 7.1, the course appliance.
#[test]
fn escalamiento_comes_up_verifies_switches_to_least_conn_fails_over_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "escal",
        lab: "escalamiento",
        vars: &[],
        scenarios: &["escalamiento-least-conn", "escalamiento-failover"],
        version: Some("7.1.4r165100"),
        flavour: "course",
        guest: "app1",
        breakages: &[
            Breakage {
                check: "the host reaches app2 on vboxnet0",
                vm: "app2",
                break_with: "sysctl -qw net.ipv4.icmp_echo_ignore_all=1",
                actual_has: "app2",
                repair_with: "sysctl -qw net.ipv4.icmp_echo_ignore_all=0",
                settled_on: "app2",
                settled: "true",
            },
            Breakage {
                check: "app2's way out is NatNetwork (adapter 2)",
                vm: "app2",
                break_with: "ip route show default > /run/default-route && ip route del default",
                actual_has: "does not match",
                repair_with: "ip route add $(cat /run/default-route)",
                settled_on: "app2",
                settled: "ip route show default | grep -q via",
            },
            Breakage {
                check: "ActiveMQ's web console lists the chat's topic",
                vm: "app1",
                break_with: "sed -i s/^admin:.*/admin:\\ changed,\\ admin/ /etc/activemq/instances-enabled/main/jetty-realm.properties && systemctl restart activemq",
                actual_has: "status 401 (expected 200)",
                repair_with: "sed -i s/^admin:.*/admin:\\ admin,\\ admin/ /etc/activemq/instances-enabled/main/jetty-realm.properties && systemctl restart activemq",
                settled_on: "app2",
                settled: "curl -fsS http://192.168.56.31:8080/health | grep -q connected && curl -fsS http://192.168.56.32:8080/health | grep -q connected && curl -fsS -o /dev/null -u admin:admin http://192.168.56.31:8161/api/jolokia/version",
            },
            Breakage {
                check: "NGINX's upstream log shows requests served by both apps",
                vm: "app1",
                break_with: "systemctl stop app",
                actual_has: "does not match",
                repair_with: "systemctl start app",
                settled_on: "app2",
                settled: "curl -fsS http://192.168.56.31:8080/health | grep -q connected",
            },
        ],
    });
}

/// On VirtualBox 7.0, a Vagrant-style box with Guest Additions.
#[test]
fn voting_comes_up_counts_every_vote_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "voting",
        lab: "voting",
        vars: &[],
        scenarios: &[],
        version: None,
        flavour: "box",
        guest: "queue",
        breakages: &[],
    });
}

/// On VirtualBox 7.2, the course appliance: voting without Guest Additions.
#[test]
fn voting_on_the_course_appliance_comes_up_counts_every_vote_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "votingc",
        lab: "voting",
        vars: &[],
        scenarios: &[],
        version: Some("7.2.4r170995"),
        flavour: "course",
        guest: "queue",
        breakages: &[],
    });
}

/// On VirtualBox 7.1, an Ubuntu appliance: NICs `enp0s3`, `enp0s8`, …, netplan with systemd-networkd,
/// no ifupdown; labctl configures the second NIC through netplan.
#[test]
fn exam3_on_ubuntu_comes_up_verifies_adds_a_replica_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "exam3u",
        lab: "exam3",
        vars: &[],
        scenarios: &["exam3-add-replica"],
        version: Some("7.1.4r165100"),
        flavour: "ubuntu",
        guest: "lb",
        breakages: &[],
    });
}

/// On VirtualBox 7.2 (its NAT network DHCP defaults differ from 7.1's), an Ubuntu appliance.
#[test]
fn escalamiento_on_ubuntu_comes_up_switches_to_least_conn_fails_over_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "escalu",
        lab: "escalamiento",
        vars: &[],
        scenarios: &["escalamiento-least-conn", "escalamiento-failover"],
        version: Some("7.2.4r170995"),
        flavour: "ubuntu",
        guest: "app1",
        breakages: &[],
    });
}

/// On VirtualBox 6.1, an Ubuntu appliance.
#[test]
fn voting_on_ubuntu_comes_up_counts_every_vote_and_is_destroyed() {
    course_lab(CourseLab {
        tag: "votingu",
        lab: "voting",
        vars: &[],
        scenarios: &[],
        version: Some("6.1.50r161033"),
        flavour: "ubuntu",
        guest: "queue",
        breakages: &[],
    });
}
