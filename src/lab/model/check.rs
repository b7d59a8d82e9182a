//! A validated check: what `labctl verify` proves about the lab.

use std::time::Duration;

use super::secret::BasicAuth;
use super::template_text::TemplateText;
use crate::lab::raw::Visibility;
use crate::lab::source::Span;

/// How a balancer's response names the backend that served it.
#[derive(Debug, Clone)]
pub enum Identify {
    /// The first group of this regular expression, matched against the body (or, for a
    /// WebSocket, the handshake headers and first message).
    Body(regex::Regex),
    /// The value of this response header.
    Header(String),
}

/// A header expectation: `Name: regex`.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// Header name (case-insensitive).
    pub name: String,
    /// Pattern the value must match (a template).
    pub pattern: TemplateText,
}

/// What a check does and expects.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// ICMP echo to each target, from the host or from `from`.
    Ping {
        /// VMs pinged.
        targets: Vec<String>,
        /// VM the pings go out from (None: the host).
        from: Option<String>,
        /// Network whose address is pinged (None: the SSH address).
        network: Option<String>,
    },
    /// TCP connect to `port` on each target.
    Port {
        /// The port.
        port: u16,
        /// VMs connected to.
        targets: Vec<String>,
        /// VM the connections go out from (None: the host).
        from: Option<String>,
        /// Network whose address is used.
        network: Option<String>,
    },
    /// An HTTP request (per target when `targets` is not empty).
    Http {
        /// URL template.
        url: TemplateText,
        /// VMs the URL is rendered for, as `vm`.
        targets: Vec<String>,
        /// VM the request goes out from (None: the host).
        from: Option<String>,
        /// Expected status.
        status: u16,
        /// Regex the body must match.
        body: Option<TemplateText>,
        /// Header that must be present and match.
        header: Option<HeaderMatch>,
        /// Basic authentication sent with the request.
        auth: Option<BasicAuth>,
    },
    /// A shell command on each target.
    Command {
        /// The command template.
        command: TemplateText,
        /// VMs it runs on.
        targets: Vec<String>,
        /// Expected exit status.
        exit: i32,
        /// Regex the output must match.
        output: Option<TemplateText>,
    },
    /// Requests on new connections spread evenly, in a stable rotation.
    RoundRobin {
        /// Balancer URL template.
        url: TemplateText,
        /// Expected backends (lab VM names).
        backends: Vec<String>,
        /// How a response names its backend.
        identify: Identify,
        /// Number of requests.
        requests: u32,
    },
    /// New connections go to the least-loaded backend while others are held.
    LeastConn {
        /// Balancer URL template (`ws://` for WebSocket).
        url: TemplateText,
        /// Expected backends.
        backends: Vec<String>,
        /// How a response names its backend.
        identify: Identify,
        /// Connections held open.
        hold: u32,
        /// New requests made while holding.
        requests: u32,
    },
    /// With one backend taken away, every request still succeeds on the others.
    Failover {
        /// Balancer URL template.
        url: TemplateText,
        /// Expected backends.
        backends: Vec<String>,
        /// How a response names its backend.
        identify: Identify,
        /// The backend taken away.
        victim: String,
        /// Command run on the victim to take it away.
        stop: TemplateText,
        /// Command run on the victim afterwards.
        start: Option<TemplateText>,
        /// Requests made while it is away.
        requests: u32,
    },
}

impl CheckKind {
    /// The key that names this kind in the lab file.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Ping { .. } => "ping",
            Self::Port { .. } => "port",
            Self::Http { .. } => "http",
            Self::Command { .. } => "command",
            Self::RoundRobin { .. } => "round_robin",
            Self::LeastConn { .. } => "least_conn",
            Self::Failover { .. } => "failover",
        }
    }
}

/// One check with its grading and retry settings.
#[derive(Debug, Clone)]
pub struct Check {
    /// Name in reports.
    pub name: String,
    /// What it checks.
    pub kind: CheckKind,
    /// Weight in the grade.
    pub weight: f64,
    /// Extra attempts before failing.
    pub retries: u32,
    /// Pause between attempts.
    pub interval: Duration,
    /// Time one attempt may take.
    pub timeout: Duration,
    /// Gradescope visibility.
    pub visibility: Visibility,
    /// Where it is defined.
    pub span: Span,
}
