//! Validation of `[[checks]]`: one kind per check, the keys that kind uses, resolvable targets.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use super::Validator;
use crate::lab::diagnostic::DiagnosticKind;
use crate::lab::model::{
    BasicAuth, Check, CheckKind, HeaderMatch, Identify, Network, Password, TemplateText, Vm,
};
use crate::lab::raw::{RawCheck, Visibility};
use crate::lab::spanned::Sp;
use crate::lab::suggest::{did_you_mean, one_of};
use crate::lab::template_check::TemplateUse;

const KINDS: &[&str] = &[
    "ping",
    "port",
    "http",
    "command",
    "round_robin",
    "least_conn",
    "failover",
];

/// The keys (besides the common ones) each kind of check accepts.
fn accepted_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "ping" => &["from", "net"],
        "port" => &["on", "from", "net"],
        "http" => &[
            "on",
            "from",
            "status",
            "body",
            "header",
            "user",
            "password",
            "password_env",
        ],
        "command" => &["on", "exit", "output"],
        "round_robin" => &["backends", "identify", "requests"],
        "least_conn" => &["backends", "identify", "hold", "requests"],
        _ => &[
            "backends", "identify", "victim", "stop", "start", "requests",
        ],
    }
}

impl Validator<'_> {
    pub(crate) fn checks(
        &mut self,
        raw: &[Sp<RawCheck>],
        vms: &[Vm],
        networks: &[Network],
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let groups: Vec<String> = self.scope.groups.clone();
        for (index, check) in raw.iter().enumerate() {
            let shown = check.get().name.as_ref().map_or_else(
                || format!("check {}", index + 1),
                |name| format!("check `{}`", name.get()),
            );
            if !self.holds(check.get().when.as_ref(), shown) {
                continue;
            }
            let Some(resolved) = self.check(check, index, vms, networks, &groups) else {
                continue;
            };
            let range = check.get().name.as_ref().map_or(check.range(), Sp::range);
            self.duplicate(
                &mut names,
                resolved.name.clone(),
                range,
                format!("two checks are named `{}`", resolved.name),
            );
            checks.push(resolved);
        }
        checks
    }

    fn check(
        &mut self,
        check: &Sp<RawCheck>,
        index: usize,
        vms: &[Vm],
        networks: &[Network],
        groups: &[String],
    ) -> Option<Check> {
        let raw = check.get();
        let kinds: Vec<(&str, Range<usize>)> = [
            ("ping", raw.ping.as_ref().map(Sp::range)),
            ("port", raw.port.as_ref().map(Sp::range)),
            ("http", raw.http.as_ref().map(Sp::range)),
            ("command", raw.command.as_ref().map(Sp::range)),
            ("round_robin", raw.round_robin.as_ref().map(Sp::range)),
            ("least_conn", raw.least_conn.as_ref().map(Sp::range)),
            ("failover", raw.failover.as_ref().map(Sp::range)),
        ]
        .into_iter()
        .filter_map(|(key, range)| range.map(|range| (key, range)))
        .collect();
        let kind = match kinds.as_slice() {
            [] => {
                self.error(
                    DiagnosticKind::MissingKey,
                    check.range(),
                    format!(
                        "check {} checks nothing: set one of {}",
                        index + 1,
                        one_of(KINDS)
                    ),
                )
                .set_label("what should it check?");
                return None;
            }
            [(kind, _)] => *kind,
            [(first, _), (second, range), ..] => {
                self.error(
                    DiagnosticKind::Conflict,
                    range.clone(),
                    format!(
                        "a check is of one kind, but this one sets both `{first}` and `{second}`"
                    ),
                )
                .set_label("split it into two checks");
                return None;
            }
        };
        self.check_keys_fit(raw, kind);
        let vm_names: Vec<&str> = vms.iter().map(|vm| vm.name.as_str()).collect();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let from = raw
            .from
            .as_ref()
            .and_then(|from| self.one_vm(from, &vm_names, "`from`"));
        let network = raw.net.as_ref().and_then(|net| {
            let known: Vec<&str> = networks
                .iter()
                .map(|network| network.name.as_str())
                .collect();
            if known.contains(&net.get().as_str()) {
                Some(net.get().clone())
            } else {
                let help = did_you_mean(net.get(), &known);
                self.error(
                    DiagnosticKind::UnknownReference,
                    net.range(),
                    format!("unknown network `{}`", net.get()),
                )
                .set_label(help.unwrap_or_else(|| "no such network".into()));
                None
            }
        });
        let on = raw
            .on
            .as_ref()
            .map(|on| self.targets(on, vms, &vm_names, &groups));
        let per_vm = if on.is_some() {
            TemplateUse::PerVm
        } else {
            TemplateUse::Global
        };
        let require_on = |validator: &mut Self, what: &str| -> Option<Vec<String>> {
            match &on {
                Some(targets) => targets.clone(),
                None => {
                    validator
                        .error(
                            DiagnosticKind::MissingKey,
                            kinds[0].1.clone(),
                            format!(
                                "a `{what}` check needs `on`, the VM or replica group it is about"
                            ),
                        )
                        .set_label("on which VM?");
                    None
                }
            }
        };
        let backends = |validator: &mut Self| -> Option<Vec<String>> {
            match &raw.backends {
                None => {
                    validator
                        .error(
                            DiagnosticKind::MissingKey,
                            kinds[0].1.clone(),
                            format!(
                                "a `{kind}` check needs `backends`, the VMs behind the balancer"
                            ),
                        )
                        .set_label("behind which VMs?");
                    None
                }
                Some(list) => {
                    let mut all = Vec::new();
                    for entry in list {
                        all.extend(validator.targets(entry, vms, &vm_names, &groups)?);
                    }
                    if all.is_empty() {
                        validator
                            .error(
                                DiagnosticKind::InvalidValue,
                                kinds[0].1.clone(),
                                "`backends` is empty",
                            )
                            .set_label("name at least one VM");
                        return None;
                    }
                    Some(all)
                }
            }
        };

        let check_kind = match kind {
            "ping" => {
                let target = raw.ping.as_ref().expect("kind checked");
                CheckKind::Ping {
                    targets: self.targets(target, vms, &vm_names, &groups)?,
                    from,
                    network,
                }
            }
            "port" => CheckKind::Port {
                port: *raw.port.as_ref().expect("kind checked").get(),
                targets: require_on(self, "port")?,
                from,
                network,
            },
            "http" => {
                let url = self.template_text(raw.http.as_ref().expect("kind checked"));
                self.check_template(&url, per_vm);
                let body = raw
                    .body
                    .as_ref()
                    .and_then(|body| self.pattern(body, per_vm));
                let header = raw
                    .header
                    .as_ref()
                    .and_then(|header| self.header(header, per_vm));
                let auth = self.basic_auth(raw);
                CheckKind::Http {
                    url,
                    targets: on.clone().flatten().unwrap_or_default(),
                    from,
                    status: raw.status.as_ref().map_or(200, |status| *status.get()),
                    body,
                    header,
                    auth,
                }
            }
            "command" => {
                let command = self.template_text(raw.command.as_ref().expect("kind checked"));
                self.check_template(&command, TemplateUse::PerVm);
                let output = raw
                    .output
                    .as_ref()
                    .and_then(|output| self.pattern(output, TemplateUse::PerVm));
                CheckKind::Command {
                    command,
                    targets: require_on(self, "command")?,
                    exit: raw.exit.as_ref().map_or(0, |exit| *exit.get()),
                    output,
                }
            }
            _ => {
                let url_text = match kind {
                    "round_robin" => raw.round_robin.as_ref(),
                    "least_conn" => raw.least_conn.as_ref(),
                    _ => raw.failover.as_ref(),
                }
                .expect("kind checked");
                let url = self.template_text(url_text);
                self.check_template(&url, TemplateUse::Global);
                let backends = backends(self)?;
                let identify = self.identify(raw, kinds[0].1.clone(), kind)?;
                let requests = raw
                    .requests
                    .as_ref()
                    .map(|requests| (*requests.get(), requests.range()));
                match kind {
                    "round_robin" => {
                        let requests = match requests {
                            Some((count, range)) if (count as usize) < backends.len() => {
                                self.error(
                                    DiagnosticKind::InvalidValue,
                                    range,
                                    format!(
                                        "{count} requests cannot show a rotation over {} backends",
                                        backends.len()
                                    ),
                                )
                                .set_label(format!("expected at least {}", backends.len()));
                                return None;
                            }
                            Some((count, _)) => count,
                            None => 3 * backends.len() as u32,
                        };
                        CheckKind::RoundRobin {
                            url,
                            backends,
                            identify,
                            requests,
                        }
                    }
                    "least_conn" => {
                        if backends.len() < 2 {
                            self.error(
                                DiagnosticKind::InvalidValue,
                                kinds[0].1.clone(),
                                "least-connections needs at least two backends to compare",
                            )
                            .set_label("one backend");
                            return None;
                        }
                        let hold = raw
                            .hold
                            .as_ref()
                            .map_or(backends.len() as u32 - 1, |hold| *hold.get());
                        CheckKind::LeastConn {
                            url,
                            hold,
                            requests: requests
                                .map_or(2 * backends.len() as u32, |(count, _)| count),
                            backends,
                            identify,
                        }
                    }
                    _ => {
                        let victim = match &raw.victim {
                            Some(victim) => {
                                let name = self.one_vm(victim, &vm_names, "`victim`")?;
                                if !backends.contains(&name) {
                                    self.error(
                                        DiagnosticKind::Conflict,
                                        victim.range(),
                                        format!("victim `{name}` is not one of the `backends`"),
                                    )
                                    .set_label(format!("expected one of {}", one_of(&backends)));
                                    return None;
                                }
                                name
                            }
                            None => {
                                self.error(
                                    DiagnosticKind::MissingKey,
                                    kinds[0].1.clone(),
                                    "a `failover` check needs `victim`, the backend it takes away",
                                )
                                .set_label("which backend fails?");
                                return None;
                            }
                        };
                        let Some(stop) = &raw.stop else {
                            self.error(
                                DiagnosticKind::MissingKey,
                                kinds[0].1.clone(),
                                "a `failover` check needs `stop`, the command that takes the victim away",
                            )
                            .set_label("how does the victim fail?")
                            .set_help(Some("e.g. `stop = \"systemctl stop app\"` and `start = \"systemctl start app\"`".into()));
                            return None;
                        };
                        let stop = self.template_text(stop);
                        self.check_template(&stop, TemplateUse::PerVm);
                        let start = raw.start.as_ref().map(|start| self.template_text(start));
                        if let Some(start) = &start {
                            self.check_template(start, TemplateUse::PerVm);
                        }
                        if backends.len() < 2 {
                            self.error(
                                DiagnosticKind::InvalidValue,
                                kinds[0].1.clone(),
                                "failover needs at least two backends: one to lose and one to keep serving",
                            )
                            .set_label("one backend");
                            return None;
                        }
                        CheckKind::Failover {
                            url,
                            requests: requests
                                .map_or(2 * backends.len() as u32, |(count, _)| count),
                            backends,
                            identify,
                            victim,
                            stop,
                            start,
                        }
                    }
                }
            }
        };
        let (default_timeout, default_retries) = match kind {
            "round_robin" | "least_conn" => (30.0, 2),
            "failover" => (60.0, 1),
            _ => (10.0, 2),
        };
        let timeout = self.seconds(raw.timeout.as_ref(), default_timeout, false, "timeout");
        let interval = self.seconds(raw.interval.as_ref(), 1.0, true, "interval");
        let weight = match &raw.weight {
            Some(weight) if !(*weight.get() >= 0.0 && weight.get().is_finite()) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    weight.range(),
                    format!("weight {} is negative", weight.get()),
                )
                .set_label("expected 0 or more");
                1.0
            }
            Some(weight) => *weight.get(),
            None => 1.0,
        };
        let name = raw
            .name
            .as_ref()
            .map(|name| name.get().clone())
            .unwrap_or_else(|| default_check_name(&check_kind, raw));
        Some(Check {
            name,
            kind: check_kind,
            weight,
            retries: raw
                .retries
                .as_ref()
                .map_or(default_retries, |retries| *retries.get()),
            interval,
            timeout,
            visibility: raw
                .visibility
                .as_ref()
                .map_or(Visibility::Visible, |visibility| *visibility.get()),
            span: self.span(check.range()),
        })
    }

    /// `user` with `password` or `password_env`: basic authentication, sent from the host only
    /// (a request from a VM would carry the password on that VM's command line).
    fn basic_auth(&mut self, raw: &RawCheck) -> Option<BasicAuth> {
        let password = match (&raw.password, &raw.password_env) {
            (Some(_), Some(env)) => {
                self.error(
                    DiagnosticKind::Conflict,
                    env.range(),
                    "`password` and `password_env` both set: keep one",
                )
                .set_label("conflicts with `password`");
                return None;
            }
            (Some(password), None) => Some((Password::Literal(password.get().clone()), password)),
            (None, Some(env)) => Some((Password::Env(env.get().clone()), env)),
            (None, None) => None,
        };
        match (&raw.user, password) {
            (None, None) => None,
            (None, Some((_, given))) => {
                self.error(
                    DiagnosticKind::MissingKey,
                    given.range(),
                    "a password without `user`: basic authentication needs both",
                )
                .set_label("whose password?");
                None
            }
            (Some(user), None) => {
                self.error(
                    DiagnosticKind::MissingKey,
                    user.range(),
                    "`user` without a password: set `password_env` (or `password`)",
                )
                .set_label("no password for this user");
                None
            }
            (Some(user), Some((password, _))) => {
                if let Some(from) = &raw.from {
                    self.error(
                        DiagnosticKind::Conflict,
                        from.range(),
                        "an `http` check with `user` is sent from the host only",
                    )
                    .set_label("the password would be on this VM's command line")
                    .set_help(Some(
                        "remove `from`, or check from the VM with a `command` check".into(),
                    ));
                    return None;
                }
                Some(BasicAuth {
                    user: user.get().clone(),
                    password,
                })
            }
        }
    }

    fn check_keys_fit(&mut self, raw: &RawCheck, kind: &str) {
        let present: [(&str, Option<Range<usize>>); 19] = [
            ("on", raw.on.as_ref().map(Sp::range)),
            ("from", raw.from.as_ref().map(Sp::range)),
            ("net", raw.net.as_ref().map(Sp::range)),
            ("status", raw.status.as_ref().map(Sp::range)),
            ("body", raw.body.as_ref().map(Sp::range)),
            ("header", raw.header.as_ref().map(Sp::range)),
            ("user", raw.user.as_ref().map(Sp::range)),
            ("password", raw.password.as_ref().map(Sp::range)),
            ("password_env", raw.password_env.as_ref().map(Sp::range)),
            ("exit", raw.exit.as_ref().map(Sp::range)),
            ("output", raw.output.as_ref().map(Sp::range)),
            (
                "backends",
                raw.backends
                    .as_ref()
                    .and_then(|list| list.first())
                    .map(Sp::range),
            ),
            ("identify", raw.identify.as_ref().map(Sp::range)),
            ("requests", raw.requests.as_ref().map(Sp::range)),
            ("hold", raw.hold.as_ref().map(Sp::range)),
            ("victim", raw.victim.as_ref().map(Sp::range)),
            ("stop", raw.stop.as_ref().map(Sp::range)),
            ("start", raw.start.as_ref().map(Sp::range)),
            ("port", None),
        ];
        let accepted = accepted_keys(kind);
        for (key, range) in present {
            let Some(range) = range else { continue };
            if !accepted.contains(&key) {
                self.error(
                    DiagnosticKind::Conflict,
                    range,
                    format!("`{key}` does not apply to a `{kind}` check"),
                )
                .set_label("not used by this kind of check")
                .set_help(Some(format!("a `{kind}` check takes {}", one_of(accepted))));
            }
        }
    }

    /// A VM name or replica group, expanded to VM names.
    fn targets(
        &mut self,
        text: &Sp<String>,
        vms: &[Vm],
        vm_names: &[&str],
        groups: &[&str],
    ) -> Option<Vec<String>> {
        let name = text.get();
        if vm_names.contains(&name.as_str()) {
            return Some(vec![name.clone()]);
        }
        let group: Vec<String> = vms
            .iter()
            .filter(|vm| &vm.group == name)
            .map(|vm| vm.name.clone())
            .collect();
        if !group.is_empty() {
            return Some(group);
        }
        if self.left_out_vms.contains(name) {
            self.left_out_reference(text);
            return None;
        }
        if self.broken.vms.contains(name) {
            return None;
        }
        let candidates: Vec<&str> = vm_names.iter().chain(groups).copied().collect();
        let help = did_you_mean(name, &candidates);
        self.error(
            DiagnosticKind::UnknownReference,
            text.range(),
            format!("unknown vm `{name}`"),
        )
        .set_label(help.unwrap_or_else(|| "no such VM or replica group".into()));
        None
    }

    /// A check that names a VM its `when` leaves out.
    fn left_out_reference(&mut self, text: &Sp<String>) {
        self.error(
            DiagnosticKind::UnknownReference,
            text.range(),
            format!(
                "this check names vm `{}`, which its `when` leaves out of the lab",
                text.get()
            ),
        )
        .set_label("left out by `when`")
        .set_help(Some("give the check the same `when` as the VM".into()));
    }

    fn one_vm(&mut self, text: &Sp<String>, vm_names: &[&str], what: &str) -> Option<String> {
        if vm_names.contains(&text.get().as_str()) {
            return Some(text.get().clone());
        }
        if self.left_out_vms.contains(text.get()) {
            self.left_out_reference(text);
            return None;
        }
        if self.broken.vms.contains(text.get()) {
            return None;
        }
        let help = did_you_mean(text.get(), vm_names);
        self.error(
            DiagnosticKind::UnknownReference,
            text.range(),
            format!("{what} names unknown vm `{}`", text.get()),
        )
        .set_label(help.unwrap_or_else(|| "no such VM (a single VM is needed here)".into()));
        None
    }

    /// A regular expression that may be a template; compiled now when it is plain.
    fn pattern(&mut self, text: &Sp<String>, usage: TemplateUse) -> Option<TemplateText> {
        let template = self.template_text(text);
        if template.is_template() {
            self.check_template(&template, usage);
        } else if let Err(error) = regex::Regex::new(text.get()) {
            self.error(
                DiagnosticKind::InvalidValue,
                text.range(),
                format!(
                    "invalid regular expression: {}",
                    first_line(&error.to_string())
                ),
            )
            .set_label("does not compile");
            return None;
        }
        Some(template)
    }

    fn header(&mut self, text: &Sp<String>, usage: TemplateUse) -> Option<HeaderMatch> {
        let Some((name, pattern)) = text.get().split_once(':') else {
            self.error(
                DiagnosticKind::InvalidValue,
                text.range(),
                format!(
                    "invalid header expectation `{}`: expected `Name: regex`",
                    text.get()
                ),
            )
            .set_label("expected `Name: regex`");
            return None;
        };
        let pattern_text = Sp::new(pattern.trim().to_string(), text.range());
        let mut pattern = self.pattern(&pattern_text, usage)?;
        pattern.content_offset = 0;
        Some(HeaderMatch {
            name: name.trim().to_string(),
            pattern,
        })
    }

    fn identify(
        &mut self,
        raw: &RawCheck,
        kind_range: Range<usize>,
        kind: &str,
    ) -> Option<Identify> {
        let Some(text) = &raw.identify else {
            self.error(
                DiagnosticKind::MissingKey,
                kind_range,
                format!("a `{kind}` check needs `identify`: how a response names the backend that served it"),
            )
            .set_label("which backend answered?")
            .set_help(Some("e.g. `identify = \"served by (\\\\S+)\"` or `identify = \"header:X-Served-By\"`".into()));
            return None;
        };
        if let Some(header) = text.get().strip_prefix("header:") {
            return Some(Identify::Header(header.trim().to_string()));
        }
        match regex::Regex::new(text.get()) {
            Ok(regex) if regex.captures_len() > 1 => Some(Identify::Body(regex)),
            Ok(_) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    text.range(),
                    "`identify` needs a group `( … )` that captures the backend's name or address",
                )
                .set_label("no capture group");
                None
            }
            Err(error) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    text.range(),
                    format!(
                        "invalid regular expression: {}",
                        first_line(&error.to_string())
                    ),
                )
                .set_label("does not compile");
                None
            }
        }
    }

    fn seconds(
        &mut self,
        value: Option<&Sp<f64>>,
        default: f64,
        zero_ok: bool,
        what: &str,
    ) -> Duration {
        match value {
            Some(seconds) => {
                let ok = seconds.get().is_finite()
                    && (*seconds.get() > 0.0 || (zero_ok && *seconds.get() == 0.0));
                if ok {
                    Duration::from_secs_f64(*seconds.get())
                } else {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        seconds.range(),
                        format!("{what} of {} seconds is not allowed", seconds.get()),
                    )
                    .set_label(if zero_ok {
                        "expected 0 or more seconds"
                    } else {
                        "expected more than 0 seconds"
                    });
                    Duration::from_secs_f64(default)
                }
            }
            None => Duration::from_secs_f64(default),
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

fn default_check_name(kind: &CheckKind, raw: &RawCheck) -> String {
    let on = raw.on.as_ref().map(|on| on.get().as_str()).unwrap_or("");
    match kind {
        CheckKind::Ping { from, .. } => {
            let target = raw.ping.as_ref().map_or("", |ping| ping.get().as_str());
            match from {
                Some(from) => format!("ping {target} from {from}"),
                None => format!("ping {target}"),
            }
        }
        CheckKind::Port { port, .. } => format!("port {port} on {on}"),
        CheckKind::Http { url, .. } if on.is_empty() => format!("http {}", url.source),
        CheckKind::Http { url, .. } => format!("http {} on {on}", url.source),
        CheckKind::Command { command, .. } => format!("command `{}` on {on}", command.source),
        CheckKind::RoundRobin { url, .. } => format!("round robin through {}", url.source),
        CheckKind::LeastConn { url, .. } => format!("least connections through {}", url.source),
        CheckKind::Failover { url, victim, .. } => {
            format!("failover of {victim} through {}", url.source)
        }
    }
}
