//! `labctl exec`: runs a command on VMs over SSH (the pinned host key is required); one VM's
//! output streams as it comes and its exit status is passed through; `--all` runs on every
//! VM in parallel with each line prefixed by the VM's name.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lab_session::LabSession;
use super::{Ui, cancel_flag, select_vms};
use crate::cli::ExecArgs;
use crate::error::Error;
use crate::exec::{GuestAccess, RuntimeContext};
use crate::exit_code;
use crate::lab::model::Vm;

/// Splits arriving output into whole lines, each written with a prefix.
struct PrefixedLines<'a> {
    prefix: String,
    pending: Vec<u8>,
    out: &'a Mutex<()>,
}

impl PrefixedLines<'_> {
    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.write(&line);
        }
    }

    fn finish(&mut self) {
        if !self.pending.is_empty() {
            let mut line = std::mem::take(&mut self.pending);
            line.push(b'\n');
            self.write(&line);
        }
    }

    fn write(&self, line: &[u8]) {
        let _guard = self.out.lock();
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(self.prefix.as_bytes());
        let _ = stdout.write_all(line);
        let _ = stdout.flush();
    }
}

/// Runs `command` on one VM, feeding its output to `output`; returns its exit status.
fn run_on(
    guests: &GuestAccess<'_>,
    vm: &Vm,
    command: &str,
    timeout: Duration,
    output: &mut dyn FnMut(&[u8]),
) -> Result<i32, String> {
    let mut session = guests.connect(vm, Instant::now() + Duration::from_secs(30))?;
    session
        .exec(command, &[], timeout, output)
        .map(|done| done.status)
        .map_err(|error| error.to_string())
}

/// `labctl exec [FILE] VM… -- COMMAND…` and `labctl exec [FILE] --all -- COMMAND…`.
pub(crate) fn exec(ui: &Ui, args: &ExecArgs) -> Result<u8, Error> {
    let (lab_arg, names) = super::split_targets(&args.items, &[]);
    if !names.is_empty() && args.all {
        return Err(Error::Usage(format!(
            "name VMs or pass --all, not both (`labctl exec --all -- CMD` runs on every VM; `labctl exec {} -- CMD` on {})",
            names.join(" "),
            if names.len() == 1 {
                "that one"
            } else {
                "those"
            }
        )));
    }
    if names.is_empty() && !args.all {
        return Err(Error::Usage(
            "name the VM to run the command on (`labctl exec web1 -- hostname`), or pass --all"
                .into(),
        ));
    }
    let session = LabSession::open(ui, &lab_arg, None)?;
    let vms = if args.all {
        session.lab.vms.iter().collect()
    } else {
        select_vms(&session.lab, &names)?
    };
    let inventory = session.inventory(false)?;
    session.require_created(&inventory, &vms, true)?;
    let context = RuntimeContext::from_inventory(&session.lab, &inventory);
    let connector = crate::remote::Ssh2Connector;
    let guests =
        session.guest_access(&connector, context, cancel_flag(), Duration::from_secs(30))?;
    let command = args.command.join(" ");
    let timeout = Duration::from_secs(args.timeout);
    if let [vm] = vms.as_slice() {
        let status = run_on(&guests, vm, &command, timeout, &mut |bytes| {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(bytes);
            let _ = stdout.flush();
        })
        .map_err(Error::Remote)?;
        return Ok(u8::try_from(status).unwrap_or(exit_code::HOST_ERROR));
    }
    let width = vms.iter().map(|vm| vm.name.len()).max().unwrap_or(0);
    let out = Mutex::new(());
    let outcomes: Vec<Result<i32, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = vms
            .iter()
            .map(|vm| {
                let (guests, command, out) = (&guests, &command, &out);
                scope.spawn(move || {
                    let mut lines = PrefixedLines {
                        prefix: format!("{:<width$} | ", vm.name),
                        pending: Vec::new(),
                        out,
                    };
                    let status =
                        run_on(guests, vm, command, timeout, &mut |bytes| lines.feed(bytes));
                    lines.finish();
                    status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    let mut first_failure = None;
    let mut unreachable = 0;
    for (vm, outcome) in vms.iter().zip(&outcomes) {
        match outcome {
            Ok(0) => {}
            Ok(status) => {
                ui.err(&format!("{}: exited with status {status}\n", vm.name));
                first_failure.get_or_insert(*status);
            }
            Err(error) => {
                unreachable += 1;
                ui.err(&format!("{}: {error}\n", vm.name));
            }
        }
    }
    if unreachable > 0 {
        return Err(Error::Remote(format!(
            "{unreachable} of {} could not run the command",
            crate::report::count(vms.len(), "VM")
        )));
    }
    Ok(first_failure.map_or(exit_code::OK, |status| {
        u8::try_from(status).unwrap_or(exit_code::HOST_ERROR)
    }))
}
