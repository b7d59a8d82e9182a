//! A failed VBoxManage command, and how VBoxManage prints it (stderr shapes and exit codes).

use crate::model::host::Host;

/// A COM status code as VBoxManage names it in `Details: code NAME (0x...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComCode {
    pub name: &'static str,
    pub hex: u32,
}

pub const VBOX_E_OBJECT_NOT_FOUND: ComCode = ComCode {
    name: "VBOX_E_OBJECT_NOT_FOUND",
    hex: 0x80bb_0001,
};
pub const VBOX_E_INVALID_VM_STATE: ComCode = ComCode {
    name: "VBOX_E_INVALID_VM_STATE",
    hex: 0x80bb_0002,
};
pub const VBOX_E_FILE_ERROR: ComCode = ComCode {
    name: "VBOX_E_FILE_ERROR",
    hex: 0x80bb_0004,
};
pub const VBOX_E_IPRT_ERROR: ComCode = ComCode {
    name: "VBOX_E_IPRT_ERROR",
    hex: 0x80bb_0005,
};
pub const VBOX_E_INVALID_OBJECT_STATE: ComCode = ComCode {
    name: "VBOX_E_INVALID_OBJECT_STATE",
    hex: 0x80bb_0007,
};
pub const E_INVALIDARG: ComCode = ComCode {
    name: "E_INVALIDARG",
    hex: 0x8007_0057,
};
pub const E_ACCESSDENIED: ComCode = ComCode {
    name: "E_ACCESSDENIED",
    hex: 0x8007_0005,
};
pub const NS_ERROR_FAILURE: ComCode = ComCode {
    name: "NS_ERROR_FAILURE",
    hex: 0x8000_4005,
};
/// As NATNetwork::start's failures print it (research of VBoxManageNATNetwork.cpp).
pub const E_FAIL: ComCode = ComCode {
    name: "E_FAIL",
    hex: 0x8000_4005,
};
pub const E_FAIL_COMPAT: ComCode = ComCode {
    name: "VBOX_E_IPRT_ERROR",
    hex: 0x80bb_0005,
};
pub const VBOX_E_OBJECT_IN_USE: ComCode = ComCode {
    name: "VBOX_E_OBJECT_IN_USE",
    hex: 0x80bb_000c,
};
pub const NS_ERROR_INVALID_ARG: ComCode = ComCode {
    name: "NS_ERROR_INVALID_ARG",
    hex: 0x8007_0057,
};

/// Everything a VBoxManage command can fail with. Rendering lives in `render`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VBoxError {
    /// errorSyntax / errorGetOpt: logo, the message, a blank line, the command's usage; exit 2.
    Syntax {
        message: String,
        usage: &'static str,
    },
    /// A plain `VBoxManage: error: <line>` for each line, with the given exit code
    /// (errorArgument and the many handlers that print RTMsgError themselves).
    Message {
        lines: Vec<String>,
        exit: i32,
    },
    /// A COM error with extended info: message lines, `Details:` and `Context:`; exit 1
    /// unless `exit` says otherwise (some handlers report API failures as syntax errors).
    Com {
        message: Vec<String>,
        code: ComCode,
        component: &'static str,
        interface: &'static str,
        context: String,
        exit: i32,
    },
    /// A COM error without extended info (`Code NAME (0x...) - text (extended info not available)`).
    Bare {
        code: ComCode,
        text: &'static str,
        context: String,
    },
    /// Output already printed; only the exit code is left to return.
    /// An error followed by lines of the handler's own (a COM error, then what the command
    /// made of it).
    Chain {
        first: Box<VBoxError>,
        then: Vec<String>,
        exit: i32,
    },
    Exit(i32),
}

impl VBoxError {
    pub fn syntax(message: impl Into<String>, usage: &'static str) -> VBoxError {
        VBoxError::Syntax {
            message: message.into(),
            usage,
        }
    }

    pub fn argument(message: impl Into<String>) -> VBoxError {
        VBoxError::Message {
            lines: vec![message.into()],
            exit: 2,
        }
    }

    pub fn failure(message: impl Into<String>) -> VBoxError {
        VBoxError::Message {
            lines: vec![message.into()],
            exit: 1,
        }
    }

    pub fn com(
        message: impl Into<String>,
        code: ComCode,
        component: &'static str,
        interface: &'static str,
        context: impl Into<String>,
    ) -> VBoxError {
        VBoxError::Com {
            message: vec![message.into()],
            code,
            component,
            interface,
            context: context.into(),
            exit: 1,
        }
    }

