//! The decisions of the balancer checks, as pure functions of what was observed: which backend
//! served each request, which held connections went where.

use std::collections::BTreeMap;

/// The verdict of a check: passed or not, with what was expected and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True when the expectation holds.
    pub passed: bool,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub actual: String,
}

fn counts(served: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for backend in served {
        *counts.entry(backend.as_str()).or_insert(0) += 1;
    }
    counts
}

fn show_counts(counts: &BTreeMap<&str, usize>) -> String {
    counts
        .iter()
        .map(|(backend, count)| format!("{backend}×{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Round-robin: every backend seen, nothing else seen, counts within 1 of each other, and the
/// rotation stable (request `i` and request `i + n` went to the same backend).
pub fn round_robin(backends: &[String], served: &[String]) -> Verdict {
    let n = backends.len();
    let expected = format!(
        "{} requests spread over {} in a stable rotation (counts within 1)",
        served.len(),
        backends.join(", ")
    );
    let tally = counts(served);
    let sequence = served.join(" → ");
    let mut problems = Vec::new();
    let missing: Vec<&String> = backends
        .iter()
        .filter(|backend| !tally.contains_key(backend.as_str()))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "never served by {}",
            missing
                .iter()
                .map(|b| b.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let unexpected: Vec<&&str> = tally
        .keys()
        .filter(|backend| !backends.iter().any(|expected| expected == *backend))
        .collect();
    if !unexpected.is_empty() {
        problems.push(format!(
            "served by unexpected {}",
            unexpected
                .iter()
                .map(|b| **b)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let (min, max) = (
        tally.values().min().copied().unwrap_or(0),
        tally.values().max().copied().unwrap_or(0),
    );
    if max > min + 1 {
        problems.push(format!("uneven counts ({})", show_counts(&tally)));
    }
    // The order only means something once every backend, and only they, answered.
    if problems.is_empty()
        && n > 0
        && (0..served.len().saturating_sub(n)).any(|i| served[i] != served[i + n])
    {
        problems.push("the rotation order changes".to_string());
    }
    Verdict {
        passed: problems.is_empty() && !served.is_empty(),
        expected,
        actual: if problems.is_empty() {
            format!("{sequence} ({})", show_counts(&tally))
        } else {
            format!("{}: {sequence}", problems.join("; "))
        },
    }
}

/// Least-connections: with `held` connections open (backend → count), each new request went
/// to a backend holding the fewest.
pub fn least_connections(backends: &[String], held: &[String], served: &[String]) -> Verdict {
    let mut load: BTreeMap<&str, usize> = backends
        .iter()
        .map(|backend| (backend.as_str(), 0))
        .collect();
    for backend in held {
        *load.entry(backend.as_str()).or_insert(0) += 1;
    }
    let least = load.values().min().copied().unwrap_or(0);
    let least_loaded: Vec<&str> = load
        .iter()
        .filter(|(_, count)| **count == least)
        .map(|(backend, _)| *backend)
        .collect();
    let wrong: Vec<&String> = served
        .iter()
        .filter(|backend| load.get(backend.as_str()).copied().unwrap_or(usize::MAX) != least)
        .collect();
    let held_text = show_counts(&counts(held));
    Verdict {
        passed: wrong.is_empty() && !served.is_empty(),
        expected: format!(
            "with connections held ({held_text}), every new request goes to the least-loaded: {}",
            least_loaded.join(" or ")
        ),
        actual: if wrong.is_empty() {
            format!("new requests went to {}", served.join(", "))
        } else {
            format!(
                "{} of {} new requests went to a busier backend: {}",
                wrong.len(),
                served.len(),
                served.join(", ")
            )
        },
    }
}

/// Failover: with `victim` away, every request succeeded and none was served by it.
pub fn failover(victim: &str, served: &[Result<String, String>]) -> Verdict {
    let failures: Vec<&String> = served
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    let by_victim = served
        .iter()
        .filter(|result| matches!(result, Ok(backend) if backend == victim))
        .count();
    let ok: Vec<&str> = served
        .iter()
        .filter_map(|result| result.as_ref().ok().map(String::as_str))
        .collect();
    let passed = failures.is_empty() && by_victim == 0 && !ok.is_empty();
    Verdict {
        passed,
        expected: format!(
            "with {victim} stopped, all {} requests succeed on the other backends",
            served.len()
        ),
        actual: if passed {
            format!("all succeeded: {}", ok.join(", "))
        } else {
            let mut parts = Vec::new();
            if !failures.is_empty() {
                parts.push(format!(
                    "{} failed (first: {})",
                    failures.len(),
                    failures[0]
                ));
            }
            if by_victim > 0 {
                parts.push(format!("{by_victim} still served by {victim}"));
            }
            format!("{}; served: {}", parts.join("; "), ok.join(", "))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn round_robin_accepts_a_stable_rotation_only() {
        let backends = names(&["web1", "web2", "web3"]);
        assert!(
            round_robin(
                &backends,
                &names(&["web2", "web3", "web1", "web2", "web3", "web1"])
            )
            .passed
        );
        let sticky = round_robin(&backends, &names(&["web1", "web1", "web1"]));
        assert!(!sticky.passed);
        assert!(
            sticky.actual.contains("never served by web2, web3")
                && !sticky.actual.contains("rotation"),
            "a missing backend is the whole story: {}",
            sticky.actual
        );
        let shuffled = round_robin(
            &backends,
            &names(&["web1", "web2", "web3", "web2", "web1", "web3"]),
        );
        assert!(!shuffled.passed);
        assert!(
            shuffled.actual.contains("rotation order changes"),
            "{}",
            shuffled.actual
        );
        assert!(!round_robin(&backends, &names(&["web1", "web2", "web3", "web4"])).passed);
    }

    #[test]
    fn least_connections_needs_the_least_loaded() {
        let backends = names(&["a", "b"]);
        assert!(least_connections(&backends, &names(&["a"]), &names(&["b", "b", "b"])).passed);
        let round_robin = least_connections(&backends, &names(&["a"]), &names(&["b", "a", "b"]));
        assert!(!round_robin.passed);
        assert!(
            round_robin
                .actual
                .starts_with("1 of 3 new requests went to a busier backend"),
            "{}",
            round_robin.actual
        );
    }

    #[test]
    fn failover_needs_every_request_to_succeed_elsewhere() {
        assert!(failover("a", &[Ok("b".into()), Ok("b".into())]).passed);
        assert!(!failover("a", &[Ok("b".into()), Err("503".into())]).passed);
        assert!(!failover("a", &[Ok("a".into()), Ok("b".into())]).passed);
    }
}
