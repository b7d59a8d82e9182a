//! A plan: actions with their reasons, their dependencies, and the stages that can run in
//! parallel.

use serde::Serialize;

use super::action::Action;

/// Index of an action in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ActionId(pub usize);

/// An action, why it is needed, and what must finish before it starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedAction {
    /// Its id.
    pub id: ActionId,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// Why (e.g. "absent", "memory 512 → 1024 MB").
    pub reason: String,
    /// Actions that must finish first.
    pub after: Vec<ActionId>,
    /// Parallel stage: every action of a stage can run at once once earlier stages are done.
    pub stage: usize,
}

/// A VM that exists but is not in the lab file any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// VirtualBox name.
    pub vbox_name: String,
    /// The lab name it had.
    pub role: String,
    /// True when the plan deletes it (`--prune`).
    pub pruned: bool,
}

/// What `up` would do, in dependency order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The actions, each after everything it depends on.
    pub actions: Vec<PlannedAction>,
    /// VMs of the lab that are not in the lab file.
    pub leftovers: Vec<Leftover>,
}

impl Plan {
    /// Adds an action and returns its id.
    pub fn push(
        &mut self,
        action: Action,
        reason: impl Into<String>,
        after: Vec<ActionId>,
    ) -> ActionId {
        let id = ActionId(self.actions.len());
        let mut after = after;
        after.sort();
        after.dedup();
        let stage = after
            .iter()
            .map(|dependency| self.actions[dependency.0].stage + 1)
            .max()
            .unwrap_or(0);
        self.actions.push(PlannedAction {
            id,
            action,
            reason: reason.into(),
            after,
            stage,
        });
        id
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The actions of each stage, stage by stage.
    pub fn stages(&self) -> Vec<Vec<&PlannedAction>> {
        let count = self
            .actions
            .iter()
            .map(|action| action.stage + 1)
            .max()
            .unwrap_or(0);
        let mut stages = vec![Vec::new(); count];
        for action in &self.actions {
            stages[action.stage].push(action);
        }
        stages
    }

    /// Number of actions that write to VirtualBox.
    pub fn write_count(&self) -> usize {
        self.actions
            .iter()
            .filter(|action| action.action.writes_virtualbox())
            .count()
    }
}
