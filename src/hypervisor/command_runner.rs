//! The one choke point every VBoxManage call goes through: `LANG=C.UTF-8`, stdout and stderr read
//! concurrently, a timeout, failures carrying argv, status and stderr, and bounded retries with
//! backoff for the lock/state class only.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::vbox_error::{ErrorClass, VBoxError, reports_error};

/// VBoxManage's messages in English (7.x translates them after the locale) with names and paths
/// in UTF-8, as other clients run it: `C.UTF-8` on Linux; macOS has no `C.UTF-8` before
/// Ventura, so `en_US.UTF-8` there.
#[cfg(target_os = "macos")]
pub const UTF8_LOCALE: &str = "en_US.UTF-8";
/// VBoxManage's messages in English with names and paths in UTF-8.
#[cfg(not(target_os = "macos"))]
pub const UTF8_LOCALE: &str = "C.UTF-8";
/// The variables that choose it (LC_ALL wins over a user's LC_MESSAGES).
const MESSAGES_LOCALE: [&str; 2] = ["LANG", "LC_ALL"];

/// What a successful call printed.
#[derive(Debug, Clone, Default)]
pub struct CallOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error (progress bars, warnings).
    pub stderr: String,
}

/// Runs VBoxManage with arguments. Implemented by [`ProcessRunner`] and by test fakes.
pub trait CommandRunner: Send + Sync {
    /// Runs once, without retrying.
    fn run_once(&self, args: &[String], timeout: Duration) -> Result<CallOutput, VBoxError>;

    /// Calls made so far, and how many of them changed something.
    fn counts(&self) -> CallCounts;
}

/// How many VBoxManage calls a runner made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallCounts {
    /// All calls.
    pub total: usize,
    /// Calls that change VirtualBox's state.
    pub writes: usize,
}

/// Runs the real `VBoxManage` program.
pub struct ProcessRunner {
    program: PathBuf,
    total: AtomicUsize,
    writes: AtomicUsize,
    log: Mutex<Vec<String>>,
    journal: Option<super::inflight::InflightJournal>,
}

impl ProcessRunner {
    /// A runner for the program at `program`.
    pub fn new(program: PathBuf) -> Self {
        Self {
            program,
            total: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            journal: None,
        }
    }

    /// Records every call in flight in `journal`, for a labctl that takes over after this one
    /// was killed.
    pub fn with_journal(mut self, journal: super::inflight::InflightJournal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The program run.
    pub fn program(&self) -> &PathBuf {
        &self.program
    }

    /// The command lines run so far (for `--verbose` diagnostics and tests).
    pub fn history(&self) -> Vec<String> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

/// True when a VBoxManage command line changes state (as opposed to reading it).
pub fn is_write(args: &[String]) -> bool {
    let first = args.first().map(String::as_str).unwrap_or("");
    match first {
        "list" | "showvminfo" | "--version" | "-v" | "-V" | "getextradata" => false,
        "guestproperty" => matches!(
            args.get(1).map(String::as_str),
            Some("set" | "delete" | "unset")
        ),
        "snapshot" => !matches!(args.get(2).map(String::as_str), Some("list" | "showvminfo")),
        "natnetwork" => args.get(1).map(String::as_str) != Some("list"),
        "import" => !args.iter().any(|arg| arg == "-n" || arg == "--dry-run"),
        "dhcpserver" => args.get(1).map(String::as_str) != Some("findlease"),
        _ => true,
    }
}

impl CommandRunner for ProcessRunner {
    fn run_once(&self, args: &[String], timeout: Duration) -> Result<CallOutput, VBoxError> {
        self.total.fetch_add(1, Ordering::Relaxed);
        if is_write(args) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let mut argv = vec![self.program.display().to_string()];
        argv.extend(args.iter().cloned());
        if let Ok(mut log) = self.log.lock() {
            log.push(args.join(" "));
        }
        let mut command = Command::new(&self.program);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = match command
            .args(args)
            .envs(MESSAGES_LOCALE.iter().map(|name| (name, UTF8_LOCALE)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => return Err(VBoxError::spawn(argv, &error)),
        };
        let record = self
            .journal
            .as_ref()
            .and_then(|journal| journal.record(child.id(), args));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() > timeout => {
                    kill_group(&mut child);
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(
                    if started.elapsed() < Duration::from_millis(100) {
                        2
                    } else {
                        20
                    },
                )),
                Err(_) => break None,
            }
        };
        super::inflight::done(record);
        let stdout = stdout
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        let stderr = stderr
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        let stdout = stdout.replace("\r\n", "\n");
        let stderr = stderr.replace("\r\n", "\n");
        match status {
            None => Err(VBoxError::timeout(argv, timeout, stdout, stderr)),
            Some(status) if status.success() && !reports_error(&stderr) => {
                Ok(CallOutput { stdout, stderr })
            }
            Some(status) => Err(VBoxError::from_output(argv, status.code(), stdout, stderr)),
        }
    }

    fn counts(&self) -> CallCounts {
        CallCounts {
            total: self.total.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

/// Kills the child and everything it started (its process group), so that no grandchild keeps
/// the output pipes open after a timeout.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads; it
        // touches no memory of this process.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

/// Reads a pipe to the end on its own thread, so a child that fills one pipe while labctl
/// reads the other cannot deadlock.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    })
}

/// How many times and how patiently a lock/state failure is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Pause before the first retry; doubles each time.
    pub first_pause: Duration,
    /// Longest pause.
    pub max_pause: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(2),
        }
    }
}

