//! A failed VBoxManage call: what was run, how it ended, and what kind of failure it is.

use std::fmt;
use std::time::Duration;

/// The kinds of VBoxManage failure labctl reacts to differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `VBOX_E_OBJECT_NOT_FOUND`: the VM, network or snapshot does not exist.
    NotFound,
    /// `VBOX_E_INVALID_OBJECT_STATE` / `VBOX_E_INVALID_VM_STATE` / "already locked": a session
    /// holds the VM or it is in the wrong state; often transient (the only class retried).
    Locked,
    /// `E_ACCESSDENIED`, e.g. a host-only address outside `/etc/vbox/networks.conf`.
    AccessDenied,
    /// Something of that name exists already (`VERR_ALREADY_EXISTS`, "already exists").
    AlreadyExists,
    /// VBoxManage rejected the command line (exit 2).
    Syntax,
    /// The call took longer than its timeout and was killed.
    Timeout,
    /// VBoxManage could not be started at all.
    Spawn,
    /// Any other failure.
    Other,
}

/// A VBoxManage call that failed.
#[derive(Debug, Clone)]
pub struct VBoxError {
    /// The command line (program and arguments).
    pub argv: Vec<String>,
    /// Exit status, if the process exited.
    pub status: Option<i32>,
    /// What it printed on stderr.
    pub stderr: String,
    /// What it printed on stdout.
    pub stdout: String,
    /// Its class.
    pub class: ErrorClass,
    /// The `VBOX_E_…`/`E_…`/`NS_ERROR_…` code or `VERR_…` status found in stderr, if any.
    pub code: Option<String>,
}

impl VBoxError {
    /// Classifies a finished call.
    pub fn from_output(
        argv: Vec<String>,
        status: Option<i32>,
        stdout: String,
        stderr: String,
    ) -> Self {
        let code = find_code(&stderr);
        let class = classify(status, &stderr, code.as_deref());
        Self {
            argv,
            status,
            stderr,
            stdout,
            class,
            code,
        }
    }

    /// A call that timed out.
    pub fn timeout(argv: Vec<String>, after: Duration, stdout: String, stderr: String) -> Self {
        Self {
            argv,
            status: None,
            stderr: format!("{stderr}(killed by labctl after {} s)", after.as_secs()),
            stdout,
            class: ErrorClass::Timeout,
            code: None,
        }
    }

    /// A call that could not start.
    pub fn spawn(argv: Vec<String>, error: &std::io::Error) -> Self {
        Self {
            argv,
            status: None,
            stderr: error.to_string(),
            stdout: String::new(),
            class: ErrorClass::Spawn,
            code: None,
        }
    }

    /// The first `VBoxManage: error:` message, without prefix (the headline of the failure).
    pub fn headline(&self) -> String {
        self.stderr
            .lines()
            .filter_map(|line| error_message(line))
            .find(|message| !message.starts_with("Details:") && !message.starts_with("Context:"))
            .map(str::to_string)
            .unwrap_or_else(|| self.stderr.lines().last().unwrap_or("").trim().to_string())
    }

    /// True when stdout or stderr contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        self.stderr.contains(text) || self.stdout.contains(text)
    }
}

