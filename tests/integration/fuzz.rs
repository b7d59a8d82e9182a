//! Property test: mutated and truncated lab files never panic labctl; every failure is a
//! located error, and the CLI exits with 2 on them. The seed corpus is `tests/corpus/` plus
//! the labs in `labs/`; PROPTEST_CASES bounds the run (CI uses the default below).

use std::path::{Path, PathBuf};
use std::process::Command;

use labctl::lab::{self, Severity};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::{labctl, repo};

struct DiskFiles;

impl lab::LabFiles for DiskFiles {
    fn read_text(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

fn corpus() -> Vec<(PathBuf, String)> {
    let mut seeds = Vec::new();
    for dir in ["tests/corpus", "labs"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("corpus folder exists") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                seeds.push((path, text));
            }
        }
    }
    seeds.sort();
    assert!(seeds.len() >= 3, "the fuzz corpus needs seeds");
    seeds
}

/// One edit applied to a seed.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let noise = prop::collection::vec(
        prop::sample::select(vec![
            "[", "]", "{", "}", "\"", "'", "=", ",", ".", "\n", "#", "0", "-1", "x", "é", "[[",
            "\"\"\"", " ", "true",
        ]),
        1..4,
    )
    .prop_map(|parts| parts.concat());
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), noise).prop_map(|(at, text)| Mutation::Insert(at, text)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    match mutation {
        Mutation::Truncate(at) => text[..boundary(text, *at)].to_string(),
        Mutation::Delete(at, len) => {
            let start = boundary(text, *at);
            let end = boundary(text, (start + len).min(text.len()));
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert(at, noise) => {
            let at = boundary(text, *at);
            format!("{}{noise}{}", &text[..at], &text[at..])
        }
        Mutation::DuplicateLine(line) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let index = line % lines.len();
                lines.insert(index, lines[index]);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
            }
            lines.join("\n")
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(400)
}

#[test]
fn mutated_lab_files_never_panic_and_fail_with_located_errors() {
    let seeds = corpus();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..seeds.len(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&strategy, |(seed, mutations)| {
            let (path, text) = &seeds[seed];
            let mut mutated = text.clone();
            for mutation in &mutations {
                mutated = apply(&mutated, mutation);
            }
            let loaded = lab::load("fuzz.toml", &mutated, path.parent().unwrap(), &DiskFiles);
            if loaded.lab.is_none() {
                let errors: Vec<_> = loaded
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect();
                prop_assert!(
                    !errors.is_empty(),
                    "an invalid lab must have at least one error"
                );
                for error in errors {
                    let file = &loaded.sources.get(error.span.file).text;
                    prop_assert!(
                        error.span.range.start <= error.span.range.end
                            && error.span.range.end <= file.len(),
                        "span {:?} outside the file",
                        error.span
                    );
                    prop_assert!(!error.message.is_empty());
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_cli_exits_2_with_a_location_on_mutated_files() {
    let seeds = corpus();
    let dir = tempfile::tempdir().unwrap();
    let mut invalid = 0;
    for (index, (path, text)) in seeds.iter().cycle().take(40).enumerate() {
        let mutated = apply(text, &Mutation::Insert(index * 97 + 13, "= [".to_string()));
        let loaded = lab::load("case.toml", &mutated, path.parent().unwrap(), &DiskFiles);
        if loaded.lab.is_some() {
            continue;
        }
        let file = dir.path().join(format!("fuzz-case-{index}.toml"));
        std::fs::write(&file, &mutated).unwrap();
        let output = Command::new(labctl())
            .arg("validate")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("fuzz-case-{index}.toml:")),
            "no location in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        invalid += 1;
    }
    assert!(invalid >= 20, "only {invalid} mutated files were invalid");
}
