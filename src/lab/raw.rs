//! The lab file exactly as written: a serde mirror of the TOML, one struct per table.
//!
//! These types define the file format (the JSON Schema printed by `labctl schema` is generated
//! from them) and nothing else: every field is optional or a plain value, and the rules that
//! tie fields together live in `validate`, which turns this into the model.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::spanned::Sp;

/// A labctl lab file: one lab of VirtualBox VMs, their networks, how to provision them and how
/// to prove that the lab works.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "labctl lab file")]
pub struct RawLab {
    /// What the lab is.
    pub lab: Sp<RawLabInfo>,
    /// The lab's own values, available to templates as `vars.NAME`.
    #[serde(default)]
    pub vars: IndexMap<String, serde_json::Value>,
    /// Settings every VM gets unless it sets its own.
    #[serde(default)]
    pub defaults: Option<Sp<RawDefaults>>,
    /// Base images, by name: an appliance (`.ova`) imported once and shared by linked clones,
    /// or an existing VM to clone.
    #[serde(default)]
    pub images: IndexMap<Sp<String>, Sp<RawImage>>,
    /// Networks, by name.
    #[serde(default)]
    pub networks: IndexMap<Sp<String>, Sp<RawNetwork>>,
    /// VMs, by name. A VM with `count = N` stands for N replicas named NAME1 … NAMEN.
    #[serde(default)]
    pub vms: IndexMap<Sp<String>, Sp<RawVm>>,
    /// Named provisioning steps that VMs can share with `{ use = "NAME" }`.
    #[serde(default)]
    pub steps: IndexMap<Sp<String>, Sp<RawStep>>,
    /// What `labctl verify` checks, in order.
    #[serde(default)]
    pub checks: Vec<Sp<RawCheck>>,
}

/// The `[lab]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLabInfo {
    /// The lab's name: lowercase letters, digits and `-`. VMs are named `NAME-VM` in
    /// VirtualBox and grouped under `/labctl/NAME`.
    pub name: Sp<String>,
    /// One or two sentences for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Prefix of every VM's VirtualBox name (default: the lab name and `-`).
    #[serde(default)]
    pub vm_prefix: Option<Sp<String>>,
}

/// The `[defaults]` table.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Image of VMs that do not name one.
    #[serde(default)]
    pub image: Option<Sp<String>>,
    /// Memory in MB (default 512).
    #[serde(default)]
    pub memory: Option<Sp<u32>>,
    /// Virtual CPUs (default 1).
    #[serde(default)]
    pub cpus: Option<Sp<u32>>,
    /// NIC model of every adapter that does not set `type`.
    #[serde(default)]
    pub nic_type: Option<Sp<NicType>>,
    /// Steps run on every VM before its own.
    #[serde(default)]
    pub provision: Option<Vec<Sp<RawStep>>>,
}

/// An `[images.NAME]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImage {
    /// Path of an appliance (`.ova` or `.ovf`), relative to the lab file.
    #[serde(default)]
    pub ova: Option<Sp<String>>,
    /// Name or UUID of an existing VirtualBox VM to clone instead of an appliance.
    #[serde(default)]
    pub vm: Option<Sp<String>>,
    /// Snapshot that linked clones are made from (default `labctl-base`).
    #[serde(default)]
    pub snapshot: Option<Sp<String>>,
    /// Login user of the image.
    pub user: Sp<String>,
    /// Login password (prefer `password_env`).
    #[serde(default)]
    pub password: Option<Sp<String>>,
    /// Environment variable that holds the login password.
    #[serde(default)]
    pub password_env: Option<Sp<String>>,
    /// Path of the private key (relative to the lab file; `~` is the home folder).
    #[serde(default)]
    pub key: Option<Sp<String>>,
    /// Environment variable that holds the private key (its text, or a path to it).
    #[serde(default)]
    pub key_env: Option<Sp<String>>,
    /// SSH port inside the guest (default 22).
    #[serde(default)]
    pub ssh_port: Option<Sp<u16>>,
}

