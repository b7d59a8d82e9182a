//! The lab lock: one `up`, `destroy`, `halt`, … at a time per lab. A second one is refused with
//! the holder's PID, command and start time; the lock of a process that died is free again
//! (the operating system drops it with the process).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds a lab's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// The labctl command (`up`, `destroy`, …).
    pub command: String,
    /// When it took the lock (RFC 3339, UTC).
    pub started: String,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another labctl holds it.
    #[error("lab `{lab}` is busy: `labctl {}` (pid {}, started {}) holds its lock", holder.command, holder.pid, holder.started)]
    Held {
        /// The lab.
        lab: String,
        /// Who holds it.
        holder: Holder,
    },
    /// Another labctl holds it and did not say who (it is starting up).
    #[error("lab `{lab}` is busy: another labctl holds its lock ({})", path.display())]
    HeldUnknown {
        /// The lab.
        lab: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file cannot be used.
    #[error("cannot use the lock file `{}`", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A held lab lock, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LabLock {
    file: File,
    holder_path: PathBuf,
    /// The holder that was there before, when this lock took over from a dead process.
    pub took_over: Option<Holder>,
}

impl LabLock {
    /// Takes the lock of lab `lab` kept in `dir`, or says who has it.
    pub fn acquire(dir: &Path, lab: &str, command: &str) -> Result<Self, LockError> {
        std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        let holder_path = dir.join("lock.holder");
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(match current_holder(&holder_path) {
                    Some(holder) => LockError::Held {
                        lab: lab.to_string(),
                        holder,
                    },
                    None => LockError::HeldUnknown {
                        lab: lab.to_string(),
                        path,
                    },
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(LockError::Io { path, source });
            }
        }
        let took_over = std::fs::read_to_string(&holder_path)
            .ok()
            .and_then(|text| serde_json::from_str::<Holder>(&text).ok());
        let holder = Holder {
            pid: std::process::id(),
            command: command.to_string(),
            started: now_rfc3339(),
        };
        let write = || -> std::io::Result<()> {
            let temporary = dir.join("lock.holder.tmp");
            let mut out = File::create(&temporary)?;
            out.write_all(
                serde_json::to_string(&holder)
                    .unwrap_or_default()
                    .as_bytes(),
            )?;
            out.sync_all()?;
            std::fs::rename(&temporary, &holder_path)
        };
        write().map_err(|source| LockError::Io {
            path: holder_path.clone(),
            source,
        })?;
        Ok(Self {
            file,
            holder_path,
            took_over,
        })
    }
}

/// Who holds a taken lock. The holder writes its name just after taking the lock, so a
/// missing name, or one left by a process that has died, is waited for briefly.
fn current_holder(holder_path: &Path) -> Option<Holder> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let holder = std::fs::read_to_string(holder_path)
            .ok()
            .and_then(|text| serde_json::from_str::<Holder>(&text).ok())
            .filter(|holder| process_alive(holder.pid));
        if holder.is_some() || std::time::Instant::now() >= deadline {
            return holder;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// True when a process with this id exists.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let sent = unsafe { libc::kill(pid, 0) };
        sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

impl Drop for LabLock {
    fn drop(&mut self) {
        // A holder file without a lock means its process died: a clean exit removes it.
        let _ = std::fs::remove_file(&self.holder_path);
        let _ = self.file.unlock();
    }
}

/// The current time as RFC 3339 UTC, without a date library: seconds since the epoch turned
/// into a civil date (Howard Hinnant's algorithm).
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    rfc3339(seconds)
}

/// RFC 3339 UTC of seconds since the epoch.
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let time = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_714_557_600), "2024-05-01T10:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_second_lock_names_the_holder_and_a_released_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let first = LabLock::acquire(dir.path(), "exam3", "up").unwrap();
        match LabLock::acquire(dir.path(), "exam3", "destroy") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.command, "up");
            }
            other => panic!("expected the lock to be held, got {other:?}"),
        }
        drop(first);
        let again = LabLock::acquire(dir.path(), "exam3", "destroy").unwrap();
        assert_eq!(
            again.took_over, None,
            "a clean exit leaves nothing to take over"
        );
        std::mem::forget(again);
        let third = LabLock::acquire(dir.path(), "exam3", "halt");
        assert!(
            matches!(third, Err(LockError::Held { .. })),
            "still held by the forgotten lock"
        );
    }
}
