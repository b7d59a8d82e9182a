//! Finding the VBoxManage program: `LABCTL_VBOXMANAGE`, then `PATH`, then where VirtualBox
//! installs it on macOS and Windows (as Vagrant looks for it).

use std::path::{Path, PathBuf};

/// Where VBoxManage was found, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The program.
    pub path: PathBuf,
    /// How it was found ("LABCTL_VBOXMANAGE", "PATH", "VirtualBox's install folder").
    pub how: &'static str,
}

/// The environment the search reads (injected, so the search is testable).
pub trait SearchEnvironment {
    /// An environment variable.
    fn var(&self, name: &str) -> Option<String>;
    /// A program on PATH.
    fn which(&self, program: &str) -> Option<PathBuf>;
    /// True when the file exists.
    fn exists(&self, path: &Path) -> bool;
}

/// Looks for VBoxManage; None when it is nowhere.
pub fn locate(env: &dyn SearchEnvironment) -> Option<Located> {
    if let Some(path) = env.var("LABCTL_VBOXMANAGE").filter(|path| !path.is_empty()) {
        return Some(Located {
            path: PathBuf::from(path),
            how: "LABCTL_VBOXMANAGE",
        });
    }
    for program in ["VBoxManage", "VBoxManage.exe"] {
        if let Some(path) = env.which(program) {
            return Some(Located { path, how: "PATH" });
        }
    }
    let mut candidates: Vec<PathBuf> = vec![
        PathBuf::from("/Applications/VirtualBox.app/Contents/MacOS/VBoxManage"),
        PathBuf::from("/usr/local/bin/VBoxManage"),
        PathBuf::from("/usr/bin/VBoxManage"),
    ];
    for variable in ["VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH"] {
        if let Some(value) = env.var(variable) {
            for dir in value.split(';').filter(|dir| !dir.is_empty()) {
                candidates.push(Path::new(dir).join("VBoxManage.exe"));
            }
        }
    }
    let drive = env.var("SYSTEMDRIVE").unwrap_or_else(|| "C:".to_string());
    candidates.push(PathBuf::from(format!(
        "{drive}/Program Files/Oracle/VirtualBox/VBoxManage.exe"
    )));
    candidates.push(PathBuf::from(format!(
        "{drive}/Program Files (x86)/Oracle/VirtualBox/VBoxManage.exe"
    )));
    if let Some(program_files) = env.var("PROGRAMFILES") {
        candidates.push(Path::new(&program_files).join("Oracle/VirtualBox/VBoxManage.exe"));
    }
    candidates.push(PathBuf::from(
        "/mnt/c/Program Files/Oracle/VirtualBox/VBoxManage.exe",
    ));
    candidates
        .into_iter()
        .find(|candidate| env.exists(candidate))
        .map(|path| Located {
            path,
            how: "VirtualBox's install folder",
        })
}

/// The real environment of this process.
pub struct ProcessEnvironment;

impl SearchEnvironment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn which(&self, program: &str) -> Option<PathBuf> {
        which::which(program).ok()
    }

    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Default)]
    struct FakeEnvironment {
        vars: HashMap<&'static str, String>,
        on_path: Option<PathBuf>,
        files: Vec<PathBuf>,
    }

    impl SearchEnvironment for FakeEnvironment {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn which(&self, _: &str) -> Option<PathBuf> {
            self.on_path.clone()
        }
        fn exists(&self, path: &Path) -> bool {
            self.files.iter().any(|file| file == path)
        }
    }

    #[test]
    fn search_order() {
        let mut env = FakeEnvironment {
            on_path: Some("/usr/bin/VBoxManage".into()),
            ..Default::default()
        };
        env.vars.insert("LABCTL_VBOXMANAGE", "/opt/vbox".into());
        assert_eq!(locate(&env).unwrap().how, "LABCTL_VBOXMANAGE");
        env.vars.clear();
        assert_eq!(
            locate(&env).unwrap().path,
            PathBuf::from("/usr/bin/VBoxManage")
        );
        env.on_path = None;
        assert_eq!(locate(&env), None);
        env.vars
            .insert("VBOX_MSI_INSTALL_PATH", "D:\\VB\\;E:\\Other".into());
        env.files
            .push(Path::new("E:\\Other").join("VBoxManage.exe"));
        assert_eq!(
            locate(&env).unwrap().path,
            Path::new("E:\\Other").join("VBoxManage.exe")
        );
        env.files = vec![PathBuf::from(
            "/Applications/VirtualBox.app/Contents/MacOS/VBoxManage",
        )];
        assert_eq!(locate(&env).unwrap().how, "VirtualBox's install folder");
    }
}
