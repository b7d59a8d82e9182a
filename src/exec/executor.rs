//! Runs a plan: every action once its dependencies are done, up to `jobs` at a time, in plan
//! order among the ready ones. A failure skips what depends on it (and, with `fail_fast`,
//! everything not yet started); an interruption stops starting new actions.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::event::{Event, Outcome};
use crate::plan::{Plan, PlannedAction};

/// Does one action. The real one drives VirtualBox and SSH; tests use fakes.
pub trait ActionRunner: Sync {
    /// Runs the action; `emit` reports progress inside it (steps, notes).
    fn run(&self, action: &PlannedAction, emit: &(dyn Fn(Event) + Sync))
    -> Result<(), ActionError>;
}

/// Why an action did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// It failed.
    Failed(String),
    /// It stopped because the run was interrupted, where it was.
    Interrupted(String),
}

impl From<String> for ActionError {
    fn from(why: String) -> Self {
        Self::Failed(why)
    }
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// Actions at once.
    pub jobs: usize,
    /// Stop starting actions after the first failure.
    pub fail_fast: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecSummary {
    /// Outcome of each action, by plan index.
    pub outcomes: Vec<Outcome>,
    /// True when the run was interrupted.
    pub interrupted: bool,
}

impl ExecSummary {
    /// Number of actions with this kind of outcome.
    pub fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| wanted(outcome))
            .count()
    }

    /// True when every action was done.
    pub fn all_done(&self) -> bool {
        self.outcomes
            .iter()
            .all(|outcome| *outcome == Outcome::Done)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Waiting,
    Running,
    Finished(Outcome),
}

struct Shared {
    status: Vec<Status>,
    remaining: Vec<usize>,
    ready: BTreeSet<usize>,
    /// What runs now, by plan index.
    running: BTreeSet<usize>,
    stop: Option<String>,
    /// Whether the interruption was announced (once, by whoever sees it first).
    announced: bool,
}

