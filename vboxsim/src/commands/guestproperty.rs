//! `VBoxManage guestproperty get|set|delete|unset|enumerate|wait`.

use std::time::{Duration, Instant};

use crate::model::guest_property::{GuestProperty, normalize_flags, pattern_matches};
use crate::model::ids;
use crate::vbox::ctx::Ctx;
use crate::vbox::emulation::Family;
use crate::vbox::getopt::{self, Arg, Item, Opt};
use crate::vbox::usage;
use crate::vbox::vbox_error::VBoxError;

const FILE: &str = "VBoxManageGuestProp.cpp";

fn incorrect() -> VBoxError {
    VBoxError::syntax("Incorrect parameters", usage::GUESTPROPERTY)
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(sub) = args.first() else {
        return Err(incorrect());
    };
    let rest = &args[1..];
    match sub.as_str() {
        "get" => get(ctx, rest),
        "set" => set(ctx, rest),
        "delete" | "unset" => {
            let [vm, prop] = rest else {
                return Err(incorrect());
            };
            write(ctx, vm, prop, None, "")
        }
        "enumerate" => enumerate(ctx, rest),
        "wait" => wait(ctx, rest),
        other => Err(VBoxError::syntax(
            format!("Invalid parameter '{other}'"),
            usage::GUESTPROPERTY,
        )),
    }
}

fn get(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let (vm, prop, verbose) = match args {
        [vm, prop] => (vm, prop, false),
        [vm, prop, v] if v == "--verbose" || v == "-verbose" => (vm, prop, true),
        _ => return Err(incorrect()),
    };
    let state = ctx.read()?;
    let m = &state.machines[ctx.find(&state, vm, FILE)?];
    match m.guest_props.get(prop) {
        Some(p) => {
            println!("Value: {}", p.value);
            if verbose {
                println!("Timestamp: {}", p.timestamp_ns);
                println!("Flags: {}", p.flags);
            }
        }
        None => println!("No value set!"),
    }
    Ok(())
}

fn set(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    match args {
        [vm, prop] => write(ctx, vm, prop, None, ""),
        [vm, prop, value] => write(ctx, vm, prop, Some(value), ""),
        [vm, prop, value, f, flags] if f == "--flags" || f == "-flags" => {
            write(ctx, vm, prop, Some(value), flags)
        }
        [vm, prop, value, f] if f.starts_with("--flags=") => {
            write(ctx, vm, prop, Some(value), &f["--flags=".len()..])
        }
        _ => Err(incorrect()),
    }
}

fn write(
    ctx: &Ctx,
    vm: &str,
    prop: &str,
    value: Option<&String>,
    flags: &str,
) -> Result<(), VBoxError> {
    let flags = normalize_flags(flags)
        .ok_or_else(|| VBoxError::failure(format!("Invalid flag list '{flags}'")))?;
    ctx.update(|state| {
        let idx = ctx.find(state, vm, FILE)?;
        let m = &mut state.machines[idx];
        match value {
            Some(v) => {
                m.guest_props.insert(
                    prop.to_string(),
                    GuestProperty {
                        value: v.clone(),
                        timestamp_ns: ids::now_ns(),
                        flags,
                    },
                );
            }
            None => {
                m.guest_props.remove(prop);
                m.guest_props_deleted
                    .insert(prop.to_string(), ids::now_ns());
            }
        }
        Ok(())
    })
}

