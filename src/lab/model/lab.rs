//! The validated lab: everything labctl needs to know about what the user asked for.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::check::Check;
use super::image::Image;
use super::left_out::LeftOut;
use super::network::Network;
use super::vm::Vm;
use crate::lab::source::{Sources, Span};

/// A lab whose every name resolves, every address fits and every template is sound.
#[derive(Debug, Clone)]
pub struct Lab {
    /// The lab's name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Prefix of VirtualBox VM names.
    pub vm_prefix: String,
    /// Folder of the lab file (relative paths in it are relative to this).
    pub dir: PathBuf,
    /// The lab's own values for templates.
    pub vars: IndexMap<String, serde_json::Value>,
    /// Images by name, in file order.
    pub images: Vec<Image>,
    /// Networks in file order.
    pub networks: Vec<Network>,
    /// VMs in file order, replicas expanded.
    pub vms: Vec<Vm>,
    /// Checks in file order.
    pub checks: Vec<Check>,
    /// What `when` conditions left out, in file order.
    pub left_out: Vec<LeftOut>,
    /// The lab file and the files it uses.
    pub sources: Sources,
    /// Where `[lab]` is.
    pub span: Span,
}

impl Lab {
    /// The VM with this lab name.
    pub fn vm(&self, name: &str) -> Option<&Vm> {
        self.vms.iter().find(|vm| vm.name == name)
    }

    /// The network with this key.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|network| network.name == name)
    }

    /// The image with this key.
    pub fn image(&self, name: &str) -> Option<&Image> {
        self.images.iter().find(|image| image.name == name)
    }

    /// The replicas of group `group` in order.
    pub fn group(&self, group: &str) -> Vec<&Vm> {
        self.vms.iter().filter(|vm| vm.group == group).collect()
    }

    /// The VirtualBox group every VM of this lab is put in.
    pub fn vbox_group(&self) -> String {
        format!("/labctl/{}", self.name)
    }

    /// The master VM's VirtualBox name for an image.
    pub fn master_name(&self, image: &str) -> String {
        format!("{}master-{image}", self.vm_prefix)
    }
}
