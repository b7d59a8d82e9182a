//! MAC addresses as VirtualBox takes and shows them.

use std::fmt;

/// A unicast Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress([u8; 6]);

/// Why a text is not a usable MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacError {
    /// Not 12 hexadecimal digits (optionally separated by `:` or `-`).
    Format,
    /// The multicast bit (lowest bit of the first octet) is set; VirtualBox refuses it.
    Multicast,
}

impl MacAddress {
    /// The prefix VirtualBox gives the MACs it generates.
    pub const VIRTUALBOX_PREFIX: [u8; 3] = [0x08, 0x00, 0x27];

    /// Parses `080027A1B2C3`, `08:00:27:a1:b2:c3` or `08-00-27-A1-B2-C3`.
    pub fn parse(text: &str) -> Result<Self, MacError> {
        let digits: String = if text.len() == 17 {
            let separator = text.as_bytes()[2];
            if separator != b':' && separator != b'-' {
                return Err(MacError::Format);
            }
            let parts: Vec<&str> = text.split(separator as char).collect();
            if parts.len() != 6 || parts.iter().any(|part| part.len() != 2) {
                return Err(MacError::Format);
            }
            parts.concat()
        } else {
            text.to_string()
        };
        if digits.len() != 12 || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(MacError::Format);
        }
        let mut bytes = [0u8; 6];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[index * 2..index * 2 + 2], 16)
                .map_err(|_| MacError::Format)?;
        }
        let mac = Self(bytes);
        if mac.is_multicast() {
            return Err(MacError::Multicast);
        }
        Ok(mac)
    }

    /// A MAC from its six octets.
    pub fn from_bytes(bytes: [u8; 6]) -> Self {
        Self(bytes)
    }

    /// The six octets.
    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// True when the multicast bit is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// The address `n` further on (for replicas), if it stays in the same 24-bit block.
    pub fn offset(&self, n: u32) -> Option<Self> {
        let tail = u32::from_be_bytes([0, self.0[3], self.0[4], self.0[5]]);
        let next = tail.checked_add(n).filter(|value| *value <= 0x00ff_ffff)?;
        let [_, a, b, c] = next.to_be_bytes();
        Some(Self([self.0[0], self.0[1], self.0[2], a, b, c]))
    }

    /// VBoxManage's form: 12 uppercase hex digits, no separators.
    pub fn to_vbox(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02X}")).collect()
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl serde::Serialize for MacAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        let expected = MacAddress([0x08, 0x00, 0x27, 0xa1, 0xb2, 0xc3]);
        for text in ["080027A1B2C3", "08:00:27:a1:b2:c3", "08-00-27-A1-B2-C3"] {
            assert_eq!(MacAddress::parse(text), Ok(expected), "{text}");
        }
        assert_eq!(expected.to_vbox(), "080027A1B2C3");
        assert_eq!(expected.to_string(), "08:00:27:a1:b2:c3");
    }

    #[test]
    fn rejects_bad_text_and_multicast() {
        for text in [
            "08002",
            "080027A1B2C3D4",
            "08:00:27:a1:b2",
            "0800 27A1B2C3",
            "GG0027A1B2C3",
        ] {
            assert_eq!(MacAddress::parse(text), Err(MacError::Format), "{text}");
        }
        assert_eq!(MacAddress::parse("010027A1B2C3"), Err(MacError::Multicast));
    }

    #[test]
    fn offsets_stay_in_block() {
        let mac = MacAddress::parse("080027FFFFFE").unwrap();
        assert_eq!(mac.offset(1).unwrap().to_vbox(), "080027FFFFFF");
        assert_eq!(mac.offset(2), None);
    }
}
