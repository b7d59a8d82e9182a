//! labctl's integration tests, in one binary so they link once.

mod cli;
mod fuzz;
mod labs;
mod planning;
mod readme;
mod scenario_files;
mod support;
mod validation;
