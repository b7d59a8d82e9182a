//! Verification results for people (a line per check as it finishes, failures with expected
//! and actual, a summary with the grade) and as one JSON document.

use crate::checks::{CheckResult, Verification, total_score};

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `12.5` → `12.5`, `12.0` → `12`.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The lines of one finished check: a verdict line, and for a failure what was expected, what
/// was seen, where the check is written and what each target showed.
pub fn check_lines(result: &CheckResult, color: bool) -> String {
    let verdict = if result.passed {
        paint(color, "1;32", "PASS")
    } else {
        paint(color, "1;31", "FAIL")
    };
    let retries = if result.attempts > 1 {
        format!(", {} attempts", result.attempts)
    } else {
        String::new()
    };
    let mut text = format!(
        "{verdict} {} (weight {}, {:.1}s{retries})\n",
        result.name,
        points(result.weight),
        result.seconds
    );
    if !result.passed {
        text.push_str(&format!("     expected: {}\n", result.expected));
        text.push_str(&format!("     actual:   {}\n", result.actual));
        text.push_str(&format!("     check at  {}\n", result.location));
        for detail in result.details.iter().take(12) {
            text.push_str(&format!("       {detail}\n"));
        }
        if result.details.len() > 12 {
            text.push_str(&format!("       … {} more\n", result.details.len() - 12));
        }
    }
    text
}

/// The closing summary: checks passed and the grade, per verification and in total.
pub fn summary(verifications: &[Verification], color: bool) -> String {
    let mut text = String::new();
    for verification in verifications {
        let total = verification.results.len();
        let passed = verification.passed();
        let line = format!(
            "{}: {passed} of {total} check{} passed in {:.1}s; score {}/{}{}",
            verification.name,
            if total == 1 { "" } else { "s" },
            verification.seconds,
            points(verification.score()),
            points(verification.max_score()),
            percent(verification.score(), verification.max_score()),
        );
        let code = if passed == total { "1;32" } else { "1;31" };
        text.push_str(&paint(color, code, &line));
        text.push('\n');
    }
    if verifications.len() > 1 {
        let (score, max) = total_score(verifications);
        text.push_str(&format!(
            "total: score {}/{}{}\n",
            points(score),
            points(max),
            percent(score, max)
        ));
    }
    text
}

fn percent(score: f64, max: f64) -> String {
    if max > 0.0 {
        format!(" ({:.1}%)", 100.0 * score / max)
    } else {
        String::new()
    }
}

/// Every verification as one JSON document.
pub fn json(verifications: &[Verification]) -> serde_json::Value {
    let (score, max_score) = total_score(verifications);
    let suites: Vec<serde_json::Value> = verifications
        .iter()
        .map(|verification| {
            serde_json::json!({
                "name": verification.name,
                "passed": verification.passed(),
                "failed": verification.results.len() - verification.passed(),
                "score": verification.score(),
                "max_score": verification.max_score(),
                "seconds": verification.seconds,
                "checks": verification.results,
            })
        })
        .collect();
    serde_json::json!({
        "passed": verifications.iter().all(Verification::all_passed),
        "score": score,
        "max_score": max_score,
        "suites": suites,
    })
}
