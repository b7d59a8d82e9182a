//! The emulated VirtualBox release: version string, logo and the per-release format switches.

/// Which output/grammar family the emulated release belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V6_1,
    V7_0,
    V7_1,
    V7_2,
}

/// The VirtualBox release vboxsim answers as (`VBOXSIM_VERSION`, default 7.0.20r163906).
#[derive(Clone, Debug)]
pub struct Emulation {
    pub full: String,
    pub family: Family,
}

impl Emulation {
    pub const DEFAULT: &'static str = "7.0.20r163906";

    /// Reads `VBOXSIM_VERSION`; an unsupported value falls back to nothing silently never:
    /// it is reported by the caller.
    pub fn from_env() -> Result<Emulation, String> {
        match std::env::var("VBOXSIM_VERSION") {
            Ok(v) if !v.is_empty() => Emulation::parse(&v),
            _ => Emulation::parse(Emulation::DEFAULT),
        }
    }

    pub fn parse(text: &str) -> Result<Emulation, String> {
        let plain = text.split(['_', 'r']).next().unwrap_or("");
        let mut parts = plain.split('.');
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
        let family = match (major, minor) {
            (Some(6), Some(1)) => Family::V6_1,
            (Some(7), Some(0)) => Family::V7_0,
            (Some(7), Some(1)) => Family::V7_1,
            (Some(7), Some(2)) => Family::V7_2,
            _ => {
                return Err(format!(
                    "unsupported VBOXSIM_VERSION '{text}' (emulated: 6.1.x, 7.0.x, 7.1.x, 7.2.x, e.g. {})",
                    Emulation::DEFAULT
                ));
            }
        };
        if !text.contains('r') {
            return Err(format!(
                "VBOXSIM_VERSION '{text}' lacks the revision (e.g. 7.0.20r163906)"
            ));
        }
        Ok(Emulation {
            full: text.to_string(),
            family,
        })
    }

    /// `7.0.20` from `7.0.20r163906` (and from `6.1.38_Debianr153438`).
    pub fn short(&self) -> String {
        self.full.split(['_', 'r']).next().unwrap_or("").to_string()
    }

    pub fn revision(&self) -> String {
        self.full.rsplit('r').next().unwrap_or("").to_string()
    }

    /// (major, minor, patch) of the emulated release.
    pub fn triple(&self) -> (u32, u32, u32) {
        let s = self.short();
        let mut it = s.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        )
    }

    /// 6.1.28 and later restrict host-only addresses to 192.168.56.0/21 unless networks.conf says more.
    pub fn restricts_hostonly_ranges(&self) -> bool {
        self.triple() >= (6, 1, 28)
    }

    /// The logo printed before usage text and syntax errors.
    pub fn logo(&self) -> String {
        match self.family {
            Family::V6_1 => format!(
                "Oracle VM VirtualBox Command Line Management Interface Version {}\n(C) 2005-2021 Oracle Corporation\nAll rights reserved.\n\n",
                self.short()
            ),
            Family::V7_0 => format!(
                "Oracle VM VirtualBox Command Line Management Interface Version {}\nCopyright (C) 2005-2024 Oracle and/or its affiliates\n\n",
                self.short()
            ),
            Family::V7_1 | Family::V7_2 => format!(
                "Oracle VirtualBox Command Line Management Interface Version {}\nCopyright (C) 2005-{} Oracle and/or its affiliates\n\n",
                self.short(),
                self.build_year()
            ),
        }
    }

    /// The year the release was built, which ends the logo's copyright line: VBOX_C_YEAR is
    /// `$(date-utc %Y)` at build time (Config.kmk). Which releases were built in which year is
    /// a guess from their order: 7.1.0–7.1.4 in 2024, 7.1.6 to 7.2.4 in 2025, later in 2026.
    fn build_year(&self) -> u32 {
        match self.triple() {
            t if t < (7, 1, 6) => 2024,
            t if t < (7, 2, 6) => 2025,
            _ => 2026,
        }
    }

    /// Guest Additions version string as VBoxService would publish it.
    pub fn additions_version(&self) -> String {
        self.short()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_and_families() {
        assert_eq!(
            Emulation::parse("6.1.50r161033").unwrap().family,
            Family::V6_1
        );
        assert_eq!(
            Emulation::parse("7.0.20r163906").unwrap().family,
            Family::V7_0
        );
        assert_eq!(
            Emulation::parse("7.1.4r165100").unwrap().family,
            Family::V7_1
        );
        assert_eq!(
            Emulation::parse("7.2.4r170995").unwrap().family,
            Family::V7_2
        );
        assert!(
            Emulation::parse("7.2.4r170995")
                .unwrap()
                .logo()
                .starts_with("Oracle VirtualBox Command Line Management Interface Version 7.2.4\nCopyright (C) 2005-2025 ")
        );
        assert!(
            Emulation::parse("7.1.4r165100")
                .unwrap()
                .logo()
                .contains("2005-2024 ")
        );
        assert!(Emulation::parse("7.3.0r1").is_err());
        assert_eq!(
            Emulation::parse("6.1.38_Debianr153438").unwrap().short(),
            "6.1.38"
        );
        assert!(Emulation::parse("5.2.1r1").is_err());
        assert!(Emulation::parse("7.0.20").is_err());
        assert!(
            Emulation::parse("6.1.26r1")
                .map(|e| !e.restricts_hostonly_ranges())
                .unwrap()
        );
    }
}
