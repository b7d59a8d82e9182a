//! A VM's hardware settings: what `modifyvm` changes and a snapshot captures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::nic::Nic;

/// The settings a snapshot captures and `snapshot restore` brings back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hardware {
    pub ostype: String,
    pub memory: u32,
    pub cpus: u32,
    pub nics: Vec<Nic>,
    /// Other `modifyvm` settings, keyed by their `showvminfo --machinereadable` key.
    pub settings: BTreeMap<String, String>,
}
