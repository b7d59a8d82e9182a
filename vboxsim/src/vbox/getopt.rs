//! VBoxManage's option parser (IPRT RTGetOpt): long options with the value after a space, `=`
//! or `:`, indexed options (`--nic2`), short options, interleaved positionals.

/// How an option takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A flag without a value.
    None,
    /// Any string.
    Str,
    /// An unsigned 32-bit number (decimal or 0x hex), else `Invalid argument format`.
    U32,
    /// `on`/`off` only (RTGETOPT_REQ_BOOL_ONOFF).
    OnOff,
    /// Generic boolean: true/yes/enabled/on/1 and false/no/disabled/off/0.
    Bool,
}

/// One accepted option spelling.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    /// The spelling, e.g. `--memory` or `-n`.
    pub name: &'static str,
    /// The canonical id the command matches on.
    pub id: &'static str,
    pub arg: Arg,
    /// Takes a numeric index directly after the name (`--nic2`).
    pub indexed: bool,
}

impl Opt {
    pub const fn new(name: &'static str, id: &'static str, arg: Arg) -> Opt {
        Opt {
            name,
            id,
            arg,
            indexed: false,
        }
    }
    pub const fn indexed(name: &'static str, id: &'static str, arg: Arg) -> Opt {
        Opt {
            name,
            id,
            arg,
            indexed: true,
        }
    }
}

/// One parsed item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Opt {
        id: &'static str,
        /// The spelling as matched (without index), for error messages.
        name: &'static str,
        index: Option<u32>,
        value: Option<String>,
    },
    Positional(String),
}

/// What went wrong while parsing, with the text errorGetOpt prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetOptError(pub String);

/// Replaces Unicode dashes people paste from the manual with ASCII ones.
fn normalize_dashes(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut leading = true;
    for c in arg.chars() {
        if leading && matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}') {
            out.push('-');
        } else {
            leading = leading && c == '-';
            out.push(c);
        }
    }
    out
}

/// Parses `args` against `opts`. Every error is the exact errorGetOpt text.
pub fn parse(args: &[String], opts: &[Opt]) -> Result<Vec<Item>, GetOptError> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let raw = normalize_dashes(&args[i]);
        i += 1;
        if raw == "--" {
            items.extend(args[i..].iter().cloned().map(Item::Positional));
            break;
        }
        if !raw.starts_with('-') || raw == "-" {
            items.push(Item::Positional(args[i - 1].clone()));
            continue;
        }
        let Some((opt, index, joined)) = match_option(&raw, opts) else {
            if !raw.starts_with("--") && raw.chars().count() == 2 {
                return Err(GetOptError(format!("Invalid option {raw}")));
            }
            return Err(GetOptError(format!("Unknown option: {raw}")));
        };
        let value = if opt.arg == Arg::None {
            if joined.is_some() {
                return Err(GetOptError(format!("Unknown option: {raw}")));
            }
            None
        } else if let Some(v) = joined {
            Some(v)
        } else if i < args.len() {
            i += 1;
            Some(args[i - 1].clone())
        } else {
            return Err(GetOptError(format!(
                "{}: RTGetOpt: Command line option needs argument.",
                opt.name
            )));
        };
        if let Some(v) = &value {
            check_value(opt.arg, v)?;
        }
        items.push(Item::Opt {
            id: opt.id,
            name: opt.name,
            index,
            value,
        });
    }
    Ok(items)
}

fn match_option(raw: &str, opts: &[Opt]) -> Option<(Opt, Option<u32>, Option<String>)> {
    let (head, joined) = match raw.find(['=', ':']) {
        Some(pos) if raw.starts_with("--") => (&raw[..pos], Some(raw[pos + 1..].to_string())),
        _ => (raw, None),
    };
    for opt in opts {
        if opt.indexed {
            if let Some(rest) = head.strip_prefix(opt.name)
                && !rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_digit())
                && let Ok(n) = rest.parse::<u32>()
            {
                return Some((*opt, Some(n), joined));
            }
        } else if head == opt.name {
            return Some((*opt, None, joined));
        }
    }
    // Short options may carry their value glued on (`-n` has none, but `-vsys0` style does not exist).
    None
}

fn check_value(arg: Arg, v: &str) -> Result<(), GetOptError> {
    match arg {
        Arg::U32 if parse_u32(v).is_none() => {
            Err(GetOptError(format!("Invalid argument format: {v}")))
        }
        Arg::OnOff if parse_on_off(v).is_none() => Err(GetOptError(format!("Unknown option: {v}"))),
        Arg::Bool if parse_bool(v).is_none() => {
            Err(GetOptError(format!("Invalid argument format: {v}")))
        }
        _ => Ok(()),
    }
}

/// RTStrToUInt32Full semantics: decimal, or hex with a 0x prefix, nothing trailing.
pub fn parse_u32(v: &str) -> Option<u32> {
    let v = v.trim();
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty() {
        v.parse().ok()
    } else {
        None
    }
}

pub fn parse_on_off(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "enabled" | "on" | "1" => Some(true),
        "false" | "no" | "disabled" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::new("--memory", "memory", Arg::U32),
        Opt::indexed("--nic", "nic", Arg::Str),
        Opt::indexed("--cableconnected", "cable", Arg::OnOff),
        Opt::new("--dry-run", "dry", Arg::None),
        Opt::new("-n", "dry", Arg::None),
    ];

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn value_spellings() {
        for args in [
            &["--memory", "1024"][..],
            &["--memory=1024"],
            &["--memory:1024"],
            &["\u{2013}-memory", "1024"],
        ] {
            let items = parse(&s(args), OPTS).unwrap();
            assert_eq!(
                items,
                vec![Item::Opt {
                    id: "memory",
                    name: "--memory",
                    index: None,
                    value: Some("1024".into())
                }]
            );
        }
    }

    #[test]
    fn indexed_and_positional() {
        let items = parse(&s(&["vm", "--nic2", "hostonly", "-n"]), OPTS).unwrap();
        assert_eq!(items[0], Item::Positional("vm".into()));
        assert_eq!(
            items[1],
            Item::Opt {
                id: "nic",
                name: "--nic",
                index: Some(2),
                value: Some("hostonly".into())
            }
        );
        assert_eq!(
            items[2],
            Item::Opt {
                id: "dry",
                name: "-n",
                index: None,
                value: None
            }
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&s(&["--foo"]), OPTS).unwrap_err().0,
            "Unknown option: --foo"
        );
        assert_eq!(
            parse(&s(&["--memory", "lots"]), OPTS).unwrap_err().0,
            "Invalid argument format: lots"
        );
        assert_eq!(
            parse(&s(&["--cableconnected1", "maybe"]), OPTS)
                .unwrap_err()
                .0,
            "Unknown option: maybe"
        );
        assert_eq!(
            parse(&s(&["--memory"]), OPTS).unwrap_err().0,
            "--memory: RTGetOpt: Command line option needs argument."
        );
        assert_eq!(parse(&s(&["-x"]), OPTS).unwrap_err().0, "Invalid option -x");
        assert_eq!(
            parse(&s(&["--nic"]), OPTS).unwrap_err().0,
            "Unknown option: --nic"
        );
    }
}
