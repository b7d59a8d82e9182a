//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use labctl::lab::{self, Diagnostic, LabFiles, Loaded};

/// Files served from memory, keyed by path relative to the lab's folder.
#[derive(Default)]
pub struct MemoryFiles {
    files: HashMap<PathBuf, String>,
}

impl MemoryFiles {
    pub fn with(mut self, path: &str, text: &str) -> Self {
        self.files
            .insert(Path::new("lab").join(path), text.to_string());
        self
    }
}

impl LabFiles for MemoryFiles {
    fn read_text(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
}

/// Loads a lab file from text, with `files` available beside it.
pub fn load_with(text: &str, files: &MemoryFiles) -> Loaded {
    lab::load("lab.toml", text, Path::new("lab"), files)
}

/// Loads a lab file from text alone.
pub fn load(text: &str) -> Loaded {
    load_with(text, &MemoryFiles::default())
}

/// `line:col` of a diagnostic.
pub fn position(loaded: &Loaded, diagnostic: &Diagnostic) -> String {
    let location = diagnostic.location(&loaded.sources);
    format!("{}:{}:{}", location.file, location.line, location.column)
}

/// The path of a built binary of this workspace.
pub fn labctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_labctl"))
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A minimal valid lab with one image, one host-only network and one VM, to which a test
/// appends what it is about.
pub const BASE: &str = r#"[lab]
name = "t"

[images.base]
ova = "base.ova"
user = "u"
password = "p"

[networks.lab]
type = "hostonly"
cidr = "192.168.56.0/24"
"#;