fn enumerate(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let Some(vm) = args.first() else {
        return Err(incorrect());
    };
    let v71 = ctx.emu.family >= Family::V7_1;
    let mut opts = vec![Opt::new("--patterns", "patterns", Arg::Str)];
    if v71 {
        for (n, id) in [
            ("--old-format", "old"),
            ("--sort", "sort"),
            ("--unsort", "unsort"),
            ("--timestamp", "ts"),
            ("--no-timestamp", "nots"),
            ("--no-ts", "nots"),
            ("--absolute", "abs"),
            ("--relative", "rel"),
            ("--flags", "flags"),
            ("--no-flags", "noflags"),
        ] {
            opts.push(Opt::new(n, id, Arg::None));
        }
    }
    let items = getopt::parse(&args[1..], &opts)
        .map_err(|e| VBoxError::syntax(e.0, usage::GUESTPROPERTY))?;
    let mut patterns: Vec<String> = Vec::new();
    let (mut old, mut sort, mut ts, mut show_flags) = (!v71, v71, true, true);
    let mut after_patterns = false;
    for item in items {
        match item {
            Item::Opt {
                id: "patterns",
                value,
                ..
            } => {
                patterns.push(value.unwrap_or_default());
                after_patterns = true;
            }
            Item::Opt { id: "old", .. } => old = true,
            Item::Opt { id: "sort", .. } => sort = true,
            Item::Opt { id: "unsort", .. } => sort = false,
            Item::Opt { id: "ts", .. } => ts = true,
            Item::Opt { id: "nots", .. } => ts = false,
            Item::Opt { id: "flags", .. } => show_flags = true,
            Item::Opt { id: "noflags", .. } => show_flags = false,
            Item::Opt { .. } => {}
            Item::Positional(p) if v71 || after_patterns => patterns.push(p),
            Item::Positional(_) => return Err(incorrect()),
        }
    }
    let state = ctx.read()?;
    let m = &state.machines[ctx.find(&state, vm, FILE)?];
    let mut props: Vec<(&String, &GuestProperty)> = m
        .guest_props
        .iter()
        .filter(|(k, _)| patterns.is_empty() || patterns.iter().any(|p| pattern_matches(p, k)))
        .collect();
    if !sort {
        props.sort_by_key(|(_, p)| p.timestamp_ns);
    }
    if props.is_empty() {
        println!("No properties found.");
        return Ok(());
    }
    if old {
        for (k, p) in props {
            println!(
                "Name: {k}, value: {}, timestamp: {}, flags: {}",
                p.value, p.timestamp_ns, p.flags
            );
        }
        return Ok(());
    }
    let name_w = props
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    let val_w = props
        .iter()
        .map(|(_, p)| p.value.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .min(28);
    for (k, p) in props {
        let mut line = format!("{k:<name_w$} = {:<val_w$}", format!("'{}'", p.value));
        if ts {
            line.push_str(&format!(" @ {}", ids::iso_ms(p.timestamp_ns)));
        }
        if show_flags && !p.flags.is_empty() {
            line.push_str(&format!(" {}", p.flags));
        }
        println!("{}", line.trim_end());
    }
    Ok(())
}

fn wait(ctx: &Ctx, args: &[String]) -> Result<(), VBoxError> {
    let (vm, pattern) = match args {
        [vm, pattern, ..] => (vm, pattern),
        _ => return Err(incorrect()),
    };
    let mut timeout: Option<u64> = None;
    let mut fail_on_timeout = false;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--timeout" | "-timeout" => {
                timeout = args
                    .get(i + 1)
                    .and_then(|v| getopt::parse_u32(v))
                    .map(u64::from);
                if timeout.is_none() {
                    return Err(incorrect());
                }
                i += 2;
            }
            "--fail-on-timeout" | "-fail-on-timeout" => {
                fail_on_timeout = true;
                i += 1;
            }
            _ => return Err(incorrect()),
        }
    }
    let started = ids::now_ns();
    let state = ctx.read()?;
    if let Err(e) = ctx.find(&state, vm, FILE) {
        eprint!("{}", ctx.render_error(&e, ""));
        return Err(incorrect());
    }
    let clock = Instant::now();
    loop {
        let state = ctx.read()?;
        if let Some(idx) = state.find(vm) {
            let m = &state.machines[idx];
            let changed = m
                .guest_props
                .iter()
                .find(|(k, p)| p.timestamp_ns > started && pattern_matches(pattern, k));
            if let Some((k, p)) = changed {
                println!("Name: {k}, value: {}, flags: {}", p.value, p.flags);
                return Ok(());
            }
            let deleted = m
                .guest_props_deleted
                .iter()
                .find(|(k, t)| **t > started && pattern_matches(pattern, k));
            if let Some((k, _)) = deleted {
                println!("Property {k} was deleted");
                return Ok(());
            }
        }
        if timeout.is_some_and(|t| clock.elapsed() >= Duration::from_millis(t)) {
            eprintln!(
                "{}: error: Time out or interruption while waiting for a notification.",
                ctx.prog
            );
            return Err(VBoxError::Exit(if fail_on_timeout { 2 } else { 0 }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
