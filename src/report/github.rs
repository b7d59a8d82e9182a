//! Verification results for GitHub Actions: an error annotation per failed check (pointing at
//! the check in the lab file) and a Markdown job summary with the grade.

use super::check_report::points;
use crate::checks::{Verification, total_score};

/// Escapes a workflow command's message (`%`, CR, LF).
fn message(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn property(text: &str) -> String {
    message(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=…,line=…,col=…,title=…::expected … actual …` for each failed check.
pub fn annotations(verifications: &[Verification]) -> String {
    let mut text = String::new();
    for verification in verifications {
        for result in verification.results.iter().filter(|result| !result.passed) {
            let mut parts = result.location.rsplitn(3, ':');
            let column = parts.next().unwrap_or("1");
            let line = parts.next().unwrap_or("1");
            let file = parts.next().unwrap_or("");
            text.push_str(&format!(
                "::error file={},line={line},col={column},title={}::expected: {}\nactual: {}\n",
                property(file),
                property(&format!("check failed: {}", result.name)),
                message(&result.expected),
                message(&result.actual)
            ));
        }
    }
    text
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// The Markdown job summary: the grade, and a table of checks.
pub fn job_summary(title: &str, verifications: &[Verification]) -> String {
    let (score, max) = total_score(verifications);
    let mut text = format!(
        "## labctl verify: {}\n\n**Score {} / {}**\n\n",
        cell(title),
        points(score),
        points(max)
    );
    for verification in verifications {
        if verifications.len() > 1 {
            text.push_str(&format!("### {}\n\n", cell(&verification.name)));
        }
        text.push_str("| | Check | Weight | Expected | Actual |\n|---|---|---|---|---|\n");
        for result in &verification.results {
            let verdict = if result.passed { "✅" } else { "❌" };
            let actual = if result.passed {
                "as expected".to_string()
            } else {
                cell(&result.actual)
            };
            text.push_str(&format!(
                "| {verdict} | {} | {} | {} | {actual} |\n",
                cell(&result.name),
                points(result.weight),
                cell(&result.expected)
            ));
        }
        text.push('\n');
    }
    text
}
