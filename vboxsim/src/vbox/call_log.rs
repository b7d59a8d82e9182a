//! `VBOXSIM_CALL_LOG=/path`: one JSON line per VBoxManage invocation {argv, exit, ms}.

use std::io::Write;

pub fn append(argv: &[String], exit: i32, ms: u128) {
    let Some(path) = std::env::var_os("VBOXSIM_CALL_LOG") else {
        return;
    };
    if path.is_empty() {
        return;
    }
    let line = serde_json::json!({ "argv": argv, "exit": exit, "ms": ms as u64 });
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write call per line keeps concurrent appends whole (O_APPEND).
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}
