//! The README documents the lab, scenario and checks files: every key of their JSON Schemas
//! appears in it.

use std::collections::BTreeSet;

use crate::support::repo;

fn keys(schema: &serde_json::Value, found: &mut BTreeSet<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                found.extend(properties.keys().cloned());
            }
            for value in map.values() {
                keys(value, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| keys(item, found)),
        _ => {}
    }
}

#[test]
fn every_lab_scenario_and_checks_file_key_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut all = BTreeSet::new();
    keys(labctl::lab::schema(), &mut all);
    keys(labctl::scenario::load::schema(), &mut all);
    keys(labctl::lab::checks_schema(), &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|key| !readme.contains(&format!("`{key}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document: {missing:?}"
    );
}

#[test]
fn readme_starts_with_the_run_and_test_commands_and_ci_runs_the_test_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .expect("a first code block")
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .collect();
    assert_eq!(block, ["scripts/run labs/exam3.toml", "scripts/test"]);
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|line| line.trim() == "scripts/test"),
        ".ci/run must call the README's test command"
    );
}

#[test]
fn the_readme_draws_each_course_lab_as_labctl_graph_does() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for lab in ["exam3", "escalamiento", "voting"] {
        let output = std::process::Command::new(crate::support::labctl())
            .args(["graph", &format!("labs/{lab}.toml")])
            .current_dir(repo())
            .output()
            .expect("labctl graph");
        assert!(output.status.success());
        let drawn = String::from_utf8(output.stdout).unwrap();
        assert!(
            readme.contains(&format!("{lab}:\n\n```mermaid\n{drawn}```")),
            "README.md's topology of {lab} differs from `labctl graph labs/{lab}.toml`:\n{drawn}"
        );
    }
}
