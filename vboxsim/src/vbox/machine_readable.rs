//! How VBoxManage quotes a value in `--machinereadable` output (VBoxManageInfo.cpp
//! outputMachineReadableString).

/// `"` and `\` escaped, newlines kept raw (as VBoxManage does).
pub fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