/// A `[networks.NAME]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// What kind of VirtualBox network this is.
    #[serde(rename = "type")]
    pub kind: Sp<NetworkType>,
    /// VirtualBox's name for it: the NAT network or internal network name, or the host-only
    /// interface to use (e.g. `vboxnet0`). Default: found by address, or created.
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// The network's IPv4 range, e.g. `192.168.56.0/24` (host-only and NAT networks).
    #[serde(default)]
    pub cidr: Option<Sp<String>>,
    /// The host's address on a host-only network (default: the first address of `cidr`).
    #[serde(default)]
    pub host: Option<Sp<String>>,
    /// Whether VirtualBox runs a DHCP server on it (default: on for host-only and NAT
    /// networks). VMs with a fixed `ip` get it from this server.
    #[serde(default)]
    pub dhcp: Option<Sp<bool>>,
    /// The DHCP server's own address (default: `.100` of a /24, or the middle of the range).
    #[serde(default)]
    pub dhcp_server: Option<Sp<String>>,
    /// Addresses the DHCP server leases to VMs without a fixed `ip`, as `FIRST-LAST`.
    #[serde(default)]
    pub dhcp_range: Option<Sp<String>>,
    /// Port forwards of a NAT network from the host into VMs.
    #[serde(default)]
    pub forwards: Option<Vec<Sp<RawForward>>>,
}

/// The kinds of VirtualBox network a lab can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// A host-only network: a host interface (`vboxnetN`) the host and VMs share.
    Hostonly,
    /// A VirtualBox NAT network (`NatNetwork`): VMs see each other and reach out through NAT.
    Natnetwork,
    /// Plain per-VM NAT (the VM alone behind 10.0.2.2), with port forwards.
    Nat,
    /// An internal network: VMs only, no host address.
    Internal,
}

/// A port forward from the host into a VM.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawForward {
    /// Rule name (default: derived from the VM and ports).
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub proto: Option<Sp<Protocol>>,
    /// Host address to listen on (default: every address of the host, as VirtualBox does
    /// with an empty host IP).
    #[serde(default)]
    pub host_ip: Option<Sp<String>>,
    /// Host port.
    pub host_port: Sp<u16>,
    /// The VM forwarded to (NAT networks only; a NIC's own forwards go to its VM).
    #[serde(default)]
    pub vm: Option<Sp<String>>,
    /// Port in the guest.
    pub guest_port: Sp<u16>,
}

/// Transport protocol of a port forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// A `[vms.NAME]` table.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVm {
    /// Image the VM is cloned from (default: `defaults.image`, or the only image).
    #[serde(default)]
    pub image: Option<Sp<String>>,
    /// Memory in MB.
    #[serde(default)]
    pub memory: Option<Sp<u32>>,
    /// Virtual CPUs.
    #[serde(default)]
    pub cpus: Option<Sp<u32>>,
    /// Number of identical replicas, named NAME1 … NAMEN; fixed addresses and MACs count up.
    #[serde(default)]
    pub count: Option<Sp<u32>>,
    /// Network adapters in slot order (adapter 1 first), at most 8.
    #[serde(default)]
    pub nics: Option<Vec<Sp<RawNic>>>,
    /// VMs (or replica groups) that must be up and provisioned before this one starts.
    #[serde(default)]
    pub after: Option<Vec<Sp<String>>>,
    /// Provisioning steps, run in order over SSH.
    #[serde(default)]
    pub provision: Option<Vec<Sp<RawStep>>>,
    /// Network whose address labctl uses for SSH (default: the first host-only NIC with an
    /// address, else a plain NAT port forward).
    #[serde(default)]
    pub ssh_net: Option<Sp<String>>,
    /// Free text stored in VirtualBox with the VM.
    #[serde(default)]
    pub description: Option<String>,
    /// A condition, a MiniJinja expression over `vars` and `lab` (e.g.
    /// `vars.discovery == "consul"`): the VM (all its replicas) exists only when it is true. Checked like a template;
    /// `plan` lists what it leaves out.
    #[serde(default)]
    pub when: Option<Sp<String>>,
}