/// Runs a call, retrying with backoff while it fails with a lock/state error.
pub fn run_with_retry(
    runner: &dyn CommandRunner,
    args: &[String],
    timeout: Duration,
    policy: RetryPolicy,
) -> Result<CallOutput, VBoxError> {
    let mut pause = policy.first_pause;
    let mut attempt = 1;
    loop {
        match runner.run_once(args, timeout) {
            Err(error) if error.class == ErrorClass::Locked && attempt < policy.attempts => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(policy.max_pause);
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn reads_and_writes_are_told_apart() {
        for read in [
            "list vms",
            "showvminfo x --machinereadable",
            "--version",
            "getextradata global enumerate",
            "snapshot x list --machinereadable",
            "natnetwork list",
            "import a.ova -n",
            "guestproperty get x /a",
        ] {
            assert!(!is_write(&args(read)), "{read}");
        }
        for write in [
            "modifyvm x --memory 5",
            "startvm x",
            "snapshot x take s",
            "clonevm x",
            "import a.ova",
            "setextradata x k v",
            "guestproperty set x a b",
            "natnetwork add --netname n",
        ] {
            assert!(is_write(&args(write)), "{write}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_real_process_is_run_with_its_output_and_a_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("VBoxManage");
        std::fs::write(&script, "#!/bin/sh\nif [ \"$1\" = sleep ]; then sleep 5; fi\necho \"lang=$LANG $*\"\necho 'VBoxManage: error: oops' >&2\n[ \"$1\" = fail ] && exit 1\nexit 0\n").unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(&script).unwrap().permissions(),
            0o755,
        );
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let runner = ProcessRunner::new(script);
        let failed = runner
            .run_once(&args("fail now"), Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(failed.status, Some(1));
        assert!(
            failed
                .stdout
                .contains(&format!("lang={UTF8_LOCALE} fail now")),
            "{}",
            failed.stdout
        );
        assert_eq!(failed.headline(), "oops");
        let error_on_zero = runner
            .run_once(&args("ok"), Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(
            error_on_zero.status,
            Some(0),
            "an error line on stderr fails the call even with exit 0"
        );
        let slow = runner
            .run_once(&args("sleep"), Duration::from_millis(200))
            .unwrap_err();
        assert_eq!(slow.class, ErrorClass::Timeout);
        assert_eq!(runner.counts().total, 3);
    }
}
