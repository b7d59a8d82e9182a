//! Power commands inside a guest. On a real VM `poweroff`, `shutdown -h now`, `halt -p`,
//! `reboot` and `systemctl poweroff|halt|reboot` end in the kernel powering the machine off (or
//! resetting it), and VirtualBox shows the VM `poweroff` within seconds. Here they ask the
//! guest's init with the signals systemd's PID 1 takes for the same requests (systemd(1),
//! "Signals": SIGRTMIN+4 powers off, SIGRTMIN+5 reboots), and init stops the services and ends
//! the guest, which the VM process sees.
//!
//! A guess, marked: `halt` powers off as `poweroff` does (systemd's `halt` stops the CPU and
//! leaves the VM running); `shutdown` with a time argument acts at once.

/// The signal that asks the guest's init to power off.
pub fn poweroff_signal() -> i32 {
    libc::SIGRTMIN() + 4
}

/// The signal that asks the guest's init to reboot.
pub fn reboot_signal() -> i32 {
    libc::SIGRTMIN() + 5
}

/// The exit status of a guest's init that rebooted (the VM process starts it again).
pub const REBOOT_STATUS: i32 = 100;

/// The names the power commands answer to, in `/usr/sbin` of the guest.
pub const COMMANDS: [&str; 4] = ["poweroff", "halt", "reboot", "shutdown"];

/// The script installed under each name of `COMMANDS`.
pub fn script() -> String {
    format!(
        r#"#!/bin/sh
# vboxsim: this guest's power commands ask its init, as systemd's do (see vboxsim's README).
name=${{0##*/}}
signal={off}
case "$name" in
  reboot) signal={reboot} ;;
  shutdown)
    for arg in "$@"; do
      case "$arg" in
        -r|--reboot) signal={reboot} ;;
        -c) echo "shutdown: no shutdown is scheduled" >&2; exit 1 ;;
        --help) echo "usage: shutdown [-h|-P|-r] [TIME] [MESSAGE]"; exit 0 ;;
      esac
    done ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "Failed to $name system via logind: Interactive authentication required." >&2
  exit 1
fi
exec kill -$signal 1
"#,
        off = poweroff_signal(),
        reboot = reboot_signal(),
    )
}

/// The lines of the systemctl wrapper (Python) that turn `systemctl poweroff|halt|reboot` into
/// the same requests.
pub fn systemctl_lines() -> String {
    format!(
        r#"verbs = [a for a in sys.argv[1:] if not a.startswith("-")]
if verbs and verbs[0] in ("poweroff", "halt", "reboot"):
    if os.geteuid() != 0:
        sys.stderr.write("Failed to %s system via logind: Interactive authentication required.\n" % verbs[0])
        sys.exit(1)
    os.kill(1, {reboot} if verbs[0] == "reboot" else {off})
    sys.exit(0)
"#,
        off = poweroff_signal(),
        reboot = reboot_signal(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_signals_are_systemds() {
        assert_eq!(poweroff_signal(), libc::SIGRTMIN() + 4);
        assert_ne!(poweroff_signal(), reboot_signal());
        let script = script();
        assert!(script.contains(&format!("signal={}", reboot_signal())));
        assert!(script.contains("exec kill -$signal 1"));
    }
}
