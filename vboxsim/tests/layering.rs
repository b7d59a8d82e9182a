//! vboxsim's modules import each other without circles: model code never reaches up into
//! commands, and commands, VM processes, worlds and the `vboxsim` tool depend on one another in
//! one direction only. Read from the sources (`crate::…` and `super::…` paths outside tests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`commands::list`) → source text, for every file under `src/`.
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let name = if prefix.is_empty() {
            stem.clone()
        } else {
            format!("{prefix}::{stem}")
        };
        if path.is_dir() {
            modules(&path, &name, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read module");
            let module = if stem == "mod" {
                prefix.to_string()
            } else {
                name
            };
            // Test modules may use anything.
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            out.insert(module, code);
        }
    }
}

/// The modules `code` (of module `module`) refers to, by their longest known path.
fn imports(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    for (marker, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        for (at, _) in code.match_indices(marker) {
            let rest = &code[at + marker.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':'
                })
                .collect();
            let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            while !parts.is_empty() {
                let candidate = if base.is_empty() {
                    parts.join("::")
                } else {
                    format!("{base}::{}", parts.join("::"))
                };
                if known.contains(&candidate) {
                    if candidate != module {
                        found.insert(candidate);
                    }
                    break;
                }
                parts.pop();
            }
        }
    }
    found
}

/// A circle through `start`, if any (depth-first search).
fn circle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in graph.get(at).into_iter().flatten() {
        if next == start {
            let mut found = path.clone();
            found.push(start.to_string());
            return Some(found);
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(found) = circle(graph, start, next, path, seen) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn modules_import_each_other_without_circles() {
    let mut sources = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut sources,
    );
    let known: BTreeSet<String> = sources.keys().cloned().collect();
    assert!(known.contains("commands::showvminfo") && known.contains("model::machine"));
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .map(|(module, code)| (module.clone(), imports(module, code, &known)))
        .collect();
    let mut circles = Vec::new();
    for module in &known {
        let mut path = vec![module.clone()];
        if let Some(found) = circle(&graph, module, module, &mut path, &mut BTreeSet::new()) {
            circles.push(found.join(" → "));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
    for (module, used) in &graph {
        if module.starts_with("model") {
            let upward: Vec<&String> = used.iter().filter(|u| u.starts_with("commands")).collect();
            assert!(
                upward.is_empty(),
                "{module} imports command code: {upward:?}"
            );
        }
    }
}
