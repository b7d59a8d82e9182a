//! A guest property (value, timestamp in ns, flags), as Guest Additions and `guestproperty set` keep them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestProperty {
    pub value: String,
    pub timestamp_ns: u64,
    pub flags: String,
}

pub const FLAG_WORDS: &[&str] = &[
    "TRANSIENT",
    "TRANSRESET",
    "RDONLYGUEST",
    "RDONLYHOST",
    "READONLY",
];

/// Normalises a `--flags` list to VirtualBox's `A, B` form; `None` for an unknown flag.
pub fn normalize_flags(flags: &str) -> Option<String> {
    let mut out = Vec::new();
    for f in flags.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let up = f.to_ascii_uppercase();
        if !FLAG_WORDS.contains(&up.as_str()) {
            return None;
        }
        out.push(up);
    }
    Some(out.join(", "))
}

/// VirtualBox's guest-property pattern match: `*`, `?` wildcards, `|` alternatives.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    pattern
        .split('|')
        .any(|p| glob(p.as_bytes(), name.as_bytes()))
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}