    /// Adds trailing plain error lines after a COM error (e.g. `Failed to start network`).
    /// This error, then one more `VBoxManage: error:` line.
    pub fn and_then_line(self, line: impl Into<String>) -> VBoxError {
        let exit = self.exit_code();
        VBoxError::Chain {
            first: Box::new(self),
            then: vec![line.into()],
            exit,
        }
    }

    pub fn with_exit(self, code: i32) -> VBoxError {
        match self {
            VBoxError::Com {
                message,
                code: c,
                component,
                interface,
                context,
                ..
            } => VBoxError::Com {
                message,
                code: c,
                component,
                interface,
                context,
                exit: code,
            },
            VBoxError::Message { lines, .. } => VBoxError::Message { lines, exit: code },
            other => other,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            VBoxError::Syntax { .. } => 2,
            VBoxError::Message { exit, .. } | VBoxError::Com { exit, .. } => *exit,
            VBoxError::Bare { .. } => 1,
            VBoxError::Chain { exit, .. } => *exit,
            VBoxError::Exit(code) => *code,
        }
    }

    /// The stderr text, as VBoxManage prints it on Linux, for program name `prog` and the given
    /// logo.
    pub fn render(&self, prog: &str, logo: &str) -> String {
        self.render_on(prog, logo, Host::Linux)
    }

    /// The stderr text, as VBoxManage prints it on `host`.
    pub fn render_on(&self, prog: &str, logo: &str, host: Host) -> String {
        let mut out = String::new();
        match self {
            VBoxError::Syntax { message, usage } => {
                out.push_str(logo);
                out.push_str(&format!("{prog}: error: {message}\n"));
                if !usage.is_empty() {
                    out.push('\n');
                    out.push_str(usage);
                    if !usage.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
            VBoxError::Message { lines, .. } => {
                for line in lines {
                    out.push_str(&format!("{prog}: error: {line}\n"));
                }
            }
            VBoxError::Com {
                message,
                code,
                component,
                interface,
                context,
                ..
            } => {
                for line in message {
                    out.push_str(&format!("{prog}: error: {line}\n"));
                }
                out.push_str(&format!(
                    "{prog}: error: Details: code {} (0x{:08x}), component {component}, interface {interface}, callee {}\n",
                    host.code_name(code.name),
                    code.hex,
                    host.com_callee()
                ));
                // GlueHandleComErrorNoCtx prints no context line.
                if !context.is_empty() {
                    out.push_str(&format!("{prog}: error: Context: {context}\n"));
                }
            }
            VBoxError::Bare {
                code,
                text,
                context,
            } => {
                out.push_str(&format!(
                    "{prog}: error: Code {} (0x{:08x}) - {text} (extended info not available)\n",
                    host.code_name(code.name),
                    code.hex
                ));
                out.push_str(&format!("{prog}: error: Context: {context}\n"));
            }
            VBoxError::Chain { first, then, .. } => {
                out.push_str(&first.render_on(prog, logo, host));
                for line in then {
                    out.push_str(&format!("{prog}: error: {line}\n"));
                }
            }
            VBoxError::Exit(_) => {}
        }
        out
    }
}

/// `Context: "<call>" at line N of file F` — line numbers are plausible, never to be matched on.
pub fn context(call: &str, line: u32, file: &str) -> String {
    format!("\"{call}\" at line {line} of file {file}")
}

/// The lock error every write-lock command reports while a session holds the VM.
pub fn locked_for_session(name: &str, file: &str) -> VBoxError {
    VBoxError::com(
        format!("The machine '{name}' is already locked for a session (or being unlocked)"),
        VBOX_E_INVALID_OBJECT_STATE,
        "MachineWrap",
        "IMachine",
        context("LockMachine(a->session, LockType_Write)", 640, file),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn com_error_has_three_lines() {
        let e = locked_for_session("lab-web1", "VBoxManageModifyVM.cpp");
        let text = e.render("VBoxManage", "");
        assert_eq!(
            text,
            "VBoxManage: error: The machine 'lab-web1' is already locked for a session (or being unlocked)\n\
             VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n\
             VBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 640 of file VBoxManageModifyVM.cpp\n"
        );
        assert_eq!(e.exit_code(), 1);
    }
}
