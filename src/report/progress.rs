//! Progress of `up` (and of other commands that run actions), from the executor's events: a
//! live line per VM on a terminal, plain timestamped lines otherwise (CI logs), or JSON Lines.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::{Event, Outcome};
use crate::state::lab_lock::rfc3339;

/// Renders events.
pub trait Reporter: Send {
    /// One event, `at` after the run started.
    fn event(&mut self, at: Duration, event: &Event);
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// One line per event, each with the time: for logs and pipes.
pub struct PlainReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> PlainReporter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

/// `: context` when an interruption says where it happened.
fn detail(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(": {context}")
    }
}

/// The text of an event for people, or None for events shown only live.
pub fn describe(event: &Event) -> Option<String> {
    let who = |vm: &Option<String>| vm.clone().unwrap_or_else(|| "lab".to_string());
    match event {
        Event::Started {
            command,
            lab,
            hypervisor,
            actions,
            vms,
        } => Some(format!(
            "{command} lab `{lab}` on {hypervisor}: {actions} action{} for {} VM{}",
            if *actions == 1 { "" } else { "s" },
            vms.len(),
            if vms.len() == 1 { "" } else { "s" }
        )),
        Event::ActionStarted {
            id,
            vm,
            stage,
            description,
        } => Some(format!("{:<12} {stage:<10} #{id} {description}", who(vm))),
        Event::ActionFinished {
            id,
            vm,
            stage,
            outcome,
            seconds,
            ..
        } => Some(match outcome {
            Outcome::Done => format!("{:<12} {stage:<10} #{id} done ({seconds:.1}s)", who(vm)),
            Outcome::Failed(why) => format!(
                "{:<12} {stage:<10} #{id} FAILED ({seconds:.1}s): {why}",
                who(vm)
            ),
            Outcome::Skipped(why) => format!("{:<12} {stage:<10} #{id} skipped: {why}", who(vm)),
            Outcome::Interrupted(context) => format!(
                "{:<12} {stage:<10} #{id} interrupted ({seconds:.1}s){}",
                who(vm),
                detail(context)
            ),
        }),
        Event::StepStarted {
            vm,
            index,
            total,
            name,
        } => Some(format!("{vm:<12} provision  {index}/{total} {name}")),
        Event::StepFinished {
            vm,
            index,
            total,
            name,
            outcome,
            seconds,
            location,
            ..
        } => match outcome {
            Outcome::Done => Some(format!(
                "{vm:<12} provision  {index}/{total} {name}: done ({seconds:.1}s)"
            )),
            Outcome::Failed(why) => Some(format!(
                "{vm:<12} provision  {index}/{total} {name} ({location}): FAILED: {why}"
            )),
            Outcome::Skipped(why) => Some(format!(
                "{vm:<12} provision  {index}/{total} {name}: skipped: {why}"
            )),
            Outcome::Interrupted(context) => Some(format!(
                "{vm:<12} provision  {index}/{total} {name}: interrupted{}",
                detail(context)
            )),
        },
        Event::Stopping { waiting_for } => Some(if waiting_for.is_empty() {
            "stopping (Ctrl-C): nothing else starts".to_string()
        } else {
            format!(
                "stopping (Ctrl-C): nothing else starts; waiting for {} to finish — Ctrl-C again to leave {} running (the next `labctl up` waits for {})",
                waiting_for.join(", "),
                if waiting_for.len() == 1 { "it" } else { "them" },
                if waiting_for.len() == 1 { "it" } else { "them" },
            )
        }),
        Event::Note { vm, message } => Some(format!("{:<12} note       {message}", who(vm))),
        Event::Finished {
            done,
            failed,
            skipped,
            stopped,
            interrupted,
            seconds,
        } => Some(format!(
            "{} in {seconds:.1}s: {done} done, {failed} failed, {skipped} skipped{}",
            if *interrupted {
                "interrupted"
            } else if *failed > 0 {
                "failed"
            } else {
                "finished"
            },
            if *stopped > 0 {
                format!(", {stopped} interrupted")
            } else {
                String::new()
            }
        )),
    }
}

impl<W: Write + Send> Reporter for PlainReporter<W> {
    fn event(&mut self, at: Duration, event: &Event) {
        if let Some(text) = describe(event) {
            let time = rfc3339(now_seconds());
            let _ = writeln!(
                self.out,
                "{} +{:>6.1}s {text}",
                &time[11..19],
                at.as_secs_f64()
            );
            let _ = self.out.flush();
        }
    }
}