impl fmt::Display for VBoxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Some(code) => format!("exit {code}"),
            None => "no exit status".to_string(),
        };
        write!(f, "`{}` failed ({status}", self.argv.join(" "))?;
        if let Some(code) = &self.code {
            write!(f, ", {code}")?;
        }
        write!(f, "): {}", self.headline())?;
        let rest: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        if rest.len() > 1 {
            write!(f, "\n  stderr:")?;
            for line in rest {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for VBoxError {}

/// The message of a `VBoxManage: error: …` line.
pub fn error_message(line: &str) -> Option<&str> {
    line.strip_prefix("VBoxManage: error: ")
        .or_else(|| line.strip_prefix("VBoxManage.exe: error: "))
}

/// True when stderr reports an error (VBoxManage sometimes exits 0 after one).
pub fn reports_error(stderr: &str) -> bool {
    stderr.lines().any(|line| error_message(line).is_some())
}

fn find_code(stderr: &str) -> Option<String> {
    let token = |word: &str| {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
        (word.starts_with("VBOX_E_")
            || word.starts_with("E_")
            || word.starts_with("NS_ERROR_")
            || word.starts_with("VERR_"))
        .then(|| word.to_string())
    };
    let mut verr = None;
    for line in stderr.lines() {
        for word in line.split_whitespace() {
            if let Some(found) = token(word) {
                if found.starts_with("VERR_") {
                    verr.get_or_insert(found);
                } else if line.contains("code ") || line.contains("Code ") {
                    return Some(found);
                }
            }
        }
    }
    verr
}

fn classify(status: Option<i32>, stderr: &str, code: Option<&str>) -> ErrorClass {
    match code {
        Some("VBOX_E_OBJECT_NOT_FOUND") => return ErrorClass::NotFound,
        Some("VBOX_E_INVALID_OBJECT_STATE" | "VBOX_E_INVALID_VM_STATE") => {
            return ErrorClass::Locked;
        }
        Some("E_ACCESSDENIED") => return ErrorClass::AccessDenied,
        Some("VERR_ALREADY_EXISTS") => return ErrorClass::AlreadyExists,
        _ => {}
    }
    if stderr.contains("is already locked")
        || stderr.contains("already has a lock request pending")
        || stderr.contains("while it is locked")
    {
        return ErrorClass::Locked;
    }
    if stderr.contains("already exists") {
        return ErrorClass::AlreadyExists;
    }
    if stderr.contains("Could not find a registered machine") || stderr.contains("does not exist") {
        return ErrorClass::NotFound;
    }
    if status == Some(2) {
        return ErrorClass::Syntax;
    }
    ErrorClass::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: i32, stderr: &str) -> VBoxError {
        VBoxError::from_output(
            vec!["VBoxManage".into(), "modifyvm".into()],
            Some(status),
            String::new(),
            stderr.into(),
        )
    }

    #[test]
    fn classifies_by_code_token() {
        let locked = error(
            1,
            "VBoxManage: error: The machine 'lab-web1' is already locked for a session (or being unlocked)\nVBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\nVBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 640 of file VBoxManageModifyVM.cpp\n",
        );
        assert_eq!(locked.class, ErrorClass::Locked);
        assert_eq!(locked.code.as_deref(), Some("VBOX_E_INVALID_OBJECT_STATE"));
        assert_eq!(
            locked.headline(),
            "The machine 'lab-web1' is already locked for a session (or being unlocked)"
        );
        let missing = error(
            1,
            "VBoxManage: error: Could not find a registered machine named 'x'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\n",
        );
        assert_eq!(missing.class, ErrorClass::NotFound);
        let denied = error(
            1,
            "VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\nVBoxManage: error: Context: \"EnableStaticIPConfig(...)\" at line 242 of file VBoxManageHostonly.cpp\n",
        );
        assert_eq!(denied.class, ErrorClass::AccessDenied);
        assert_eq!(
            error(2, "VBoxManage: error: Unknown option: --foo\n").class,
            ErrorClass::Syntax
        );
        let exists = error(
            1,
            "VBoxManage: error: Could not rename the directory (VERR_ALREADY_EXISTS)\n",
        );
        assert_eq!(exists.class, ErrorClass::AlreadyExists);
    }

    #[test]
    fn display_carries_argv_status_and_stderr() {
        let shown = error(1, "VBoxManage: error: boom\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005)\n").to_string();
        assert!(
            shown.starts_with("`VBoxManage modifyvm` failed (exit 1, NS_ERROR_FAILURE): boom"),
            "{shown}"
        );
        assert!(shown.contains("Details: code NS_ERROR_FAILURE"), "{shown}");
    }
}
