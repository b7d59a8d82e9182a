//! Verification results as JUnit XML: a test suite per verification (the lab, or each act of
//! a scenario), a test case per check; failures carry what was expected and what was seen.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::check_report::points;
use crate::checks::Verification;

/// The JUnit XML document of `verifications`, reported under `report_name` (the lab).
pub fn junit(report_name: &str, verifications: &[Verification]) -> String {
    let mut report = Report::new(format!("labctl verify {report_name}"));
    let mut total = 0.0;
    for verification in verifications {
        total += verification.seconds;
        let mut suite = TestSuite::new(verification.name.as_str());
        suite.set_time(Duration::from_secs_f64(verification.seconds));
        suite.add_property(Property::new("score", points(verification.score())));
        suite.add_property(Property::new("max_score", points(verification.max_score())));
        for result in &verification.results {
            let status = if result.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!(
                    "expected: {}; actual: {}",
                    result.expected, result.actual
                ));
                status.set_type(result.kind.as_str());
                status.set_description(format!(
                    "expected: {}\nactual: {}\ncheck at {}\n{}",
                    result.expected,
                    result.actual,
                    result.location,
                    result.details.join("\n")
                ));
                status
            };
            let mut case = TestCase::new(result.name.as_str(), status);
            case.set_classname(format!("{report_name}.{}", result.kind));
            case.set_time(Duration::from_secs_f64(result.seconds));
            case.add_property(Property::new("weight", points(result.weight)));
            case.add_property(Property::new("location", result.location.as_str()));
            if result.passed && !result.details.is_empty() {
                case.set_system_out(result.details.join("\n"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.set_time(Duration::from_secs_f64(total));
    report
        .to_string()
        .unwrap_or_else(|error| format!("<!-- cannot write JUnit XML: {error} -->\n"))
}
