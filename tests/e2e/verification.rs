//! Verification on real guests: HTTP, ports, pings and commands; round-robin through a real
//! HAProxy (and its failure, with the reason, when the balancer sticks to one backend);
//! least-connections through a real nginx `least_conn` upstream (and its failure on plain
//! round-robin under held connections); failover; every report format, validated; grading;
//! secrets kept out of all of it.

use serde_json::Value;

use crate::world::{PASSWORD, World, lab_preamble};

fn lab() -> String {
    lab_preamble("bal")
        + r#"
[vms.web]
count = 2
nics = [{ net = "lab", ip = "192.168.56.71" }]
provision = [
  { name = "backend", upload = "fixtures/backend.py", to = "/opt/backend/backend.py", mode = "0755" },
  { name = "backend settings", text = "NAME={{ vm.name }}\nPORT=8000\n", to = "/etc/default/backend" },
  { name = "backend unit", upload = "fixtures/backend.service", to = "/etc/systemd/system/backend.service" },
  { name = "start backend", run = "systemctl enable backend && systemctl restart backend" },
]

[vms.lb]
nics = [{ net = "lab", ip = "192.168.56.70" }]
after = ["web"]
provision = [
  { run = "apt-get install -y haproxy nginx" },
  { template = "fixtures/haproxy.cfg.j2", to = "/etc/haproxy/haproxy.cfg" },
  { run = "rm -f /etc/nginx/sites-enabled/default" },
  { template = "fixtures/nginx-balancers.conf.j2", to = "/etc/nginx/conf.d/balancers.conf" },
  { run = "systemctl restart haproxy && systemctl restart nginx" },
]

[[checks]]
name = "each backend answers as itself"
http = "http://{{ vm.ip }}:8000/"
on = "web"
body = "served by {{ vm.name }}"
header = "X-Served-By: {{ vm.name }}"
weight = 2

[[checks]]
name = "balancer ports are open"
port = 80
on = "lb"

[[checks]]
name = "lb reaches web2"
ping = "web2"
from = "lb"

[[checks]]
name = "backends run as services"
command = "systemctl is-active backend"
on = "web"
output = "^active$"

[[checks]]
name = "haproxy rotates"
round_robin = "http://{{ vms.lb.ip }}/"
backends = ["web"]
identify = "served by (\\S+)"
requests = 6
weight = 3

[[checks]]
name = "sticky balancer rotates"
round_robin = "http://{{ vms.lb.ip }}:81/"
backends = ["web"]
identify = "header:X-Served-By"
requests = 6
retries = 0
weight = 3
visibility = "after_due_date"

[[checks]]
name = "nginx least_conn"
least_conn = "http://{{ vms.lb.ip }}:8081/hold"
backends = ["web"]
identify = "served by (\\S+)"
hold = 3
requests = 4
weight = 4

[[checks]]
name = "plain round-robin is not least_conn"
least_conn = "http://{{ vms.lb.ip }}:8082/hold"
backends = ["web"]
identify = "served by (\\S+)"
hold = 3
requests = 4
retries = 0
weight = 4

[[checks]]
name = "requests survive a backend going away"
failover = "http://{{ vms.lb.ip }}:8082/"
backends = ["web"]
identify = "served by (\\S+)"
victim = "web2"
stop = "systemctl stop backend"
start = "systemctl start backend"
requests = 6
weight = 5
"#
}

fn by_name<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {checks:?}"))
}

