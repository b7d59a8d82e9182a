//! Identifiers VirtualBox hands out: random UUIDs, MAC addresses (08:00:27 + random), and time.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

/// `n` random bytes from the kernel.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if filled.is_err() {
        // Fall back on time and pid mixing: uniqueness matters here, not secrecy.
        let mut x = now_ns() ^ (u64::from(std::process::id()) << 32);
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    buf
}

/// A random (version 4) UUID, lowercase, without braces.
pub fn new_uuid() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The canonical (lowercase, no braces) UUID if `text` parses as one.
pub fn parse_uuid(text: &str) -> Option<String> {
    let t = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let bytes = t.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    for (i, c) in bytes.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*c == b'-') || (!dash && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    Some(t.to_ascii_lowercase())
}

/// A MAC as VirtualBox generates it: `080027` + 3 random bytes, 12 uppercase hex digits.
pub fn new_mac() -> String {
    let b = random_bytes(3);
    format!("080027{:02X}{:02X}{:02X}", b[0], b[1], b[2])
}

/// Validates a MAC given on the command line: exactly 12 hex digits, unicast.
/// Returns it uppercase, as VirtualBox stores it.
pub fn parse_mac(text: &str) -> Option<String> {
    if text.len() != 12 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let second = u8::from_str_radix(&text[1..2], 16).ok()?;
    if second & 1 == 1 {
        return None;
    }
    Some(text.to_ascii_uppercase())
}

/// `080027A1B2C3` → `08:00:27:a1:b2:c3` (the form host tools and interfaces use).
pub fn mac_colon(mac: &str) -> String {
    mac.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// A MAC given as colon/dash/plain hex (DHCP fixed addresses accept the colon form).
pub fn parse_mac_loose(text: &str) -> Option<String> {
    let plain: String = text.chars().filter(|c| *c != ':' && *c != '-').collect();
    if plain.len() == 12 && plain.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(plain.to_ascii_uppercase())
    } else {
        None
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// `2023-02-06T02:18:47.191000000` (UTC, milliseconds padded to 9 digits, no `Z`).
pub fn vbox_time(ns: u64) -> String {
    let (date, rest) = civil(ns);
    let ms = (ns / 1_000_000) % 1000;
    format!("{date}T{rest}.{ms:03}000000")
}

/// ISO-8601 with milliseconds and `Z` (7.1 guestproperty enumerate).
pub fn iso_ms(ns: u64) -> String {
    let (date, rest) = civil(ns);
    let ms = (ns / 1_000_000) % 1000;
    format!("{date}T{rest}.{ms:03}Z")
}

fn civil(ns: u64) -> (String, String) {
    let secs = ns / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let tod = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", tod / 3600, (tod % 3600) / 60, tod % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(parse_uuid(&u), Some(u.clone()));
        assert_eq!(parse_uuid(&format!("{{{}}}", u.to_uppercase())), Some(u));
        assert_eq!(parse_uuid("lab-web1"), None);
    }

    #[test]
    fn mac_rules() {
        assert_eq!(parse_mac("080027a1b2c3").as_deref(), Some("080027A1B2C3"));
        assert_eq!(parse_mac("09:00:27:a1:b2"), None);
        assert_eq!(parse_mac("090027A1B2C3"), None, "multicast");
        assert_eq!(parse_mac("080027A1B2C"), None);
        assert!(new_mac().starts_with("080027"));
        assert_eq!(mac_colon("080027A1B2C3"), "08:00:27:a1:b2:c3");
    }

    #[test]
    fn time_format() {
        assert_eq!(
            vbox_time(1_675_649_927_191_000_000),
            "2023-02-06T02:18:47.191000000"
        );
        assert_eq!(
            iso_ms(1_675_649_927_191_000_000),
            "2023-02-06T02:18:47.191Z"
        );
    }
}