/// Runs `plan` with `runner`, reporting through `emit`.
pub fn execute(
    plan: &Plan,
    runner: &dyn ActionRunner,
    options: ExecOptions,
    cancel: &AtomicBool,
    emit: &(dyn Fn(Event) + Sync),
) -> ExecSummary {
    let started = Instant::now();
    let count = plan.actions.len();
    let mut dependents = vec![Vec::new(); count];
    for action in &plan.actions {
        for dependency in &action.after {
            dependents[dependency.0].push(action.id.0);
        }
    }
    let shared = Mutex::new(Shared {
        status: vec![Status::Waiting; count],
        remaining: plan
            .actions
            .iter()
            .map(|action| action.after.len())
            .collect(),
        ready: plan
            .actions
            .iter()
            .filter(|action| action.after.is_empty())
            .map(|action| action.id.0)
            .collect(),
        running: BTreeSet::new(),
        stop: None,
        announced: false,
    });
    let workers_left = AtomicUsize::new(0);
    let wake = Condvar::new();
    let jobs = options.jobs.max(1).min(count.max(1));

    let skip = |shared: &mut Shared, index: usize, why: &str| {
        if shared.status[index] == Status::Waiting {
            shared.status[index] = Status::Finished(Outcome::Skipped(why.to_string()));
            shared.ready.remove(&index);
            let action = &plan.actions[index];
            emit(Event::ActionFinished {
                id: index + 1,
                vm: action.action.vm().map(str::to_string),
                stage: action.action.stage().to_string(),
                description: action.action.to_string(),
                outcome: Outcome::Skipped(why.to_string()),
                seconds: 0.0,
            });
        }
    };

    // On Ctrl-C: no new action, and say once what the run still waits for.
    let interrupt = |state: &mut Shared| {
        if state.stop.is_none() {
            state.stop = Some("interrupted".to_string());
        }
        if !state.announced {
            state.announced = true;
            emit(Event::Stopping {
                waiting_for: state
                    .running
                    .iter()
                    .map(|&index| format!("#{} {}", index + 1, plan.actions[index].action))
                    .collect(),
            });
        }
    };

    std::thread::scope(|scope| {
        workers_left.store(jobs, Ordering::SeqCst);
        // Notices Ctrl-C while every worker is busy or idle, at once: announces it and wakes
        // idle workers so that what was ready is reported as skipped.
        scope.spawn(|| {
            while workers_left.load(Ordering::SeqCst) > 0 {
                if cancel.load(Ordering::SeqCst) {
                    interrupt(&mut shared.lock().expect("executor state"));
                    wake.notify_all();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let next = {
                        let mut state = shared.lock().expect("executor state");
                        loop {
                            if cancel.load(Ordering::SeqCst) {
                                interrupt(&mut state);
                            }
                            if let Some(why) = state.stop.clone() {
                                let ready: Vec<usize> = state.ready.iter().copied().collect();
                                for index in ready {
                                    skip(&mut state, index, &why);
                                }
                            }
                            if let Some(&index) = state.ready.iter().next() {
                                state.ready.remove(&index);
                                state.status[index] = Status::Running;
                                state.running.insert(index);
                                break Some(index);
                            }
                            if state.running.is_empty() {
                                break None;
                            }
                            state = wake.wait(state).expect("executor state");
                        }
                    };
                    let Some(index) = next else {
                        workers_left.fetch_sub(1, Ordering::SeqCst);
                        wake.notify_all();
                        return;
                    };
                    let action = &plan.actions[index];
                    let description = action.action.to_string();
                    let vm = action.action.vm().map(str::to_string);
                    let stage = action.action.stage().to_string();
                    emit(Event::ActionStarted {
                        id: index + 1,
                        vm: vm.clone(),
                        stage: stage.clone(),
                        description: description.clone(),
                    });
                    let began = Instant::now();
                    let outcome = match runner.run(action, emit) {
                        Ok(()) => Outcome::Done,
                        Err(ActionError::Failed(why)) => Outcome::Failed(why),
                        Err(ActionError::Interrupted(why)) => Outcome::Interrupted(why),
                    };
                    emit(Event::ActionFinished {
                        id: index + 1,
                        vm,
                        stage,
                        description,
                        outcome: outcome.clone(),
                        seconds: began.elapsed().as_secs_f64(),
                    });
                    let mut state = shared.lock().expect("executor state");
                    state.running.remove(&index);
                    let failed = outcome != Outcome::Done;
                    let why = match outcome {
                        Outcome::Interrupted(_) => "interrupted".to_string(),
                        _ => format!("#{} failed", index + 1),
                    };
                    state.status[index] = Status::Finished(outcome);
                    if failed {
                        let mut queue = dependents[index].clone();
                        while let Some(dependent) = queue.pop() {
                            if state.status[dependent] == Status::Waiting {
                                skip(&mut state, dependent, &why);
                                queue.extend(dependents[dependent].iter().copied());
                            }
                        }
                        if options.fail_fast && state.stop.is_none() {
                            state.stop =
                                Some(format!("stopped after #{} failed (--fail-fast)", index + 1));
                        }
                    } else {
                        for &dependent in &dependents[index] {
                            state.remaining[dependent] -= 1;
                            if state.remaining[dependent] == 0
                                && state.status[dependent] == Status::Waiting
                            {
                                state.ready.insert(dependent);
                            }
                        }
                    }
                    drop(state);
                    wake.notify_all();
                }
            });
        }
    });

    let mut state = shared.into_inner().expect("executor state");
    let interrupted = cancel.load(Ordering::SeqCst);
    let leftover_reason = state
        .stop
        .clone()
        .unwrap_or_else(|| "not reached".to_string());
    for index in 0..count {
        if state.status[index] == Status::Waiting {
            skip(&mut state, index, &leftover_reason);
        }
    }
    let outcomes: Vec<Outcome> = state
        .status
        .into_iter()
        .map(|status| match status {
            Status::Finished(outcome) => outcome,
            _ => Outcome::Skipped(leftover_reason.clone()),
        })
        .collect();
    let summary = ExecSummary {
        outcomes,
        interrupted,
    };
    emit(Event::Finished {
        done: summary.count(|outcome| *outcome == Outcome::Done),
        failed: summary.count(|outcome| matches!(outcome, Outcome::Failed(_))),
        skipped: summary.count(|outcome| matches!(outcome, Outcome::Skipped(_))),
        stopped: summary.count(|outcome| matches!(outcome, Outcome::Interrupted(_))),
        interrupted,
        seconds: started.elapsed().as_secs_f64(),
    });
    summary
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;
    use crate::plan::{Action, ActionId};

    fn wait(vm: &str) -> Action {
        Action::WaitForSsh { vm: vm.to_string() }
    }

    struct Recorder {
        order: Mutex<Vec<usize>>,
        running: AtomicUsize,
        peak: AtomicUsize,
        fail: Option<usize>,
    }

    impl ActionRunner for Recorder {
        fn run(
            &self,
            action: &PlannedAction,
            _: &(dyn Fn(Event) + Sync),
        ) -> Result<(), ActionError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            self.order.lock().unwrap().push(action.id.0);
            self.running.fetch_sub(1, Ordering::SeqCst);
            if Some(action.id.0) == self.fail {
                Err(ActionError::Failed("boom".into()))
            } else {
                Ok(())
            }
        }
    }

    fn recorder(fail: Option<usize>) -> Recorder {
        Recorder {
            order: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            fail,
        }
    }

    fn diamond() -> Plan {
        let mut plan = Plan::default();
        let a = plan.push(wait("a"), "r", vec![]);
        let b = plan.push(wait("b"), "r", vec![a]);
        let c = plan.push(wait("c"), "r", vec![a]);
        plan.push(wait("d"), "r", vec![b, c]);
        plan.push(wait("e"), "r", vec![]);
        plan
    }

    #[test]
    fn respects_dependencies_and_runs_independent_actions_in_parallel() {
        let plan = diamond();
        let runner = recorder(None);
        let events = Mutex::new(Vec::new());
        let summary = execute(
            &plan,
            &runner,
            ExecOptions {
                jobs: 4,
                fail_fast: false,
            },
            &AtomicBool::new(false),
            &|event| events.lock().unwrap().push(event),
        );
        assert!(summary.all_done());
        let order = runner.order.lock().unwrap().clone();
        let position = |id: usize| order.iter().position(|&x| x == id).unwrap();
        assert!(position(0) < position(1) && position(0) < position(2));
        assert!(position(1) < position(3) && position(2) < position(3));
        assert!(
            runner.peak.load(Ordering::SeqCst) >= 2,
            "independent actions overlap"
        );
        assert!(matches!(
            events.lock().unwrap().last(),
            Some(Event::Finished { done: 5, .. })
        ));
    }

    #[test]
    fn jobs_bound_the_parallelism() {
        let mut plan = Plan::default();
        for vm in ["a", "b", "c", "d", "e", "f"] {
            plan.push(wait(vm), "r", vec![]);
        }
        let runner = recorder(None);
        execute(
            &plan,
            &runner,
            ExecOptions {
                jobs: 2,
                fail_fast: false,
            },
            &AtomicBool::new(false),
            &|_| {},
        );
        assert_eq!(runner.peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failure_skips_its_dependents_only() {
        let plan = diamond();
        let runner = recorder(Some(1));
        let summary = execute(
            &plan,
            &runner,
            ExecOptions {
                jobs: 1,
                fail_fast: false,
            },
            &AtomicBool::new(false),
            &|_| {},
        );
        assert_eq!(summary.outcomes[1], Outcome::Failed("boom".into()));
        assert_eq!(summary.outcomes[3], Outcome::Skipped("#2 failed".into()));
        assert_eq!(summary.outcomes[2], Outcome::Done);
        assert_eq!(summary.outcomes[4], Outcome::Done);
    }

    #[test]
    fn fail_fast_and_interruption_stop_new_actions() {
        let plan = diamond();
        let runner = recorder(Some(0));
        let summary = execute(
            &plan,
            &runner,
            ExecOptions {
                jobs: 1,
                fail_fast: true,
            },
            &AtomicBool::new(false),
            &|_| {},
        );
        assert_eq!(summary.count(|o| *o == Outcome::Done), 0);
        let cancel = AtomicBool::new(true);
        let summary = execute(
            &plan,
            &recorder(None),
            ExecOptions {
                jobs: 2,
                fail_fast: false,
            },
            &cancel,
            &|_| {},
        );
        assert!(summary.interrupted);
        assert!(
            summary
                .outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Skipped(why) if why == "interrupted"))
        );
        let _ = ActionId(0);
    }

    /// Waits (the first action) until Ctrl-C has been announced, then stops where it is.
    struct Waiter<'a> {
        announced: &'a AtomicBool,
    }

    impl ActionRunner for Waiter<'_> {
        fn run(
            &self,
            action: &PlannedAction,
            _: &(dyn Fn(Event) + Sync),
        ) -> Result<(), ActionError> {
            if action.id.0 != 0 {
                return Ok(());
            }
            while !self.announced.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(ActionError::Interrupted("waiting".into()))
        }
    }

    #[test]
    fn ctrl_c_names_what_runs_and_an_interrupted_action_is_no_failure() {
        let plan = diamond();
        let cancel = AtomicBool::new(false);
        let announced = AtomicBool::new(false);
        let events = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                cancel.store(true, Ordering::SeqCst);
            });
            let summary = execute(
                &plan,
                &Waiter {
                    announced: &announced,
                },
                ExecOptions {
                    jobs: 2,
                    fail_fast: false,
                },
                &cancel,
                &|event| {
                    if matches!(event, Event::Stopping { .. }) {
                        announced.store(true, Ordering::SeqCst);
                    }
                    events.lock().unwrap().push(event);
                },
            );
            assert!(summary.interrupted);
            assert_eq!(summary.outcomes[0], Outcome::Interrupted("waiting".into()));
            assert_eq!(
                summary.count(|outcome| matches!(outcome, Outcome::Failed(_))),
                0
            );
        });
        let events = events.into_inner().unwrap();
        let stopping: Vec<&Vec<String>> = events
            .iter()
            .filter_map(|event| match event {
                Event::Stopping { waiting_for } => Some(waiting_for),
                _ => None,
            })
            .collect();
        assert_eq!(stopping.len(), 1, "{events:?}");
        assert_eq!(stopping[0].len(), 1, "{events:?}");
        assert!(stopping[0][0].starts_with("#1 "), "{events:?}");
        assert!(
            matches!(
                events.last(),
                Some(Event::Finished {
                    stopped: 1,
                    failed: 0,
                    ..
                })
            ),
            "{events:?}"
        );
    }
}