#[test]
fn balancer_checks_pass_and_fail_for_the_right_reasons_in_every_format() {
    let world = World::new("bal");
    world.write("lab.toml", &lab());
    for fixture in [
        "backend.py",
        "backend.service",
        "haproxy.cfg.j2",
        "nginx-balancers.conf.j2",
    ] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/e2e/fixtures")
                .join(fixture),
        )
        .expect("fixture");
        world.write(&format!("fixtures/{fixture}"), &text);
    }
    let up = world.labctl(&["up", "lab.toml"]);
    up.expect(0, "up");

    let verify = world.labctl(&[
        "verify",
        "lab.toml",
        "--junit",
        "reports/junit.xml",
        "--gradescope",
        "reports/results.json",
    ]);
    verify.expect(1, "verify with two checks meant to fail");
    let human = verify.stdout.clone();
    for passing in [
        "each backend answers as itself",
        "haproxy rotates",
        "nginx least_conn",
        "requests survive a backend going away",
        "lb reaches web2",
        "backends run as services",
    ] {
        assert!(
            human.contains(&format!("PASS {passing}")),
            "{passing} passes:\n{human}"
        );
    }
    assert!(human.contains("FAIL sticky balancer rotates"), "{human}");
    assert!(
        human.contains("never served by"),
        "the sticky failure says why:\n{human}"
    );
    assert!(
        human.contains("FAIL plain round-robin is not least_conn"),
        "{human}"
    );
    assert!(
        human.contains("busier backend"),
        "the least_conn failure says why:\n{human}"
    );
    assert!(
        human.contains("expected:") && human.contains("actual:"),
        "{human}"
    );
    // Passed weight over total weight: 2+1+1+1+3+4+5 of 2+1+1+1+3+3+4+4+5.
    assert!(human.contains("score 17/24"), "{human}");

    // JSON.
    let json = world.labctl(&["--json", "verify", "lab.toml"]);
    json.expect(1, "verify --json");
    let document: Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    assert_eq!(document["score"], 17.0);
    assert_eq!(document["max_score"], 24.0);
    let checks = document["suites"][0]["checks"]
        .as_array()
        .expect("checks")
        .clone();
    let itself = by_name(&checks, "each backend answers as itself")["expected"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        itself.contains("body matching /served by web1/ on web1, /served by web2/ on web2")
            && itself.contains("header X-Served-By: /web1/ on web1, /web2/ on web2")
            && !itself.contains("{{"),
        "expectations are shown filled in: {itself}"
    );
    let sticky = by_name(&checks, "sticky balancer rotates");
    assert_eq!(sticky["passed"], false);
    assert!(
        sticky["expected"]
            .as_str()
            .unwrap()
            .contains("stable rotation")
    );
    assert!(
        sticky["actual"]
            .as_str()
            .unwrap()
            .contains("never served by")
    );

    // JUnit, read by an independent parser.
    let junit = std::fs::read_to_string(world.dir.join("reports/junit.xml")).expect("junit.xml");
    let parsed =
        junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).expect("valid JUnit");
    let suite = &parsed.suites[0];
    assert_eq!((suite.tests, suite.failures), (9, 2));
    let failed = suite
        .cases
        .iter()
        .find(|case| case.original_name == "sticky balancer rotates")
        .expect("the sticky case");
    assert!(failed.status.is_failure());
    let failure = failed.status.failure_as_ref();
    assert!(failure.message.contains("expected:") && failure.message.contains("never served by"));

    // TAP 14, read by an independent parser.
    let tap = world.labctl(&["verify", "lab.toml", "--tap"]);
    tap.expect(1, "verify --tap");
    let mut parser = tap_parser::TapParser::new();
    let statements = parser.parse(&tap.stdout).expect("valid TAP 14");
    let points: Vec<&tap_parser::TapTest> = statements
        .iter()
        .filter_map(|statement| match statement {
            tap_parser::TapStatement::TestPoint(point) => Some(point),
            _ => None,
        })
        .collect();
    assert_eq!(points.len(), 9);
    let failing: Vec<&str> = points
        .iter()
        .filter(|point| !point.result)
        .filter_map(|point| point.desc)
        .collect();
    assert_eq!(
        failing,
        [
            "sticky balancer rotates",
            "plain round-robin is not least_conn"
        ]
    );
    assert!(points.iter().filter(|point| !point.result).all(|point| {
        let yaml = point.yaml.join("\n");
        yaml.contains("expected:") && yaml.contains("actual:")
    }));

    // Gradescope results.json, against the fields its specification defines.
    let gradescope: Value = serde_json::from_str(
        &std::fs::read_to_string(world.dir.join("reports/results.json")).expect("results.json"),
    )
    .expect("JSON");
    let schema = serde_json::json!({
        "type": "object",
        "required": ["tests"],
        "properties": {
            "score": { "type": "number" },
            "execution_time": { "type": "integer", "minimum": 0 },
            "output": { "type": "string" },
            "visibility": { "enum": ["hidden", "after_due_date", "after_published", "visible"] },
            "stdout_visibility": { "enum": ["hidden", "after_due_date", "after_published", "visible"] },
            "tests": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "score", "max_score", "output"],
                    "properties": {
                        "name": { "type": "string" },
                        "score": { "type": "number" },
                        "max_score": { "type": "number" },
                        "status": { "enum": ["passed", "failed"] },
                        "output": { "type": "string" },
                        "visibility": { "enum": ["hidden", "after_due_date", "after_published", "visible"] }
                    },
                    "additionalProperties": false
                }
            }
        }
    });
    let validator = jsonschema::validator_for(&schema).expect("schema");
    let problems: Vec<String> = validator
        .iter_errors(&gradescope)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "results.json: {problems:?}");
    assert_eq!(gradescope["score"], 17.0);
    let tests = gradescope["tests"].as_array().unwrap();
    let sticky = by_name(tests, "sticky balancer rotates");
    assert_eq!(
        (sticky["score"].as_f64(), sticky["max_score"].as_f64()),
        (Some(0.0), Some(3.0))
    );
    assert_eq!(sticky["visibility"], "after_due_date");
    assert!(sticky["output"].as_str().unwrap().contains("expected:"));

    // GitHub Actions: annotations on stdout, a job summary appended to its file.
    let summary = world.dir.join("step-summary.md");
    let summary_path = summary.display().to_string();
    let github = world.labctl_with(
        &["verify", "lab.toml", "--only", "sticky balancer rotates"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", &summary_path),
        ],
    );
    github.expect(1, "verify under GitHub Actions");
    assert!(
        github.stdout.contains("::error file=lab.toml,line=")
            && github.stdout.contains("expected: "),
        "{}",
        github.stdout
    );
    let markdown = std::fs::read_to_string(&summary).expect("job summary");
    assert!(markdown.contains("Score 0 / 3") && markdown.contains("sticky balancer rotates"));

    // The failover put the victim back.
    world
        .labctl(&[
            "exec",
            "lab.toml",
            "web2",
            "--",
            "systemctl is-active backend",
        ])
        .expect(0, "web2's backend runs again");

    // No secret anywhere: outputs, reports, the state folder.
    for run in [&up, &verify, &json, &tap, &github] {
        assert!(
            !run.all().contains(PASSWORD),
            "the password leaked: {}",
            run.all()
        );
    }
    for file in [
        "reports/junit.xml",
        "reports/results.json",
        "step-summary.md",
    ] {
        let text = std::fs::read_to_string(world.dir.join(file)).unwrap();
        assert!(!text.contains(PASSWORD), "{file} holds the password");
    }
    let state = world.dir.join(".labctl");
    let mut stack = vec![state];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(
                    !text.contains(PASSWORD),
                    "{} holds the password",
                    path.display()
                );
            }
        }
    }
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

