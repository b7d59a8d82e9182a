//! Benchmark: validate + plan of a generated 50-VM lab (target ≤ 50 ms). Prints
//! `name: value unit` lines, as every figure of `bench/run` does.

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

use labctl::hypervisor::Inventory;
use labctl::lab::{self, LabFiles};
use labctl::plan::{Intent, plan_up};

struct NoFiles;

impl LabFiles for NoFiles {
    fn read_text(&self, path: &Path) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.display().to_string(),
        ))
    }

    fn exists(&self, _: &Path) -> bool {
        false
    }
}

/// A lab of `groups` × 5 replicas, two networks, templated provisioning and checks.
fn generated_lab(groups: usize) -> String {
    let mut text = String::from(
        "[lab]\nname = \"bench\"\n\n[vars]\nport = 8080\n\n[images.base]\nova = \"base.ova\"\nuser = \"u\"\npassword_env = \"PW\"\n\n\
         [networks.lab]\ntype = \"hostonly\"\ncidr = \"192.168.56.0/22\"\n\n[networks.out]\ntype = \"natnetwork\"\ncidr = \"10.0.2.0/24\"\n",
    );
    for group in 0..groups {
        let _ = write!(
            text,
            "\n[vms.g{group}x]\ncount = 5\nnics = [{{ net = \"lab\", ip = \"192.168.57.{}\" }}, {{ net = \"out\" }}]\n{}provision = [\n  {{ run = \"echo {{{{ vm.name }}}} {{{{ vars.port }}}}\" }},\n  {{ text = \"upstream {{% for w in groups.g{group}x %}}{{{{ w.ip }}}} {{% endfor %}}\", to = \"/etc/x\" }},\n]\n",
            10 + group * 10,
            if group > 0 {
                format!("after = [\"g{}x\"]\n", group - 1)
            } else {
                String::new()
            }
        );
    }
    text.push_str("\n[[checks]]\nround_robin = \"http://{{ vms.g0x1.ip }}/\"\nbackends = [\"g1x\"]\nidentify = \"by (\\\\S+)\"\n");
    text
}

fn main() {
    let text = generated_lab(10);
    let loaded = lab::load("bench.toml", &text, Path::new("."), &NoFiles);
    let lab = loaded
        .lab
        .unwrap_or_else(|| panic!("the generated lab is valid: {:?}", loaded.diagnostics));
    assert_eq!(lab.vms.len(), 50);
    let inventory = Inventory::default();
    let mut samples = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let loaded = lab::load("bench.toml", &text, Path::new("."), &NoFiles);
        let lab = loaded.lab.expect("valid");
        let plan = plan_up(&lab, &inventory, &Intent::default()).expect("plans");
        std::hint::black_box(plan);
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "validate_plan_50_vms_median: {:.2} ms",
        samples[samples.len() / 2]
    );
    println!(
        "validate_plan_50_vms_max: {:.2} ms",
        samples[samples.len() - 1]
    );
    println!("validate_plan_50_vms_target: 50 ms");
}
