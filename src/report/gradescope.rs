//! Verification results as Gradescope's autograder `results.json`: each check is a test worth
//! its weight, with its visibility; failures say what was expected and what was seen.

use super::check_report::points;
use crate::checks::{Verification, total_score};

/// The `results.json` document.
pub fn gradescope(verifications: &[Verification]) -> serde_json::Value {
    let several = verifications.len() > 1;
    let mut tests = Vec::new();
    for verification in verifications {
        for result in &verification.results {
            let name = if several {
                format!("{}: {}", verification.name, result.name)
            } else {
                result.name.clone()
            };
            let output = if result.passed {
                let mut output = format!("passed: {}", result.expected);
                for detail in &result.details {
                    output.push_str(&format!("\n{detail}"));
                }
                output
            } else {
                let mut output = format!(
                    "expected: {}\nactual: {}\ncheck at {}",
                    result.expected, result.actual, result.location
                );
                for detail in &result.details {
                    output.push_str(&format!("\n{detail}"));
                }
                output
            };
            tests.push(serde_json::json!({
                "name": name,
                "score": if result.passed { result.weight } else { 0.0 },
                "max_score": result.weight,
                "status": if result.passed { "passed" } else { "failed" },
                "output": output,
                "visibility": result.visibility,
            }));
        }
    }
    let (score, max_score) = total_score(verifications);
    let seconds: f64 = verifications.iter().map(|v| v.seconds).sum();
    serde_json::json!({
        "score": score,
        "execution_time": seconds.ceil() as u64,
        "output": format!(
            "labctl verify: score {}/{}",
            points(score),
            points(max_score)
        ),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}