/// JSON Lines: one object per event, with `t` (seconds since the start) and `time`.
pub struct JsonReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonReporter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send> Reporter for JsonReporter<W> {
    fn event(&mut self, at: Duration, event: &Event) {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "t".into(),
                serde_json::json!((at.as_secs_f64() * 1000.0).round() / 1000.0),
            );
            object.insert("time".into(), serde_json::json!(rfc3339(now_seconds())));
        }
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }
}

/// A live line per VM on a terminal: its stage (import → clone → configure → boot → ssh →
/// provision k/n → ready), with the lab-wide actions on a line of their own.
pub struct LiveReporter {
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
    style: ProgressStyle,
}

impl LiveReporter {
    /// Draws on stderr.
    pub fn new() -> Self {
        let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:<12.bold} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: BTreeMap::new(),
            style,
        }
    }

    fn bar(&mut self, name: &str) -> ProgressBar {
        if let Some(bar) = self.bars.get(name) {
            return bar.clone();
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(self.style.clone());
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.insert(name.to_string(), bar.clone());
        bar
    }
}

impl Default for LiveReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for LiveReporter {
    fn event(&mut self, _at: Duration, event: &Event) {
        match event {
            Event::Started { .. } => {
                if let Some(text) = describe(event) {
                    let _ = self.multi.println(text);
                }
                if let Event::Started { vms, .. } = event {
                    self.bar("lab").set_message("waiting");
                    for vm in vms {
                        self.bar(vm).set_message("waiting");
                    }
                }
            }
            Event::ActionStarted {
                vm,
                stage,
                description,
                ..
            } => {
                let name = vm.clone().unwrap_or_else(|| "lab".into());
                self.bar(&name)
                    .set_message(format!("{stage} … {description}"));
            }
            Event::ActionFinished {
                vm, stage, outcome, ..
            } => {
                let name = vm.clone().unwrap_or_else(|| "lab".into());
                let bar = self.bar(&name);
                match outcome {
                    Outcome::Done => bar.set_message(format!("{stage} done")),
                    Outcome::Failed(why) => {
                        bar.abandon_with_message(format!(
                            "{stage} FAILED: {}",
                            why.lines().next().unwrap_or("")
                        ));
                        let _ = self.multi.println(format!("{name}: {stage} failed: {why}"));
                    }
                    Outcome::Skipped(why) => bar.set_message(format!("{stage} skipped: {why}")),
                    Outcome::Interrupted(_) => {
                        bar.abandon_with_message(format!("{stage} interrupted"));
                    }
                }
            }
            Event::StepStarted {
                vm,
                index,
                total,
                name,
            } => self
                .bar(vm)
                .set_message(format!("provision {index}/{total} {name}")),
            Event::StepFinished {
                outcome: Outcome::Failed(_),
                ..
            }
            | Event::Note { .. }
            | Event::Stopping { .. } => {
                if let Some(text) = describe(event) {
                    let _ = self.multi.println(text);
                }
            }
            Event::StepFinished { .. } => {}
            Event::Finished { .. } => {
                for (name, bar) in &self.bars {
                    if !bar.is_finished() {
                        let message = if name == "lab" {
                            "done".to_string()
                        } else {
                            "ready".to_string()
                        };
                        bar.finish_with_message(message);
                    }
                }
                if let Some(text) = describe(event) {
                    let _ = self.multi.println(text);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_have_a_time_and_the_outcome() {
        let mut out = Vec::new();
        {
            let mut reporter = PlainReporter::new(&mut out);
            reporter.event(
                Duration::from_millis(1500),
                &Event::ActionFinished {
                    id: 3,
                    vm: Some("web1".into()),
                    stage: "clone".into(),
                    description: "x".into(),
                    outcome: Outcome::Failed("boom".into()),
                    seconds: 1.25,
                },
            );
        }
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("+   1.5s web1         clone      #3 FAILED (1.2s): boom"),
            "{text}"
        );
        assert_eq!(&text[2..3], ":");
    }

    #[test]
    fn json_lines_are_objects_with_time() {
        let mut out = Vec::new();
        JsonReporter::new(&mut out).event(
            Duration::from_secs(2),
            &Event::Note {
                vm: None,
                message: "m".into(),
            },
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["event"], "note");
        assert_eq!(value["t"], 2.0);
    }
}
