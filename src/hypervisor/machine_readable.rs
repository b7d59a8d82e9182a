//! Parser of `showvminfo --machinereadable` (and `snapshot list --machinereadable`): quoted
//! keys, quoted values with `\"` and `\\` escapes that may span lines, unquoted numbers, and
//! the odd lines some versions print.

/// The `key=value` pairs, in output order (a key may repeat; later wins in [`Self::get`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineReadable {
    entries: Vec<(String, String)>,
}

impl MachineReadable {
    /// Parses the whole output.
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (key, rest) = match parse_key(line) {
                Some(parsed) => parsed,
                None => continue,
            };
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                let mut buffer = quoted.to_string();
                loop {
                    if let Some(value) = closed_value(&buffer) {
                        break value;
                    }
                    match lines.next() {
                        Some(next) => {
                            buffer.push('\n');
                            buffer.push_str(next);
                        }
                        None => break unescape(&buffer),
                    }
                }
            } else {
                rest.to_string()
            };
            entries.push((key, value));
        }
        Self { entries }
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
}

/// Splits `key=rest`, where the key may be quoted.
fn parse_key(line: &str) -> Option<(String, &str)> {
    if let Some(quoted) = line.strip_prefix('"') {
        let mut key = String::new();
        let mut chars = quoted.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        key.push(escaped);
                    }
                }
                '"' => {
                    let rest = &quoted[index + 1..];
                    return rest.strip_prefix('=').map(|rest| (key, rest));
                }
                other => key.push(other),
            }
        }
        None
    } else {
        let (key, rest) = line.split_once('=')?;
        if key.is_empty() || key.starts_with(' ') {
            return None;
        }
        Some((key.to_string(), rest))
    }
}

/// The unescaped value if `buffer` (text after the opening quote) contains its closing quote.
fn closed_value(buffer: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = buffer.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => value.push(escaped),
                None => return None,
            },
            '"' => return Some(value),
            other => value.push(other),
        }
    }
    None
}

fn unescape(buffer: &str) -> String {
    buffer.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoting_multiline_and_odd_lines() {
        let text = "name=\"lab-web1\"\nEncryption:     disabled\ngroups=\"/labctl/exam3\"\nmemory=1024\n\"SATA-0-0\"=\"/vms/a \\\"b\\\".vdi\"\nCfgFile=\"C:\\\\Users\\\\me\\\\x.vbox\"\n rec_screen0\ndescription=\"line1\nline2=x\"\nVideoMode=\"1024,768,32\"@0,0 1\nnic1=\"nat\"\n";
        let parsed = MachineReadable::parse(text);
        assert_eq!(parsed.get("name"), Some("lab-web1"));
        assert_eq!(parsed.get("memory"), Some("1024"));
        assert_eq!(parsed.get("SATA-0-0"), Some("/vms/a \"b\".vdi"));
        assert_eq!(parsed.get("CfgFile"), Some("C:\\Users\\me\\x.vbox"));
        assert_eq!(parsed.get("description"), Some("line1\nline2=x"));
        assert_eq!(parsed.get("nic1"), Some("nat"));
        assert_eq!(parsed.get("Encryption:     disabled"), None);
    }
}
