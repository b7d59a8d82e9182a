//! Reporters: turn results (diagnostics, plans, topology, events, check outcomes) into text
//! for people and formats for machines. They render; they decide nothing.

pub mod check_report;
pub mod diagnostics;
pub mod doctor_view;
pub mod github;
pub mod gradescope;
pub mod junit;
pub mod plan_view;
pub mod progress;
mod shown_files;
pub mod status_view;
pub mod tap;
pub mod topology;

/// `1 VM`, `2 VMs`: a count with its noun, plural when it is not one.
pub fn count(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}
