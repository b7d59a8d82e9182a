//! Runs checks: each with its retries and timeout; checks that only look in parallel (bounded);
//! then, alone, the checks that measure a balancer's spread and, last, failovers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::balancer::{self, Verdict};
use super::probes::{HttpResponse, Probes, parse_raw_response};
use crate::exec::GuestAccess;
use crate::lab::Lab;
use crate::lab::facts::render;
use crate::lab::model::{BasicAuth, Check, CheckKind, Identify, Password, TemplateText, Vm};
use crate::lab::raw::Visibility;
use crate::lab::source::Sources;
use crate::remote::Secret;
use crate::remote::guest_shell::quote;

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Its name.
    pub name: String,
    /// Its kind (`http`, `round_robin`, …).
    pub kind: String,
    /// Its weight.
    pub weight: f64,
    /// True when it passed.
    pub passed: bool,
    /// What was expected.
    pub expected: String,
    /// What was seen (on the last attempt).
    pub actual: String,
    /// One line per target or observation.
    pub details: Vec<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Time taken.
    pub seconds: f64,
    /// Gradescope visibility.
    pub visibility: Visibility,
    /// `file:line:col` of the check.
    pub location: String,
}

/// Runs checks against a running lab.
pub struct Verifier<'a> {
    /// The lab.
    pub lab: &'a Lab,
    /// Reaching guests.
    pub guests: &'a GuestAccess<'a>,
    /// Probes from the host.
    pub probes: &'a dyn Probes,
    /// The files the checks were read from (the lab file, a rubric), for their locations.
    pub sources: &'a Sources,
    /// Checks at once.
    pub jobs: usize,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
}

/// The outcome of one attempt.
struct Attempt {
    verdict: Verdict,
    details: Vec<String>,
}

impl Attempt {
    fn new(
        passed: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
        details: Vec<String>,
    ) -> Self {
        Self {
            verdict: Verdict {
                passed,
                expected: expected.into(),
                actual: actual.into(),
            },
            details,
        }
    }
}