/// One network adapter of a VM.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNic {
    /// The network (a key of `[networks]`).
    pub net: Sp<String>,
    /// Fixed IPv4 address, handed out by the network's DHCP server.
    #[serde(default)]
    pub ip: Option<Sp<String>>,
    /// MAC address, 12 hex digits (`:`/`-` separators allowed); default: generated with
    /// VirtualBox's 08:00:27 prefix.
    #[serde(default)]
    pub mac: Option<Sp<String>>,
    /// NIC model.
    #[serde(default, rename = "type")]
    pub nic_type: Option<Sp<NicType>>,
    /// Whether the virtual cable is plugged in (default true).
    #[serde(default)]
    pub cable: Option<Sp<bool>>,
    /// Port forwards of a plain NAT adapter.
    #[serde(default)]
    pub forwards: Option<Vec<Sp<RawForward>>>,
}

/// VirtualBox NIC models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum NicType {
    /// AMD PCnet-PCI II.
    #[serde(rename = "Am79C970A")]
    Am79C970A,
    /// AMD PCnet-FAST III.
    #[serde(rename = "Am79C973")]
    Am79C973,
    /// Intel PRO/1000 MT Desktop.
    #[serde(rename = "82540EM")]
    I82540EM,
    /// Intel PRO/1000 T Server.
    #[serde(rename = "82543GC")]
    I82543GC,
    /// Intel PRO/1000 MT Server.
    #[serde(rename = "82545EM")]
    I82545EM,
    /// Paravirtualised network adapter.
    #[serde(rename = "virtio")]
    Virtio,
}

/// A provisioning step: exactly one of `run`, `script`, `upload`, `template`, `text`, `use`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Name shown in progress and errors (default: derived from the step).
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// A shell command (a template: lab facts are available).
    #[serde(default)]
    pub run: Option<Sp<String>>,
    /// A local script (relative to the lab file), uploaded and run.
    #[serde(default)]
    pub script: Option<Sp<String>>,
    /// Arguments of `script` (templates).
    #[serde(default)]
    pub args: Option<Vec<Sp<String>>>,
    /// A local file or folder (relative to the lab file) uploaded to `to`.
    #[serde(default)]
    pub upload: Option<Sp<String>>,
    /// A local template file (relative to the lab file) rendered with lab facts and uploaded
    /// to `to`.
    #[serde(default)]
    pub template: Option<Sp<String>>,
    /// An inline template rendered with lab facts and uploaded to `to`.
    #[serde(default)]
    pub text: Option<Sp<String>>,
    /// A named step from `[steps]`.
    #[serde(default, rename = "use")]
    pub use_step: Option<Sp<String>>,
    /// Destination path in the guest (`upload`, `template`, `text`).
    #[serde(default)]
    pub to: Option<Sp<String>>,
    /// Octal file mode of what is uploaded, e.g. `"0644"`.
    #[serde(default)]
    pub mode: Option<Sp<String>>,
    /// Owner (`user` or `user:group`) of what is uploaded.
    #[serde(default)]
    pub owner: Option<Sp<String>>,
    /// Run as root through `sudo` (default true).
    #[serde(default)]
    pub sudo: Option<bool>,
    /// Environment variables for `run` and `script`.
    #[serde(default)]
    pub env: Option<IndexMap<String, String>>,
    /// A condition, a MiniJinja expression over `vars` and `lab` (e.g.
    /// `vars.discovery == "consul"`): the step runs only when it is true. Checked like a template;
    /// `plan` lists what it leaves out.
    #[serde(default)]
    pub when: Option<Sp<String>>,
    /// Seconds before the step is stopped and fails (default 600).
    #[serde(default)]
    pub timeout: Option<Sp<f64>>,
}

