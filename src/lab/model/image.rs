//! A base image: what VMs are cloned from.

use std::path::PathBuf;

use super::secret::Login;
use crate::lab::source::Span;

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// An appliance file, imported once into a master VM that linked clones share.
    Appliance(PathBuf),
    /// An existing VirtualBox VM (name or UUID), used as the master.
    Vm(String),
}

/// A validated `[images.NAME]`.
#[derive(Debug, Clone)]
pub struct Image {
    /// The key in `[images]`.
    pub name: String,
    /// Appliance or existing VM.
    pub source: ImageSource,
    /// Snapshot of the master that linked clones are made from.
    pub snapshot: String,
    /// How to log in to its VMs.
    pub login: Login,
    /// Where it is defined.
    pub span: Span,
}
