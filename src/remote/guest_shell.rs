//! The shell command lines labctl runs in guests: running as root through sudo, writing files
//! atomically with a mode and owner, unpacking folders. Pure string building, so it is tested
//! without a guest.

/// How commands get root in a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// The login user is root.
    Root,
    /// `sudo -n` works (no password asked).
    SudoNoPassword,
    /// `sudo -S` with the login password on stdin's first line.
    SudoWithPassword,
}

/// Quotes a string for a POSIX shell.
pub fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `sh -c SCRIPT`, as root when `as_root` (per `privilege`), with `env` set.
pub fn shell(
    script: &str,
    as_root: bool,
    privilege: Privilege,
    env: &[(String, String)],
) -> String {
    let mut command = String::new();
    if as_root {
        match privilege {
            Privilege::Root => {}
            Privilege::SudoNoPassword => command.push_str("sudo -n "),
            Privilege::SudoWithPassword => command.push_str("sudo -S -p '' "),
        }
    }
    if !env.is_empty() {
        command.push_str("env ");
        for (key, value) in env {
            command.push_str(&quote(&format!("{key}={value}")));
            command.push(' ');
        }
    }
    command.push_str("sh -c ");
    command.push_str(&quote(script));
    command
}

/// A script that writes stdin to `path` atomically, with `mode` and `owner`.
pub fn write_file_script(path: &str, mode: Option<u32>, owner: Option<&str>) -> String {
    let target = quote(path);
    let temporary = quote(&format!("{path}.labctl-tmp"));
    let mut script = format!("set -e; mkdir -p \"$(dirname {target})\"; cat > {temporary}; ");
    if let Some(mode) = mode {
        script.push_str(&format!("chmod {mode:o} {temporary}; "));
    }
    if let Some(owner) = owner {
        script.push_str(&format!("chown {} {temporary}; ", quote(owner)));
    }
    script.push_str(&format!("mv -f {temporary} {target}"));
    script
}

/// A script that unpacks a tar stream on stdin into folder `path`.
pub fn unpack_folder_script(path: &str, mode: Option<u32>, owner: Option<&str>) -> String {
    let target = quote(path);
    let mut script = format!("set -e; mkdir -p {target}; tar -C {target} --no-same-owner -xf -");
    if let Some(mode) = mode {
        script.push_str(&format!("; chmod -R {mode:o} {target}"));
    }
    if let Some(owner) = owner {
        script.push_str(&format!("; chown -R {} {target}", quote(owner)));
    }
    script
}

/// The bytes to send on stdin: with password sudo, the password line comes first (sudo reads
/// it; the command gets the rest).
pub fn stdin_with_password(
    password: Option<&str>,
    as_root: bool,
    privilege: Privilege,
    input: &[u8],
) -> Vec<u8> {
    let mut bytes = Vec::new();
    if as_root && privilege == Privilege::SudoWithPassword {
        bytes.extend_from_slice(password.unwrap_or("").as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(input);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/d.e"), "abc/d.e");
        assert_eq!(quote("it's here"), "'it'\\''s here'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn commands() {
        assert_eq!(
            shell("echo hi", true, Privilege::SudoNoPassword, &[]),
            "sudo -n sh -c 'echo hi'"
        );
        assert_eq!(
            shell("id", true, Privilege::Root, &[("A".into(), "1 2".into())]),
            "env 'A=1 2' sh -c id"
        );
        assert_eq!(
            shell("id", false, Privilege::SudoWithPassword, &[]),
            "sh -c id"
        );
        assert_eq!(
            write_file_script("/etc/x y", Some(0o644), Some("root:root")),
            "set -e; mkdir -p \"$(dirname '/etc/x y')\"; cat > '/etc/x y.labctl-tmp'; chmod 644 '/etc/x y.labctl-tmp'; chown root:root '/etc/x y.labctl-tmp'; mv -f '/etc/x y.labctl-tmp' '/etc/x y'"
        );
        assert_eq!(
            stdin_with_password(Some("pw"), true, Privilege::SudoWithPassword, b"data"),
            b"pw\ndata"
        );
        assert_eq!(
            stdin_with_password(Some("pw"), true, Privilege::SudoNoPassword, b"data"),
            b"data"
        );
    }
}