/// A check: exactly one of `ping`, `port`, `http`, `command`, `round_robin`, `least_conn`,
/// `failover`, with the keys that kind uses.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Name in reports (default: derived from the check).
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// A condition, a MiniJinja expression over `vars` and `lab` (e.g.
    /// `vars.discovery == "consul"`): the check is part of the lab only when it is true. Checked like a template;
    /// `plan` lists what it leaves out.
    #[serde(default)]
    pub when: Option<Sp<String>>,
    /// Weight in the grade (default 1).
    #[serde(default)]
    pub weight: Option<Sp<f64>>,
    /// Extra attempts before the check fails (default 2).
    #[serde(default)]
    pub retries: Option<Sp<u32>>,
    /// Seconds between attempts (default 1).
    #[serde(default)]
    pub interval: Option<Sp<f64>>,
    /// Seconds one attempt may take (default 10).
    #[serde(default)]
    pub timeout: Option<Sp<f64>>,
    /// Who sees the result in Gradescope: `visible` (default), `hidden`, `after_due_date`,
    /// `after_published`.
    #[serde(default)]
    pub visibility: Option<Sp<Visibility>>,

    /// Ping this VM or replica group.
    #[serde(default)]
    pub ping: Option<Sp<String>>,
    /// Connect to this TCP port on the VMs named by `on`.
    #[serde(default)]
    pub port: Option<Sp<u16>>,
    /// Fetch this URL (a template; with `on`, once per VM as `vm`).
    #[serde(default)]
    pub http: Option<Sp<String>>,
    /// Run this shell command on the VMs named by `on`.
    #[serde(default)]
    pub command: Option<Sp<String>>,
    /// Send `requests` requests on new connections to this URL and expect them spread over
    /// `backends` in a stable rotation.
    #[serde(default)]
    pub round_robin: Option<Sp<String>>,
    /// Hold `hold` long connections (WebSocket for `ws://` URLs) to this URL, then expect new
    /// ones to go to the least-loaded of `backends`.
    #[serde(default)]
    pub least_conn: Option<Sp<String>>,
    /// Take `victim` away with `stop`, expect every request to this URL to succeed on the other
    /// `backends`, then bring it back with `start`.
    #[serde(default)]
    pub failover: Option<Sp<String>>,

    /// VM or replica group the check is about (`port`, `command`, `http`).
    #[serde(default)]
    pub on: Option<Sp<String>>,
    /// VM the check runs from (default: the host).
    #[serde(default)]
    pub from: Option<Sp<String>>,
    /// Network whose address is used for the target VM (default: its SSH network).
    #[serde(default)]
    pub net: Option<Sp<String>>,

    /// Expected HTTP status (default 200).
    #[serde(default)]
    pub status: Option<Sp<u16>>,
    /// Regular expression the HTTP body must match (a template).
    #[serde(default)]
    pub body: Option<Sp<String>>,
    /// Header the response must carry, as `Name: regex`.
    #[serde(default)]
    pub header: Option<Sp<String>>,
    /// User sent with HTTP basic authentication (an `http` check from the host).
    #[serde(default)]
    pub user: Option<Sp<String>>,
    /// The user's password, written here (prefer `password_env`); never printed.
    #[serde(default)]
    pub password: Option<Sp<String>>,
    /// Environment variable holding the user's password.
    #[serde(default)]
    pub password_env: Option<Sp<String>>,
    /// Expected exit status of `command` (default 0).
    #[serde(default)]
    pub exit: Option<Sp<i32>>,
    /// Regular expression the output of `command` must match (a template).
    #[serde(default)]
    pub output: Option<Sp<String>>,

    /// VMs or replica groups behind the balancer.
    #[serde(default)]
    pub backends: Option<Vec<Sp<String>>>,
    /// How a response names its backend: a regular expression whose first group is matched
    /// against the body (or, as `header:NAME`, a response header); the value must be a
    /// backend's name, VirtualBox name or address.
    #[serde(default)]
    pub identify: Option<Sp<String>>,
    /// Number of requests (default: 3 per backend).
    #[serde(default)]
    pub requests: Option<Sp<u32>>,
    /// Long connections held open during `least_conn` (default: one per backend but one).
    #[serde(default)]
    pub hold: Option<Sp<u32>>,
    /// The backend `failover` takes away.
    #[serde(default)]
    pub victim: Option<Sp<String>>,
    /// Command run on `victim` to take it away.
    #[serde(default)]
    pub stop: Option<Sp<String>>,
    /// Command run on `victim` afterwards to bring it back.
    #[serde(default)]
    pub start: Option<Sp<String>>,
}

/// Gradescope test visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Always shown.
    Visible,
    /// Never shown to students.
    Hidden,
    /// Shown after the due date.
    AfterDueDate,
    /// Shown once grades are published.
    AfterPublished,
}

/// A file of checks only: an instructor's rubric (`labctl verify --checks FILE`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "labctl checks file")]
pub struct RawChecksFile {
    /// The checks, as in a lab file's `[[checks]]`.
    #[serde(default)]
    pub checks: Vec<Sp<RawCheck>>,
}
