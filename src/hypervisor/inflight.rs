//! The VBoxManage calls a labctl has in flight, one file each in a folder of the lab's state
//! (`.labctl/LAB/inflight/PID`). SIGKILL ends labctl but not the VBoxManage it started: the call
//! goes on (a `startvm` still starts its VM). A labctl that takes over a dead holder's lock first
//! waits for those calls to end, so that it plans against what they did rather than race them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a runner records its calls.
#[derive(Debug, Clone)]
pub struct InflightJournal {
    dir: PathBuf,
}

/// A process, told apart from a later one that reuses its PID by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recorded {
    pid: u32,
    start: Option<u64>,
}

/// The start time of a live process (clock ticks since boot), where the system tells it.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

fn alive(recorded: Recorded) -> bool {
    match recorded.start {
        Some(start) => start_time(recorded.pid) == Some(start),
        None => {
            #[cfg(unix)]
            {
                let Ok(pid) = libc::pid_t::try_from(recorded.pid) else {
                    return false;
                };
                // SAFETY: signal 0 only checks that the process exists.
                unsafe { libc::kill(pid, 0) == 0 }
            }
            #[cfg(not(unix))]
            {
                false
            }
        }
    }
}

impl InflightJournal {
    /// A journal in `dir` (made when the first call is recorded).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Records a started call; returns the file to remove when it ends.
    pub fn record(&self, pid: u32, argv: &[String]) -> Option<PathBuf> {
        std::fs::create_dir_all(&self.dir).ok()?;
        let path = self.dir.join(pid.to_string());
        let start = start_time(pid).map_or_else(String::new, |start| start.to_string());
        std::fs::write(&path, format!("{start}\n{}\n", argv.join(" "))).ok()?;
        Some(path)
    }

    /// Waits until the calls a dead labctl left in flight have ended, at most `limit`; those
    /// still running then are killed with their process group. Returns their command lines.
    pub fn settle(&self, limit: Duration) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut left: Vec<(Recorded, String, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(pid) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let mut lines = text.lines();
            let start = lines.next().and_then(|line| line.parse().ok());
            let command = lines.next().unwrap_or_default().to_string();
            left.push((Recorded { pid, start }, command, path));
        }
        let waited: Vec<String> = left
            .iter()
            .filter(|(recorded, ..)| alive(*recorded))
            .map(|(_, command, _)| command.clone())
            .collect();
        let deadline = Instant::now() + limit;
        while left.iter().any(|(recorded, ..)| alive(*recorded)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        for (recorded, _, path) in &left {
            #[cfg(unix)]
            if alive(*recorded)
                && let Ok(pid) = libc::pid_t::try_from(recorded.pid)
            {
                // SAFETY: the group the recorded VBoxManage leads (started with process_group(0)).
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = std::fs::remove_file(path);
        }
        waited
    }
}

/// Removes a call's record when it ends.
pub fn done(path: Option<PathBuf>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(&path);
    }
}

/// The journal folder of a lab's state folder.
pub fn journal_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("inflight")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_dead_holders_calls_are_waited_for_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let journal = InflightJournal::new(dir.path().join("inflight"));
        let mut child = std::process::Command::new("sleep")
            .arg("0.3")
            .spawn()
            .unwrap();
        let record = journal.record(child.id(), &["startvm".into(), "web1".into()]);
        assert!(record.is_some());
        // Reap it in the background, as init would for an orphan.
        let reaper = std::thread::spawn(move || child.wait());
        let started = Instant::now();
        let waited = journal.settle(Duration::from_secs(5));
        assert_eq!(waited, vec!["startvm web1".to_string()]);
        assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "not longer than the call"
        );
        assert!(
            journal.settle(Duration::from_secs(1)).is_empty(),
            "forgotten"
        );
        let _ = reaper.join();
    }
}
