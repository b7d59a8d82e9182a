//! Where vboxsim keeps its worlds: `$VBOXSIM_ROOT/worlds/NAME/` (default `/var/lib/vboxsim`).
//! A module of its own so that VM processes find the worlds without depending on `world`.

use std::path::PathBuf;

/// `VBOXSIM_ROOT`, or `/var/lib/vboxsim`.
pub fn root() -> PathBuf {
    std::env::var_os("VBOXSIM_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/lib/vboxsim".into())
}
