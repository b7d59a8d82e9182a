//! Verification results as TAP version 14: a test point per check (a subtest per act when
//! there are several verifications), failures with a YAML block of expected and actual.

use super::check_report::points;
use crate::checks::{CheckResult, Verification};

/// A TAP description may not contain `#` (it starts a directive) or a line break.
fn description(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace(['\n', '\r'], " ")
}

/// A YAML double-quoted scalar.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn points_of(results: &[CheckResult], indent: &str) -> String {
    let mut text = format!("{indent}1..{}\n", results.len());
    for (index, result) in results.iter().enumerate() {
        let verdict = if result.passed { "ok" } else { "not ok" };
        text.push_str(&format!(
            "{indent}{verdict} {} - {}\n",
            index + 1,
            description(&result.name)
        ));
        if !result.passed {
            text.push_str(&format!("{indent}  ---\n"));
            text.push_str(&format!("{indent}  kind: {}\n", yaml_string(&result.kind)));
            text.push_str(&format!("{indent}  weight: {}\n", points(result.weight)));
            text.push_str(&format!(
                "{indent}  expected: {}\n",
                yaml_string(&result.expected)
            ));
            text.push_str(&format!(
                "{indent}  actual: {}\n",
                yaml_string(&result.actual)
            ));
            text.push_str(&format!(
                "{indent}  at: {}\n",
                yaml_string(&result.location)
            ));
            if !result.details.is_empty() {
                text.push_str(&format!("{indent}  details:\n"));
                for detail in &result.details {
                    text.push_str(&format!("{indent}    - {}\n", yaml_string(detail)));
                }
            }
            text.push_str(&format!("{indent}  ...\n"));
        }
    }
    text
}

/// The TAP document of `verifications`.
pub fn tap(verifications: &[Verification]) -> String {
    let mut text = String::from("TAP version 14\n");
    match verifications {
        [only] => text.push_str(&points_of(&only.results, "")),
        _ => {
            text.push_str(&format!("1..{}\n", verifications.len()));
            for (index, verification) in verifications.iter().enumerate() {
                text.push_str(&format!("# Subtest: {}\n", description(&verification.name)));
                text.push_str(&points_of(&verification.results, "    "));
                let verdict = if verification.all_passed() {
                    "ok"
                } else {
                    "not ok"
                };
                text.push_str(&format!(
                    "{verdict} {} - {}\n",
                    index + 1,
                    description(&verification.name)
                ));
            }
        }
    }
    text
}
