//! Renders a plan for people: stage by stage, each action with its reason and dependencies.

use std::fmt::Write;

use crate::lab::model::LeftOut;
use crate::plan::Plan;

/// The plan as text. `against` says what it was planned against ("an empty inventory",
/// "VirtualBox 7.0.20").
pub fn render_plan(lab: &str, vm_count: usize, against: &str, plan: &Plan) -> String {
    let mut out = String::new();
    let stages = plan.stages();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "lab `{lab}` ({vm_count} VMs) is up to date against {against}: nothing to do"
        );
    } else {
        let _ = writeln!(
            out,
            "plan for lab `{lab}` ({vm_count} VMs) against {against}: {} action{} in {} stage{}",
            plan.actions.len(),
            plural(plan.actions.len()),
            stages.len(),
            plural(stages.len())
        );
    }
    for (index, stage) in stages.iter().enumerate() {
        let parallel = if stage.len() > 1 {
            format!(" — {} actions in parallel", stage.len())
        } else {
            String::new()
        };
        let _ = writeln!(out, "\nstage {}{parallel}", index + 1);
        for action in stage {
            let after = if action.after.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = action
                    .after
                    .iter()
                    .map(|id| format!("#{}", id.0 + 1))
                    .collect();
                format!(" (after {})", ids.join(", "))
            };
            let _ = writeln!(out, "  #{:<3} {}{after}", action.id.0 + 1, action.action);
            if let crate::plan::Action::Provision { names, .. } = &action.action {
                let _ = writeln!(out, "        steps: {}", names.join(", "));
            }
            let _ = writeln!(out, "        because: {}", action.reason);
        }
    }
    for leftover in &plan.leftovers {
        let what = if leftover.pruned {
            "will be deleted (--prune)"
        } else {
            "is no longer in the lab file; `up --prune` deletes it"
        };
        let _ = writeln!(
            out,
            "\nVM {} (was `{}`) {what}",
            leftover.vbox_name, leftover.role
        );
    }
    out
}

/// What `when` conditions left out of the lab, one line each with the condition.
pub fn render_left_out(left_out: &[LeftOut]) -> String {
    let mut out = String::new();
    if left_out.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nleft out by `when`:");
    for item in left_out {
        let _ = writeln!(out, "  {} (when {} is false)", item.what, item.when);
    }
    out
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
