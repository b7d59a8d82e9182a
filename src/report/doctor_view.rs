//! Renders `labctl doctor`'s findings: one line per thing checked, what is wrong and how to fix
//! it, and a last line that says whether `up` can go ahead.

use serde::Serialize;

/// How a checked thing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ready.
    Ok,
    /// `up` can go on, but something is likely to go wrong or be slow.
    Warning,
    /// `up` would fail.
    Problem,
}

/// One thing `doctor` checked.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was checked: `VirtualBox`, `memory`, `network lab`, `image ubuntu`, …
    pub subject: String,
    /// How it stands.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it, for warnings and problems.
    pub help: Option<String>,
}

impl Finding {
    /// A finding without help.
    pub fn new(subject: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            status,
            detail: detail.into(),
            help: None,
        }
    }

    /// With how to fix it.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The findings as text, for people.
pub fn render(lab: &str, file: &str, findings: &[Finding], color: bool) -> String {
    let width = findings
        .iter()
        .map(|finding| finding.subject.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("labctl doctor: lab `{lab}` ({file})\n");
    for finding in findings {
        let (mark, paint) = match finding.status {
            Status::Ok => ("ok  ", "32"),
            Status::Warning => ("warn", "33"),
            Status::Problem => ("FAIL", "31"),
        };
        let mark = if color {
            format!("\x1b[{paint}m{mark}\x1b[0m")
        } else {
            mark.to_string()
        };
        out.push_str(&format!(
            "  {mark}  {:<width$}  {}\n",
            finding.subject, finding.detail
        ));
        if let Some(help) = &finding.help {
            out.push_str(&format!("        {:<width$}  help: {help}\n", ""));
        }
    }
    let count = |status| {
        findings
            .iter()
            .filter(|finding| finding.status == status)
            .count()
    };
    let (problems, warnings) = (count(Status::Problem), count(Status::Warning));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out.push_str(&match (problems, warnings) {
        (0, 0) => "ready: `labctl up` has what it needs\n".to_string(),
        (0, warnings) => format!(
            "ready, with {}: `labctl up` can go ahead\n",
            plural(warnings, "warning")
        ),
        (problems, _) => format!(
            "{} found: `labctl up` would fail; fix {} first\n",
            plural(problems, "problem"),
            if problems == 1 { "it" } else { "them" }
        ),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_aligned_and_summed_up() {
        let findings = [
            Finding::new("VirtualBox", Status::Ok, "7.1.4 (/usr/bin/VBoxManage)"),
            Finding::new("network lab", Status::Problem, "10.10.0.1 is refused")
                .help("add `* 10.10.0.0/24` to /etc/vbox/networks.conf"),
        ];
        let text = render("exam3", "labs/exam3.toml", &findings, false);
        assert_eq!(
            text,
            "labctl doctor: lab `exam3` (labs/exam3.toml)\n\
             \x20 ok    VirtualBox   7.1.4 (/usr/bin/VBoxManage)\n\
             \x20 FAIL  network lab  10.10.0.1 is refused\n\
             \x20                    help: add `* 10.10.0.0/24` to /etc/vbox/networks.conf\n\
             1 problem found: `labctl up` would fail; fix it first\n"
        );
        let ready = render("x", "x.toml", &findings[..1], false);
        assert!(
            ready.ends_with("ready: `labctl up` has what it needs\n"),
            "{ready}"
        );
    }
}
