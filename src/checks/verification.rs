//! One finished run of checks — a lab's, or one act of a scenario — with its grade: the data
//! every verification report renders.

use serde::Serialize;

use super::verifier::CheckResult;

/// The results of one run of checks.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// What was verified: the lab's name, or a scenario act's.
    pub name: String,
    /// Results, in the order the checks were written.
    pub results: Vec<CheckResult>,
    /// Wall time of the run.
    pub seconds: f64,
}

impl Verification {
    /// The weight of the checks that passed.
    pub fn score(&self) -> f64 {
        self.results
            .iter()
            .filter(|result| result.passed)
            .map(|result| result.weight)
            .sum::<f64>()
            + 0.0 // an empty float sum is -0.0, shown as "-0"
    }

    /// The weight of every check.
    pub fn max_score(&self) -> f64 {
        self.results.iter().map(|result| result.weight).sum::<f64>() + 0.0
    }

    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|result| result.passed).count()
    }

    /// True when every check passed.
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|result| result.passed)
    }

    /// Replaces every occurrence of each secret in what the results show (a command's output
    /// may echo a password) with `****`.
    pub fn redact(&mut self, secrets: &[String]) {
        let secrets: Vec<&String> = secrets.iter().filter(|secret| !secret.is_empty()).collect();
        if secrets.is_empty() {
            return;
        }
        let scrub = |text: &mut String| {
            for secret in &secrets {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), "****");
                }
            }
        };
        for result in &mut self.results {
            scrub(&mut result.expected);
            scrub(&mut result.actual);
            result.details.iter_mut().for_each(&scrub);
        }
    }
}

/// The grade of several verifications together (a scenario's acts): passed weight over total.
pub fn total_score(verifications: &[Verification]) -> (f64, f64) {
    // Folded from +0.0, so that no score shows as "-0".
    verifications
        .iter()
        .fold((0.0, 0.0), |(score, max), verification| {
            (score + verification.score(), max + verification.max_score())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_failed_verification_scores_zero_not_minus_zero() {
        let empty = Verification {
            name: "x".into(),
            results: Vec::new(),
            seconds: 0.0,
        };
        assert_eq!(empty.score().to_string(), "0");
        assert_eq!(empty.max_score().to_string(), "0");
        assert_eq!(total_score(&[empty]).0.to_string(), "0");
    }
}