impl Verifier<'_> {
    /// Runs `checks`, calling `done` as each finishes; returns results in check order.
    pub fn run(&self, checks: &[Check], done: &(dyn Fn(&CheckResult) + Sync)) -> Vec<CheckResult> {
        self.guests.learn_leases();
        let results: Mutex<Vec<Option<CheckResult>>> = Mutex::new(vec![None; checks.len()]);
        let record = |index: usize, result: CheckResult| {
            done(&result);
            if let Ok(mut results) = results.lock() {
                results[index] = Some(result);
            }
        };
        let [parallel, alone] = phases(checks);
        let queue = Mutex::new(parallel);
        std::thread::scope(|scope| {
            for _ in 0..self.jobs.max(1) {
                scope.spawn(|| {
                    while let Some(index) = queue
                        .lock()
                        .ok()
                        .and_then(|mut queue| (!queue.is_empty()).then(|| queue.remove(0)))
                    {
                        record(index, self.run_check(&checks[index]));
                    }
                });
            }
        });
        for index in alone {
            record(index, self.run_check(&checks[index]));
        }
        results
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect()
    }

    fn context(&self, vm: Option<&str>) -> serde_json::Value {
        self.guests.template_context(vm)
    }

    fn render_global(&self, text: &TemplateText) -> Result<String, String> {
        render(text, &self.context(None)).map_err(|error| error.to_string())
    }

    fn render_for(&self, text: &TemplateText, vm: Option<&str>) -> Result<String, String> {
        render(text, &self.context(vm)).map_err(|error| error.to_string())
    }

    /// A template as an expectation shows it: filled in when it comes out the same for every
    /// target, as written otherwise (each target's own appears in its detail line).
    /// A pattern as the check used it, between slashes and filled in: once when every target
    /// gives the same text, else per target (`/served by web1/ on web1, /served by web2/ on
    /// web2`).
    fn shown(&self, text: &TemplateText, targets: &[Option<String>]) -> String {
        let rendered: Vec<(Option<&str>, String)> = targets
            .iter()
            .filter_map(|target| {
                let filled = self.render_for(text, target.as_deref()).ok()?;
                Some((target.as_deref(), filled))
            })
            .collect();
        let mut distinct: Vec<&String> = rendered.iter().map(|(_, filled)| filled).collect();
        distinct.dedup();
        match distinct.as_slice() {
            [] => format!("/{}/", text.source),
            [only] => format!("/{only}/"),
            _ => rendered
                .iter()
                .map(|(target, filled)| match target {
                    Some(target) => format!("/{filled}/ on {target}"),
                    None => format!("/{filled}/"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn run_check(&self, check: &Check) -> CheckResult {
        let started = Instant::now();
        let attempts_allowed = check.retries + 1;
        let mut attempts = 0;
        let mut last = Attempt::new(false, "", "not run", Vec::new());
        while attempts < attempts_allowed {
            if self.cancel.load(Ordering::SeqCst) {
                last = Attempt::new(
                    false,
                    last.verdict.expected.clone(),
                    "interrupted",
                    last.details,
                );
                break;
            }
            attempts += 1;
            last = self.attempt(check);
            if last.verdict.passed {
                break;
            }
            if attempts < attempts_allowed {
                std::thread::sleep(check.interval);
            }
        }
        let (line, column) = self
            .sources
            .line_col(check.span.file, check.span.range.start);
        CheckResult {
            name: check.name.clone(),
            kind: check.kind.key().to_string(),
            weight: check.weight,
            passed: last.verdict.passed,
            expected: last.verdict.expected,
            actual: last.verdict.actual,
            details: last.details,
            attempts,
            seconds: started.elapsed().as_secs_f64(),
            visibility: check.visibility,
            location: format!("{}:{line}:{column}", self.sources.get(check.span.file).name),
        }
    }

    fn vm(&self, name: &str) -> Result<&Vm, String> {
        self.lab
            .vm(name)
            .ok_or_else(|| format!("the lab has no VM `{name}`"))
    }

    fn attempt(&self, check: &Check) -> Attempt {
        match &check.kind {
            CheckKind::Ping {
                targets,
                from,
                network,
            } => self.each(targets, ("answers ping", "answer ping"), |target| {
                let vm = self.vm(target)?;
                let ip = self.guests.address_of(vm, network.as_deref())?;
                match from {
                    None => self
                        .probes
                        .ping(IpAddr::V4(ip), check.timeout)
                        .map(|()| format!("{ip} answered")),
                    Some(from) => self.probe_from(
                        from,
                        &format!("ping -c 1 -W {} {ip}", check.timeout.as_secs().max(1)),
                        check.timeout,
                        format!("{ip} answered {from}"),
                        format!("no reply from {ip} to {from}"),
                    ),
                }
            }),
            CheckKind::Port {
                port,
                targets,
                from,
                network,
            } => self.each(
                targets,
                (
                    &format!("accepts TCP connections on port {port}"),
                    &format!("accept TCP connections on port {port}"),
                ),
                |target| {
                    let vm = self.vm(target)?;
                    let ip = self.guests.address_of(vm, network.as_deref())?;
                    match from {
                        None => self
                            .probes
                            .tcp(SocketAddr::new(IpAddr::V4(ip), *port), check.timeout)
                            .map(|()| format!("{ip}:{port} open")),
                        Some(from) => self.probe_from(
                            from,
                            &format!(
                                "timeout {} bash -c 'exec 3<>/dev/tcp/{ip}/{port}'",
                                check.timeout.as_secs().max(1)
                            ),
                            check.timeout,
                            format!("{ip}:{port} open from {from}"),
                            format!("{ip}:{port} closed from {from}"),
                        ),
                    }
                },
            ),
            CheckKind::Http {
                url,
                targets,
                from,
                status,
                body,
                header,
                auth,
            } => {
                let authorization = match auth.as_ref().map(basic_authorization).transpose() {
                    Ok(authorization) => authorization,
                    Err(problem) => {
                        return Attempt::new(false, format!("HTTP {status}"), problem, Vec::new());
                    }
                };
                let targets: Vec<Option<String>> = if targets.is_empty() {
                    vec![None]
                } else {
                    targets.iter().cloned().map(Some).collect()
                };
                let mut details = Vec::new();
                let mut failures = Vec::new();
                for target in &targets {
                    let outcome = (|| -> Result<String, String> {
                        let url = self.render_for(url, target.as_deref())?;
                        let response = match from {
                            None => self.probes.http_get(
                                &url,
                                authorization.as_ref().map(Secret::expose),
                                check.timeout,
                            )?,
                            Some(from) => self.http_from(self.vm(from)?, &url, check.timeout)?,
                        };
                        let mut problems = Vec::new();
                        if response.status != *status {
                            problems
                                .push(format!("status {} (expected {status})", response.status));
                        }
                        if let Some(body) = body {
                            let pattern = self.render_for(body, target.as_deref())?;
                            let regex = regex::Regex::new(&pattern).map_err(|error| {
                                format!("invalid body pattern `{pattern}`: {error}")
                            })?;
                            if !regex.is_match(&response.body) {
                                problems.push(format!(
                                    "body {:?} does not match /{pattern}/",
                                    excerpt(&response.body)
                                ));
                            }
                        }
                        if let Some(header) = header {
                            let pattern = self.render_for(&header.pattern, target.as_deref())?;
                            let regex = regex::Regex::new(&pattern)
                                .map_err(|error| format!("invalid header pattern: {error}"))?;
                            match response.header(&header.name) {
                                Some(value) if regex.is_match(value) => {}
                                Some(value) => problems.push(format!(
                                    "header {}: {value:?} does not match /{pattern}/",
                                    header.name
                                )),
                                None => problems.push(format!("no {} header", header.name)),
                            }
                        }
                        if problems.is_empty() {
                            Ok(format!(
                                "{url}: {} {:?}",
                                response.status,
                                excerpt(&response.body)
                            ))
                        } else {
                            Err(format!("{url}: {}", problems.join("; ")))
                        }
                    })();
                    let who = target
                        .clone()
                        .map_or(String::new(), |target| format!("{target}: "));
                    match outcome {
                        Ok(line) => details.push(format!("{who}{line}")),
                        Err(line) => {
                            details.push(format!("{who}{line}"));
                            failures.push(format!("{who}{line}"));
                        }
                    }
                }
                let mut expected = format!("HTTP {status}");
                if let Some(auth) = auth {
                    expected.push_str(&format!(" as user {}", auth.user));
                }
                if let Some(body) = body {
                    expected.push_str(&format!(", body matching {}", self.shown(body, &targets)));
                }
                if let Some(header) = header {
                    expected.push_str(&format!(
                        ", header {}: {}",
                        header.name,
                        self.shown(&header.pattern, &targets)
                    ));
                }
                if targets.len() > 1 {
                    expected.push_str(&format!(" from each of {} VMs", targets.len()));
                }
                Attempt::new(
                    failures.is_empty(),
                    expected,
                    if failures.is_empty() {
                        "as expected".to_string()
                    } else {
                        failures.join(" | ")
                    },
                    details,
                )
            }
            CheckKind::Command {
                command,
                targets,
                exit,
                output,
            } => {
                let mut details = Vec::new();
                let mut failures = Vec::new();
                for target in targets {
                    let outcome = (|| -> Result<String, String> {
                        let vm = self.vm(target)?;
                        let command = self.render_for(command, Some(target))?;
                        let result = self.guests.run(vm, &command, check.timeout)?;
                        let text = result.text();
                        let mut problems = Vec::new();
                        if result.status != *exit {
                            let last_lines =
                                crate::provision::tail(text.trim_end().as_bytes(), 5).join("\n");
                            problems.push(if last_lines.trim().is_empty() {
                                format!(
                                    "exit status {} (expected {exit}), no output",
                                    result.status
                                )
                            } else {
                                format!(
                                    "exit status {} (expected {exit}); output ends: {}",
                                    result.status,
                                    excerpt_tail(&last_lines)
                                )
                            });
                        }
                        if let Some(output) = output {
                            let pattern = self.render_for(output, Some(target))?;
                            let regex = regex::Regex::new(&format!("(?m){pattern}"))
                                .map_err(|error| format!("invalid output pattern: {error}"))?;
                            if !regex.is_match(&text) {
                                problems.push(format!(
                                    "output {:?} does not match /{pattern}/",
                                    excerpt(&text)
                                ));
                            }
                        }
                        if problems.is_empty() {
                            Ok(format!(
                                "exit {}, output {:?}",
                                result.status,
                                excerpt(&text)
                            ))
                        } else {
                            Err(problems.join("; "))
                        }
                    })();
                    match outcome {
                        Ok(line) => details.push(format!("{target}: {line}")),
                        Err(line) => {
                            details.push(format!("{target}: {line}"));
                            failures.push(format!("{target}: {line}"));
                        }
                    }
                }
                let expected = match output {
                    Some(output) => {
                        let targets: Vec<Option<String>> =
                            targets.iter().cloned().map(Some).collect();
                        format!(
                            "exit status {exit} and output matching {}",
                            self.shown(output, &targets)
                        )
                    }
                    None => format!("exit status {exit}"),
                };
                Attempt::new(
                    failures.is_empty(),
                    expected,
                    if failures.is_empty() {
                        "as expected".to_string()
                    } else {
                        failures.join(" | ")
                    },
                    details,
                )
            }
            CheckKind::RoundRobin {
                url,
                backends,
                identify,
                requests,
            } => match self.render_global(url) {
                Err(error) => Attempt::new(false, "a rotation", error, Vec::new()),
                Ok(url) => {
                    let mut served = Vec::new();
                    let mut details = Vec::new();
                    for index in 0..*requests {
                        // A WebSocket URL: each request is a new WebSocket, named by its
                        // handshake and first message, then closed.
                        let response = if url.starts_with("ws://") {
                            self.probes
                                .hold(&url, check.timeout)
                                .map(|connection| connection.identity().clone())
                        } else {
                            self.probes.http_get(&url, None, check.timeout)
                        };
                        match response
                            .and_then(|response| self.identify(identify, backends, &response))
                        {
                            Ok(backend) => {
                                details.push(format!("request {}: {backend}", index + 1));
                                served.push(backend);
                            }
                            Err(error) => {
                                details.push(format!("request {}: {error}", index + 1));
                                return Attempt::new(
                                    false,
                                    format!(
                                        "{requests} requests through {url} rotating over {}",
                                        backends.join(", ")
                                    ),
                                    format!("request {} failed: {error}", index + 1),
                                    details,
                                );
                            }
                        }
                    }
                    let verdict = balancer::round_robin(backends, &served);
                    Attempt { verdict, details }
                }
            },
            CheckKind::LeastConn {
                url,
                backends,
                identify,
                hold,
                requests,
            } => match self.render_global(url) {
                Err(error) => Attempt::new(false, "least connections", error, Vec::new()),
                Ok(url) => {
                    let mut held = Vec::new();
                    let mut held_backends = Vec::new();
                    let mut details = Vec::new();
                    for index in 0..*hold {
                        match self
                            .probes
                            .hold(&url, check.timeout)
                            .and_then(|connection| {
                                let backend =
                                    self.identify(identify, backends, connection.identity())?;
                                Ok((connection, backend))
                            }) {
                            Ok((connection, backend)) => {
                                details.push(format!("held connection {}: {backend}", index + 1));
                                held_backends.push(backend);
                                held.push(connection);
                            }
                            Err(error) => {
                                return Attempt::new(
                                    false,
                                    "connections held open",
                                    format!("holding connection {} failed: {error}", index + 1),
                                    details,
                                );
                            }
                        }
                    }
                    let mut served = Vec::new();
                    for index in 0..*requests {
                        let result = self
                            .probes
                            .hold(&url, check.timeout)
                            .and_then(|connection| {
                                self.identify(identify, backends, connection.identity())
                            });
                        match result {
                            Ok(backend) => {
                                details.push(format!("new connection {}: {backend}", index + 1));
                                served.push(backend);
                            }
                            Err(error) => {
                                return Attempt::new(
                                    false,
                                    "new connections served",
                                    format!("new connection {} failed: {error}", index + 1),
                                    details,
                                );
                            }
                        }
                    }
                    drop(held);
                    Attempt {
                        verdict: balancer::least_connections(backends, &held_backends, &served),
                        details,
                    }
                }
            },
            CheckKind::Failover {
                url,
                backends,
                identify,
                victim,
                stop,
                start,
                requests,
            } => self.failover(
                check,
                url,
                backends,
                identify,
                victim,
                stop,
                start.as_ref(),
                *requests,
            ),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the fields of one check kind")]
    fn failover(
        &self,
        check: &Check,
        url: &TemplateText,
        backends: &[String],
        identify: &Identify,
        victim: &str,
        stop: &TemplateText,
        start: Option<&TemplateText>,
        requests: u32,
    ) -> Attempt {
        let expected = format!(
            "with {victim} stopped, every request through the balancer succeeds on the others"
        );
        let result = (|| -> Result<Attempt, String> {
            let url = self.render_global(url)?;
            let vm = self.vm(victim)?;
            self.as_root(vm, &self.render_for(stop, Some(victim))?, check.timeout)?;
            let mut served = Vec::new();
            let mut details = vec![format!("{victim}: stopped")];
            for index in 0..requests {
                let outcome =
                    self.probes
                        .http_get(&url, None, check.timeout)
                        .and_then(|response| {
                            if response.status >= 500 {
                                return Err(format!("status {}", response.status));
                            }
                            self.identify(identify, backends, &response)
                        });
                details.push(format!(
                    "request {}: {}",
                    index + 1,
                    outcome
                        .as_ref()
                        .map_or_else(|error| format!("failed: {error}"), Clone::clone)
                ));
                served.push(outcome);
            }
            Ok(Attempt {
                verdict: balancer::failover(victim, &served),
                details,
            })
        })();
        let restore = match start {
            Some(start) => self.vm(victim).and_then(|vm| {
                self.render_for(start, Some(victim))
                    .and_then(|command| self.as_root(vm, &command, check.timeout))
            }),
            None => Ok(()),
        };
        match (result, restore) {
            (Ok(mut attempt), Ok(())) => {
                if start.is_some() {
                    attempt.details.push(format!("{victim}: started again"));
                }
                attempt
            }
            (Ok(attempt), Err(error)) => Attempt::new(
                false,
                expected,
                format!("bringing {victim} back failed: {error}"),
                attempt.details,
            ),
            (Err(error), _) => Attempt::new(false, expected, error, Vec::new()),
        }
    }

    /// A probe run in a guest (`from`): `passed` when the command exits 0, else `failed` with
    /// the last line it printed.
    fn probe_from(
        &self,
        from: &str,
        command: &str,
        timeout: Duration,
        passed: String,
        failed: String,
    ) -> Result<String, String> {
        let output = self
            .guests
            .run(self.vm(from)?, command, timeout + Duration::from_secs(5))?;
        if output.status == 0 {
            Ok(passed)
        } else {
            Err(format!("{failed}: {}", last_line(&output.text())))
        }
    }

    fn as_root(&self, vm: &Vm, command: &str, timeout: Duration) -> Result<(), String> {
        self.guests.run_as_root(vm, command, timeout)
    }

    fn http_from(&self, vm: &Vm, url: &str, timeout: Duration) -> Result<HttpResponse, String> {
        let seconds = timeout.as_secs().max(1);
        let output = self.guests.run(
            vm,
            &format!("curl -sS -i -m {seconds} {}", quote(url)),
            timeout + Duration::from_secs(5),
        )?;
        if output.status != 0 {
            return Err(format!(
                "curl on {} failed: {}",
                vm.name,
                last_line(&output.text())
            ));
        }
        Ok(parse_raw_response(&output.text()))
    }

    /// Which backend served a response: the identified value matched against each backend's
    /// lab name, VirtualBox name and addresses.
    fn identify(
        &self,
        identify: &Identify,
        backends: &[String],
        response: &HttpResponse,
    ) -> Result<String, String> {
        let value = match identify {
            Identify::Header(name) => response
                .header(name)
                .map(str::to_string)
                .ok_or_else(|| format!("no {name} header in the response"))?,
            Identify::Body(regex) => {
                let haystack = format!(
                    "{}\n{}",
                    response.body,
                    response
                        .headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                regex
                    .captures(&haystack)
                    .and_then(|captures| captures.get(1))
                    .map(|found| found.as_str().to_string())
                    .ok_or_else(|| {
                        format!(
                            "the response {:?} does not match /{}/",
                            excerpt(&response.body),
                            regex.as_str()
                        )
                    })?
            }
        };
        let value = value
            .trim()
            .trim_end_matches(['.', ',', '!', '"', '\''])
            .to_string();
        let host = value
            .rsplit_once(':')
            .map_or(value.as_str(), |(host, _)| host)
            .to_string();
        for backend in backends {
            let Some(vm) = self.lab.vm(backend) else {
                continue;
            };
            let addresses: Vec<String> = vm
                .nics
                .iter()
                .filter_map(|nic| nic.ip.map(|ip| ip.to_string()))
                .collect();
            if value == vm.name
                || value == vm.vbox_name
                || host == vm.name
                || addresses.contains(&host)
            {
                return Ok(vm.name.clone());
            }
        }
        Ok(value)
    }

    /// Probes each target; `what` is the expectation after one name and after several
    /// (`web1 answers ping`, `web1 and web2 answer ping`).
    fn each(
        &self,
        targets: &[String],
        what: (&str, &str),
        probe: impl Fn(&str) -> Result<String, String>,
    ) -> Attempt {
        let mut details = Vec::new();
        let mut failures = Vec::new();
        for target in targets {
            match probe(target) {
                Ok(line) => details.push(format!("{target}: {line}")),
                Err(line) => {
                    details.push(format!("{target}: {line}"));
                    failures.push(format!("{target}: {line}"));
                }
            }
        }
        Attempt::new(
            failures.is_empty(),
            targets_phrase(targets, what),
            if failures.is_empty() {
                "as expected".to_string()
            } else {
                failures.join(" | ")
            },
            details,
        )
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// `web1 answers ping`, `web1 and web2 answer ping`, `web1, web2 and web3 answer ping`.
fn targets_phrase(targets: &[String], what: (&str, &str)) -> String {
    match targets {
        [one] => format!("{one} {}", what.0),
        [init @ .., last] => format!("{} and {last} {}", init.join(", "), what.1),
        [] => what.1.to_string(),
    }
}

/// The end of a command's output, at most 300 characters, its lines joined with ` ⏎ `.
fn excerpt_tail(text: &str) -> String {
    let joined = text.trim().lines().collect::<Vec<_>>().join(" ⏎ ");
    let count = joined.chars().count();
    if count > 300 {
        format!("…{}", joined.chars().skip(count - 300).collect::<String>())
    } else {
        joined
    }
}

/// The order checks run in: first every check that only looks, in parallel; then, one at a
/// time with nothing else running, the checks that measure how a balancer spreads requests
/// (any other request through it, such as another check's, moves its rotation) and, last,
/// failovers (they take a backend away).
fn phases(checks: &[Check]) -> [Vec<usize>; 2] {
    let rank = |check: &Check| match check.kind {
        CheckKind::RoundRobin { .. } | CheckKind::LeastConn { .. } => 1,
        CheckKind::Failover { .. } => 2,
        _ => 0,
    };
    let (mut alone, parallel): (Vec<usize>, Vec<usize>) =
        (0..checks.len()).partition(|&index| rank(&checks[index]) > 0);
    alone.sort_by_key(|&index| rank(&checks[index]));
    [parallel, alone]
}

fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() > 120 {
        format!("{}…", trimmed.chars().take(120).collect::<String>())
    } else {
        trimmed.to_string()
    }
}

/// The `Authorization` header of basic authentication (RFC 7617), with the password read where
/// the lab file says; kept as a secret so that it is never printed.
fn basic_authorization(auth: &BasicAuth) -> Result<Secret, String> {
    use base64::Engine;
    let password = match &auth.password {
        Password::Literal(value) => value.clone(),
        Password::Env(name) => std::env::var(name).map_err(|_| {
            format!(
                "environment variable {name} is not set (the password of user `{}`)",
                auth.user
            )
        })?,
    };
    let pair = format!("{}:{password}", auth.user);
    Ok(Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFiles;

    impl crate::lab::LabFiles for NoFiles {
        fn read_text(&self, path: &std::path::Path) -> std::io::Result<String> {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        }
        fn exists(&self, _: &std::path::Path) -> bool {
            true
        }
    }

    #[test]
    fn balancer_spread_checks_run_alone_after_the_others_and_failovers_last() {
        let text = r#"
[lab]
name = "t"

[images.base]
ova = "base.ova"
user = "u"
password = "p"

[networks.lab]
type = "hostonly"
cidr = "192.168.56.0/24"

[vms.lb]
nics = [{ net = "lab", ip = "192.168.56.10" }]

[vms.web]
count = 2
nics = [{ net = "lab", ip = "192.168.56.11" }]

[[checks]]
name = "failover"
failover = "http://{{ vms.lb.ip }}/"
backends = ["web1", "web2"]
identify = "served by (\\S+)"
victim = "web1"
stop = "true"
start = "true"

[[checks]]
name = "rotation"
round_robin = "http://{{ vms.lb.ip }}/"
backends = ["web1", "web2"]
identify = "served by (\\S+)"

[[checks]]
name = "page"
http = "http://{{ vms.lb.ip }}/"

[[checks]]
name = "held"
least_conn = "http://{{ vms.lb.ip }}/"
backends = ["web1", "web2"]
identify = "served by (\\S+)"

[[checks]]
name = "reach"
ping = "web1"
"#;
        let loaded = crate::lab::load("t.toml", text, std::path::Path::new("."), &NoFiles);
        let lab = loaded
            .lab
            .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
        let names = |indexes: &[usize]| -> Vec<&str> {
            indexes
                .iter()
                .map(|&i| lab.checks[i].name.as_str())
                .collect()
        };
        let [parallel, alone] = phases(&lab.checks);
        assert_eq!(names(&parallel), ["page", "reach"]);
        assert_eq!(names(&alone), ["rotation", "held", "failover"]);
    }

    #[test]
    fn expectations_agree_with_how_many_targets() {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let what = ("answers ping", "answer ping");
        assert_eq!(targets_phrase(&names(&["web1"]), what), "web1 answers ping");
        assert_eq!(
            targets_phrase(&names(&["app1", "app2"]), what),
            "app1 and app2 answer ping"
        );
        assert_eq!(
            targets_phrase(&names(&["a", "b", "c"]), what),
            "a, b and c answer ping"
        );
    }
}
