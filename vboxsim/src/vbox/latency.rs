//! The latency model: per-command delays taken from real VirtualBox, scaled by
//! `VBOXSIM_TIME_SCALE` (absent or 0 = off, 1 = real timings).

use std::time::Duration;

/// Real-VirtualBox durations in seconds (scale 1).
pub const IMPORT_PER_GB: f64 = 30.0;
pub const LINKED_CLONE: f64 = 1.5;
pub const FULL_CLONE_PER_GB: f64 = 20.0;
pub const MODIFYVM: f64 = 0.2;
pub const STARTVM: f64 = 2.0;
pub const BOOT_TO_SSH: f64 = 20.0;
pub const SNAPSHOT: f64 = 1.0;
pub const POWEROFF: f64 = 1.0;
pub const UNREGISTER: f64 = 0.5;
pub const NETWORK_CHANGE: f64 = 0.3;
pub const LIGHT_READ: f64 = 0.05;

#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub scale: f64,
}

impl Latency {
    pub fn from_env() -> Latency {
        let scale = std::env::var("VBOXSIM_TIME_SCALE")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(0.0);
        Latency { scale }
    }

    pub fn enabled(&self) -> bool {
        self.scale > 0.0
    }

    pub fn of(&self, real_seconds: f64) -> Duration {
        Duration::from_secs_f64((real_seconds * self.scale).max(0.0))
    }

    pub fn sleep(&self, real_seconds: f64) {
        if self.enabled() {
            std::thread::sleep(self.of(real_seconds));
        }
    }
}
