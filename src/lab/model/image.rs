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
    /// The environment variables its credentials are read from, where the file names them.
    pub secret_variables: Vec<SecretVariable>,
    /// Where it is defined.
    pub span: Span,
}

/// An environment variable that holds a credential (`password_env`, `key_env`).
#[derive(Debug, Clone)]
pub struct SecretVariable {
    /// The variable's name.
    pub name: String,
    /// What it holds: `password` or `private key`.
    pub holds: &'static str,
    /// The variable's name in the lab file.
    pub span: Span,
}
