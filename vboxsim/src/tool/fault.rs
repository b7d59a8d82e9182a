//! `vboxsim fault …`: fault-injection counters kept in the world's state, so they survive
//! across VBoxManage processes (each one consumes what it triggers).

use crate::store::Store;

pub fn main(args: &[String]) -> i32 {
    let store = Store::from_env();
    let parse_n = |v: Option<&String>| v.and_then(|v| v.parse::<u64>().ok());
    let result = (|| -> Result<(), String> {
        let lock = store.lock()?;
        let mut state = store.read()?;
        let f = &mut state.faults;
        match (args.first().map(String::as_str), args.get(1)) {
            (Some("lock-writes"), v) => {
                f.lock_writes = parse_n(v).ok_or("lock-writes needs a count")? as u32
            }
            (Some("startvm-fail"), v) => {
                f.startvm_fail = parse_n(v).ok_or("startvm-fail needs a count")? as u32
            }
            (Some("startvm-exit1"), v) => {
                f.startvm_exit1 = parse_n(v).ok_or("startvm-exit1 needs a count")? as u32
            }
            (Some("startvm-delay"), v) => {
                f.startvm_delay_ms = parse_n(v).ok_or("startvm-delay needs milliseconds")?
            }
            (Some("hostonly-create-fail"), v) => {
                f.hostonly_create_fail =
                    parse_n(v).ok_or("hostonly-create-fail needs a count")? as u32
            }
            (Some("global-extradata-fail"), v) => {
                f.global_extradata_fail =
                    parse_n(v).ok_or("global-extradata-fail needs a count")? as u32
            }
            (Some("dhcp-modify-fail"), v) => {
                f.dhcp_modify_fail = parse_n(v).ok_or("dhcp-modify-fail needs a count")? as u32
            }
            (Some("no-sshd"), Some(v)) if v == "on" || v == "off" => f.no_sshd = v == "on",
            (Some("clear"), None) => *f = Default::default(),
            (Some("show"), None) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(f).map_err(|e| e.to_string())?
                );
                return Ok(());
            }
            _ => return Err(format!("unknown fault command\n{}", super::usage::USAGE)),
        }
        store.write(&state, &lock)
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vboxsim: {e}");
            2
        }
    }
}
