//! A provisioning step made concrete for one VM: its templates rendered with the lab's facts,
//! its files read, and the hash of all of it (a step runs again only when this hash changes).

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::lab::facts::{RenderError, render};
use crate::lab::model::{Step, StepAction};
use crate::lab::source::Span;

/// Reads the local files steps upload.
pub trait LocalFiles: Sync {
    /// A file's bytes.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// True when the path is a folder.
    fn is_dir(&self, path: &Path) -> bool;
    /// Every file under a folder as (path relative to it, mode, bytes), sorted by path.
    fn walk(&self, path: &Path) -> std::io::Result<Vec<(String, u32, Vec<u8>)>>;
}

/// What a rendered step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepWork {
    /// Run a shell command.
    Run(String),
    /// Upload a script and run it with arguments.
    Script {
        /// The script.
        text: Vec<u8>,
        /// Rendered arguments.
        args: Vec<String>,
    },
    /// Write one file.
    File {
        /// Content.
        content: Vec<u8>,
        /// Destination.
        to: String,
        /// Mode.
        mode: Option<u32>,
        /// Owner.
        owner: Option<String>,
    },
    /// Unpack a folder (as a tar stream).
    Folder {
        /// The tar archive of the folder.
        archive: Vec<u8>,
        /// Destination.
        to: String,
        /// Mode.
        mode: Option<u32>,
        /// Owner.
        owner: Option<String>,
    },
}

/// A step ready to run on one VM.
#[derive(Debug, Clone)]
pub struct RenderedStep {
    /// Its name.
    pub name: String,
    /// What it does.
    pub work: StepWork,
    /// Run as root.
    pub sudo: bool,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Time limit.
    pub timeout: Duration,
    /// Where it is in the lab file.
    pub span: Span,
    /// Hash of everything that makes it what it is.
    pub hash: String,
}

/// Why a step could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// A template failed to render.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A file to upload could not be read.
    #[error("cannot read `{}` for step `{step}`", path.display())]
    File {
        /// The step.
        step: String,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
        /// Where the step is.
        span: Span,
    },
}

/// Renders and reads a VM's steps with `context` (the template context for this VM).
pub fn render_steps(
    steps: &[Step],
    context: &serde_json::Value,
    files: &dyn LocalFiles,
) -> Result<Vec<RenderedStep>, PrepareError> {
    steps
        .iter()
        .map(|step| render_step(step, context, files))
        .collect()
}

fn render_step(
    step: &Step,
    context: &serde_json::Value,
    files: &dyn LocalFiles,
) -> Result<RenderedStep, PrepareError> {
    let read_error = |path: &Path, source| PrepareError::File {
        step: step.name.clone(),
        path: path.to_path_buf(),
        source,
        span: step.span.clone(),
    };
    let work = match &step.action {
        StepAction::Run { command } => StepWork::Run(render(command, context)?),
        StepAction::Script { text, args, .. } => StepWork::Script {
            text: text.as_bytes().to_vec(),
            args: args
                .iter()
                .map(|arg| render(arg, context))
                .collect::<Result<_, _>>()?,
        },
        StepAction::Template {
            template,
            to,
            mode,
            owner,
        } => StepWork::File {
            content: render(template, context)?.into_bytes(),
            to: to.clone(),
            mode: *mode,
            owner: owner.clone(),
        },
        StepAction::Upload {
            source,
            to,
            mode,
            owner,
        } => {
            if files.is_dir(source) {
                let entries = files
                    .walk(source)
                    .map_err(|error| read_error(source, error))?;
                StepWork::Folder {
                    archive: tar_archive(&entries),
                    to: to.clone(),
                    mode: *mode,
                    owner: owner.clone(),
                }
            } else {
                let content = files
                    .read(source)
                    .map_err(|error| read_error(source, error))?;
                StepWork::File {
                    content,
                    to: to.clone(),
                    mode: *mode,
                    owner: owner.clone(),
                }
            }
        }
    };
    let env: Vec<(String, String)> = step
        .env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let hash = hash(&work, step.sudo, &env);
    Ok(RenderedStep {
        name: step.name.clone(),
        work,
        sudo: step.sudo,
        env,
        timeout: step.timeout,
        span: step.span.clone(),
        hash,
    })
}

fn hash(work: &StepWork, sudo: bool, env: &[(String, String)]) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    match work {
        StepWork::Run(command) => {
            field(b"run");
            field(command.as_bytes());
        }
        StepWork::Script { text, args } => {
            field(b"script");
            field(text);
            for arg in args {
                field(arg.as_bytes());
            }
        }
        StepWork::File {
            content,
            to,
            mode,
            owner,
        }
        | StepWork::Folder {
            archive: content,
            to,
            mode,
            owner,
        } => {
            field(if matches!(work, StepWork::File { .. }) {
                b"file"
            } else {
                b"folder"
            });
            field(content);
            field(to.as_bytes());
            field(format!("{mode:?}").as_bytes());
            field(owner.as_deref().unwrap_or("").as_bytes());
        }
    }
    field(if sudo { b"sudo" } else { b"user" });
    for (key, value) in env {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A tar archive of files, with fixed timestamps so the same files give the same bytes.
fn tar_archive(entries: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        header.set_cksum();
        let _ = builder.append_data(&mut header, path, content.as_slice());
    }
    builder.into_inner().unwrap_or_default()
}

/// Index of the first step to run: the first whose hash differs from what was applied.
pub fn first_pending(steps: &[RenderedStep], applied: &[String]) -> usize {
    steps
        .iter()
        .zip(applied.iter().map(Some).chain(std::iter::repeat(None)))
        .position(|(step, applied)| applied != Some(&step.hash))
        .unwrap_or(steps.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(command: &str) -> RenderedStep {
        let work = StepWork::Run(command.into());
        let hash = hash(&work, true, &[]);
        RenderedStep {
            name: command.into(),
            work,
            sudo: true,
            env: vec![],
            timeout: Duration::from_secs(1),
            span: Span::default(),
            hash,
        }
    }

    #[test]
    fn pending_starts_at_the_first_changed_step() {
        let steps = vec![step("a"), step("b"), step("c")];
        let hashes: Vec<String> = steps.iter().map(|s| s.hash.clone()).collect();
        assert_eq!(first_pending(&steps, &hashes), 3, "nothing to do");
        assert_eq!(first_pending(&steps, &[]), 0, "never ran");
        assert_eq!(
            first_pending(&steps, &hashes[..1]),
            1,
            "resumes after a failure"
        );
        let edited = vec![step("a"), step("B"), step("c")];
        assert_eq!(
            first_pending(&edited, &hashes),
            1,
            "an edited step and what follows"
        );
    }

    #[test]
    fn hash_covers_sudo_and_env() {
        let work = StepWork::Run("x".into());
        assert_ne!(hash(&work, true, &[]), hash(&work, false, &[]));
        assert_ne!(
            hash(&work, true, &[]),
            hash(&work, true, &[("A".into(), "1".into())])
        );
    }

    #[test]
    fn archives_are_reproducible() {
        let entries = vec![("a.txt".to_string(), 0o644, b"hi".to_vec())];
        assert_eq!(tar_archive(&entries), tar_archive(&entries));
    }
}
