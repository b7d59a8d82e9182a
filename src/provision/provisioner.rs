//! Runs rendered steps in a guest over an SSH session: as root through sudo when asked, files
//! written atomically, scripts uploaded then run, output kept for the report.

use std::time::Duration;

use crate::remote::guest_shell::{self, Privilege};
use crate::remote::{ExecOutput, RemoteError, Secret, Session};

use super::rendered_step::{RenderedStep, StepWork};

/// A logged-in guest, with how it gets root.
pub struct Guest<'a> {
    /// The session.
    pub session: &'a mut dyn Session,
    /// How commands get root.
    pub privilege: Privilege,
    /// The login password, for `sudo -S`.
    pub password: Option<&'a Secret>,
}

/// Finds out how commands get root in this guest.
pub fn detect_privilege(
    session: &mut dyn Session,
    password: Option<&Secret>,
) -> Result<Privilege, RemoteError> {
    let timeout = Duration::from_secs(30);
    let id = session.exec("id -u", &[], timeout, &mut |_| {})?;
    if id.text().trim() == "0" {
        return Ok(Privilege::Root);
    }
    let sudo = session.exec("sudo -n true", &[], timeout, &mut |_| {})?;
    if sudo.status == 0 {
        return Ok(Privilege::SudoNoPassword);
    }
    if password.is_some() {
        return Ok(Privilege::SudoWithPassword);
    }
    Ok(Privilege::SudoNoPassword)
}

impl Guest<'_> {
    /// Runs a shell script (as root when `as_root`) with `input` on stdin.
    pub fn run(
        &mut self,
        script: &str,
        as_root: bool,
        env: &[(String, String)],
        input: &[u8],
        timeout: Duration,
        output: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput, RemoteError> {
        let command = guest_shell::shell(script, as_root, self.privilege, env);
        let stdin = guest_shell::stdin_with_password(
            self.password.map(Secret::expose),
            as_root,
            self.privilege,
            input,
        );
        self.session.exec(&command, &stdin, timeout, output)
    }

    /// Runs one step.
    pub fn run_step(
        &mut self,
        step: &RenderedStep,
        output: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput, RemoteError> {
        match &step.work {
            StepWork::Run(command) => {
                self.run(command, step.sudo, &step.env, &[], step.timeout, output)
            }
            StepWork::File {
                content,
                to,
                mode,
                owner,
            } => {
                let script = guest_shell::write_file_script(to, *mode, owner.as_deref());
                self.run(&script, step.sudo, &[], content, step.timeout, output)
            }
            StepWork::Folder {
                archive,
                to,
                mode,
                owner,
            } => {
                let script = guest_shell::unpack_folder_script(to, *mode, owner.as_deref());
                self.run(&script, step.sudo, &[], archive, step.timeout, output)
            }
            StepWork::Script { text, args } => {
                let path = format!("/tmp/labctl-step-{}", &step.hash[..12]);
                let upload = guest_shell::write_file_script(&path, Some(0o755), None);
                let written = self.run(&upload, false, &[], text, step.timeout, output)?;
                if written.status != 0 {
                    return Ok(written);
                }
                let mut invocation = guest_shell::quote(&path);
                for arg in args {
                    invocation.push(' ');
                    invocation.push_str(&guest_shell::quote(arg));
                }
                let script = format!(
                    "{invocation}; status=$?; rm -f {}; exit $status",
                    guest_shell::quote(&path)
                );
                self.run(&script, step.sudo, &step.env, &[], step.timeout, output)
            }
        }
    }
}

/// The last `count` lines of an output, for failure reports.
pub fn tail(output: &[u8], count: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| line.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(tail(b"", 2), Vec::<String>::new());
    }
}
