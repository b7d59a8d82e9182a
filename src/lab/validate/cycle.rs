//! Finds cycles in the `after` dependencies between VMs.

use std::collections::HashMap;

use super::Validator;
use crate::lab::diagnostic::DiagnosticKind;
use crate::lab::model::Vm;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    InProgress,
    Done,
}

impl Validator<'_> {
    /// Reports each cycle once, showing it as `a → b → a`.
    pub(crate) fn cycles(&mut self, vms: &[Vm]) {
        let index: HashMap<&str, usize> = vms
            .iter()
            .enumerate()
            .map(|(i, vm)| (vm.name.as_str(), i))
            .collect();
        let mut marks = vec![Mark::Unvisited; vms.len()];
        let mut reported: Vec<Vec<usize>> = Vec::new();
        for start in 0..vms.len() {
            if marks[start] == Mark::Unvisited {
                let mut path = Vec::new();
                self.visit(start, vms, &index, &mut marks, &mut path, &mut reported);
            }
        }
    }

    fn visit(
        &mut self,
        node: usize,
        vms: &[Vm],
        index: &HashMap<&str, usize>,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        reported: &mut Vec<Vec<usize>>,
    ) {
        marks[node] = Mark::InProgress;
        path.push(node);
        for dependency in &vms[node].after {
            let Some(&next) = index.get(dependency.as_str()) else {
                continue;
            };
            match marks[next] {
                Mark::Unvisited => self.visit(next, vms, index, marks, path, reported),
                Mark::InProgress => {
                    let start = path
                        .iter()
                        .position(|&n| n == next)
                        .expect("in-progress nodes are on the path");
                    let cycle: Vec<usize> = path[start..].to_vec();
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    if reported.contains(&key) {
                        continue;
                    }
                    reported.push(key);
                    let mut names: Vec<&str> =
                        cycle.iter().map(|&n| vms[n].name.as_str()).collect();
                    names.push(&vms[next].name);
                    let shown = names.join(" → ");
                    let span = self.after_entry_span(&vms[node], dependency);
                    let already = self.diagnostics.items().iter().any(|existing| {
                        existing.kind == DiagnosticKind::Cycle && existing.span == span
                    });
                    if already {
                        continue;
                    }
                    self.push(
                        crate::lab::diagnostic::Diagnostic::error(
                            DiagnosticKind::Cycle,
                            span,
                            format!("dependency cycle in `after`: {shown}"),
                        )
                        .with_label(format!(
                            "`{}` waits for `{}`, which already waits for it",
                            vms[node].name, vms[next].name
                        ))
                        .with_help("remove one of these `after` entries"),
                    );
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
    }

    /// The span of the `after` entry of `vm` that names `dependency` (or its group).
    fn after_entry_span(&self, vm: &Vm, dependency: &str) -> crate::lab::source::Span {
        self.after_spans
            .get(&(vm.name.clone(), dependency.to_string()))
            .map_or_else(|| vm.span.clone(), |range| self.span(range.clone()))
    }
}
