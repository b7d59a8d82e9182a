//! Every lab shipped in `labs/` validates, and passes the JSON Schema `labctl schema` prints.

use std::path::Path;

use labctl::lab;

use crate::support::repo;

struct DiskFiles;

impl lab::LabFiles for DiskFiles {
    fn read_text(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

fn lab_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("labs"))
        .expect("labs/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_course_labs_are_present() {
    let names: Vec<String> = lab_files()
        .iter()
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"exam3".to_string()), "{names:?}");
}

#[test]
fn every_lab_validates_without_errors_or_warnings() {
    for path in lab_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let loaded = lab::load(
            &path.display().to_string(),
            &text,
            path.parent().unwrap(),
            &DiskFiles,
        );
        let rendered = labctl::report::diagnostics::render_diagnostics(
            &loaded.sources,
            &loaded.diagnostics,
            false,
        );
        assert!(
            loaded.diagnostics.is_empty(),
            "{}:\n{rendered}",
            path.display()
        );
        assert!(loaded.lab.is_some());
    }
}

#[test]
fn every_lab_passes_the_json_schema() {
    let validator =
        jsonschema::validator_for(lab::schema()).expect("the schema is a valid JSON Schema");
    for path in lab_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        let json = serde_json::to_value(value).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|error| format!("{} at {}", error, error.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn the_schema_rejects_what_validation_rejects() {
    let validator = jsonschema::validator_for(lab::schema()).unwrap();
    let bad = serde_json::json!({
        "lab": { "name": "x", "colour": 1 },
        "vms": { "a": { "memory": "512", "nics": [{ "ip": "1.2.3.4" }] } },
        "networks": { "n": { "type": "hostonyl" } }
    });
    let errors = validator.iter_errors(&bad).count();
    assert!(
        errors >= 4,
        "unknown key, wrong type, missing `net`, bad enum: got {errors}"
    );
}
