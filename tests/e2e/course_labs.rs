//! The course labs, end to end on the simulated VirtualBox, with the lab and scenario files as
//! shipped (only the appliance pointed at a simulated one): each lab comes up, verifies with
//! every check passing, runs each of its scenarios, and is destroyed without a trace. Between
//! them they cover every emulated VirtualBox release (6.1, 7.0, 7.1) and both appliance
//! flavours (`course`: no Guest Additions, eth0 only; `box`: Guest Additions).

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

fn course_lab(tag: &str, lab: &str, scenarios: &[&str], version: Option<&str>, flavour: &str) {
    let mut world = World::new(tag);
    if let Some(version) = version {
        world = world.emulating(version);
    }
    copy_course_files(&world);
    let image = appliance(&world, flavour);
    let lab_file = format!("labs/{lab}.toml");
    world
        .labctl(&["up", &lab_file, "--image", &image])
        .expect(0, &format!("up {lab_file}"));
    let verify = world.labctl(&["verify", &lab_file, "--junit", "reports/verify.xml"]);
    verify.expect(0, &format!("verify {lab_file}"));
    assert!(verify.stdout.contains("(100.0%)"), "{}", verify.stdout);
    for scenario in scenarios {
        let file = format!("scenarios/{scenario}.toml");
        let run = world.labctl(&["scenario", "run", &file, "--image", &image]);
        run.expect(0, &format!("scenario {file}"));
    }
    // The lab still verifies after its scenarios (they put back what they changed).
    world
        .labctl(&["verify", &lab_file])
        .expect(0, &format!("verify {lab_file} after its scenarios"));
    world
        .labctl(&["destroy", &lab_file, "--yes"])
        .expect(0, &format!("destroy {lab_file}"));
    assert!(world.vm_names().is_empty(), "{:?}", world.vm_names());
    let left: Vec<String> = world
        .machine_files()
        .into_iter()
        .filter(|file| file.starts_with("labctl/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// On VirtualBox 6.1, the course appliance.
#[test]
fn exam3_comes_up_verifies_adds_a_replica_and_is_destroyed() {
    course_lab(
        "exam3",
        "exam3",
        &["exam3-add-replica"],
        Some("6.1.50r161033"),
        "course",
    );
}

/// On VirtualBox 7.1, the course appliance.
#[test]
fn escalamiento_comes_up_verifies_switches_to_least_conn_fails_over_and_is_destroyed() {
    course_lab(
        "escal",
        "escalamiento",
        &["escalamiento-least-conn", "escalamiento-failover"],
        Some("7.1.4r165100"),
        "course",
    );
}

/// On VirtualBox 7.0, a Vagrant-style box with Guest Additions.
#[test]
fn voting_comes_up_counts_every_vote_and_is_destroyed() {
    course_lab("voting", "voting", &[], None, "box");
}
