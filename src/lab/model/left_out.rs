//! What a `when` condition left out of the lab, for `plan` to show.

use serde::Serialize;

use crate::lab::source::Span;

/// A VM, step or check of the lab file whose `when` is false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// What it is: ``vm `consul` ``, ``step `install consul` ``, ``check `…` ``.
    pub what: String,
    /// The condition, as written.
    pub when: String,
    /// Where it is.
    #[serde(skip)]
    pub span: Span,
}