#[test]
fn a_rubric_file_grades_the_lab_with_its_own_checks() {
    let world = World::new("rubric");
    world.write(
        "lab.toml",
        &(lab_preamble("rubric")
            + r#"
[vms.box]
nics = [{ net = "lab", ip = "192.168.56.80" }]
provision = [{ text = "42\n", to = "/srv/answer" }]
"#),
    );
    world.write(
        "rubric.toml",
        r#"
[[checks]]
name = "the answer is in place"
command = "cat /srv/answer"
on = "box"
output = "^42$"
weight = 7

[[checks]]
name = "ssh is open"
port = 22
on = "bx"
"#,
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    let invalid = world.labctl(&["verify", "lab.toml", "--checks", "rubric.toml"]);
    invalid.expect(2, "a rubric naming an unknown VM");
    assert!(
        invalid.stderr.contains("rubric.toml:12:"),
        "{}",
        invalid.stderr
    );
    assert!(
        invalid.stderr.contains("did you mean `box`"),
        "{}",
        invalid.stderr
    );
    world.write(
        "rubric.toml",
        &std::fs::read_to_string(world.dir.join("rubric.toml"))
            .unwrap()
            .replace("\"bx\"", "\"box\""),
    );
    let graded = world.labctl(&["verify", "lab.toml", "--checks", "rubric.toml"]);
    graded.expect(0, "verify with the rubric");
    assert!(graded.stdout.contains("score 8/8"), "{}", graded.stdout);
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}

/// A VM that is off is said to be off, at once, by `verify` and `exec`: not after SSH waits.
#[test]
fn checks_on_a_powered_off_vm_say_so_at_once() {
    let world = World::new("off");
    world.write(
        "lab.toml",
        &format!(
            "{}\n[vms.a]\nnics = [{{ net = \"lab\", ip = \"192.168.56.72\" }}]\n\n[vms.b]\nnics = [{{ net = \"lab\", ip = \"192.168.56.73\" }}]\n\n[[checks]]\nname = \"a runs commands\"\ncommand = \"true\"\non = \"a\"\n\n[[checks]]\nname = \"b runs commands\"\ncommand = \"true\"\non = \"b\"\n\n[[checks]]\nname = \"b fails loudly\"\ncommand = \"seq 1 20; echo gone wrong >&2; exit 3\"\non = \"b\"\n",
            lab_preamble("off")
        ),
    );
    world.labctl(&["up", "lab.toml"]).expect(0, "up");
    world.vbox_ok(&["controlvm", "off-a", "poweroff"]);
    let started = std::time::Instant::now();
    let verified = world.labctl(&["--json", "verify", "lab.toml"]);
    verified.expect(1, "verify with `a` off");
    let report: Value = serde_json::from_str(&verified.stdout).expect("JSON report");
    let checks = report["suites"][0]["checks"].as_array().expect("checks");
    let a = by_name(checks, "a runs commands");
    assert_eq!(a["passed"], false, "{a}");
    assert!(
        a.to_string()
            .contains("`a` is powered off: run `labctl up`"),
        "{a}"
    );
    assert_eq!(by_name(checks, "b runs commands")["passed"], true);
    let loud = by_name(checks, "b fails loudly")["actual"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        loud.contains("exit status 3 (expected 0); output ends: ")
            && loud.contains("19 ⏎ 20 ⏎ gone wrong")
            && !loud.contains("15"),
        "a failed command shows the end of its output: {loud}"
    );
    let exec = world.labctl(&["exec", "lab.toml", "a", "--", "true"]);
    exec.expect(3, "exec on a powered-off VM");
    assert!(
        exec.stderr.contains("`a` is powered off: run `labctl up`"),
        "{}",
        exec.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "said at once, not after SSH timeouts ({:?})",
        started.elapsed()
    );
    let rubric = world.labctl(&["verify", "lab.toml", "--checks", "lab.toml"]);
    rubric.expect(2, "a lab file given as a rubric");
    assert!(
        rubric
            .stderr
            .contains("`lab.toml` is a lab file, not a checks file"),
        "{}",
        rubric.stderr
    );
    let typo = world.labctl(&["destroy", "lab.toml", "bb", "--yes"]);
    typo.expect(2, "destroy of a misspelt VM");
    assert!(
        typo.stderr
            .contains("has no VM or replica group `bb`; did you mean `b`?"),
        "{}",
        typo.stderr
    );
    assert_eq!(
        world.vm_names().len(),
        3,
        "nothing destroyed: {:?}",
        world.vm_names()
    );
    world
        .labctl(&["destroy", "lab.toml", "--yes"])
        .expect(0, "destroy");
}
