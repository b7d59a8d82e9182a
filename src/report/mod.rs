//! Reporters: turn results (diagnostics, plans, topology, events, check outcomes) into text
//! for people and formats for machines. They render; they decide nothing.

pub mod diagnostics;
pub mod plan_view;
pub mod progress;
pub mod topology;
