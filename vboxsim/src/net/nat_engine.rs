//! Plain NAT (`--nic<N> nat`): each NIC gets a private link to its own "NAT engine", a thread of
//! the VM process living in a network namespace of its own that holds the gateway (10.0.2.2) and
//! DNS (10.0.2.3) addresses, and the NAT engine's built-in DHCP server, which hands the guest
//! 10.0.2.15 with router 10.0.2.2 and DNS 10.0.2.3 (the manual, "Network Address Translation
//! (NAT)": the guest "receives its network address and configuration ... from VirtualBox's
//! built-in DHCP server", addresses 10.0.2.15, gateway .2, DNS .3), served here by a dnsmasq in
//! the engine's namespace. Port forwards dial the guest from inside that namespace. There is no
//! way out of the world, as VirtualBox's NAT would give: nothing beyond the world exists.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

type Request = (SocketAddr, mpsc::Sender<std::io::Result<TcpStream>>);

/// The engine of one NAT NIC; its namespace goes away when dropped (the thread exits).
pub struct NatEngine {
    pub tid: i32,
    requests: mpsc::Sender<Option<Request>>,
    dhcp: Option<std::process::Child>,
}

impl NatEngine {
    /// An engine for a NAT adapter whose link to the guest is the veth end `host` (made by the
    /// caller, moved here into the engine's namespace): the adapter's network (its lease's, or
    /// 10.0.2.0/24) with the engine's addresses on it and DHCP answered into `leases_file`.
    pub fn attach(
        host: &str,
        lease: &crate::model::lease::NicLease,
        leases_file: &str,
    ) -> Result<NatEngine, String> {
        let mut engine = NatEngine::start()?;
        crate::net::host_net::ip(&["link", "set", host, "netns", &engine.tid.to_string()])?;
        let (net, len) = lease
            .addr
            .map(|(a, len)| {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                (Ipv4Addr::from(u32::from(a) & mask), len)
            })
            .unwrap_or((Ipv4Addr::new(10, 0, 2, 0), 24));
        engine.configure(host, net, len)?;
        engine.serve_dhcp(host, net, len, leases_file)?;
        Ok(engine)
    }

    /// Starts the engine thread in a fresh network namespace; returns once it exists.
    pub fn start() -> Result<NatEngine, String> {
        let (tx, rx) = mpsc::channel::<Option<Request>>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<i32, String>>();
        std::thread::spawn(move || {
            // SAFETY: unshare affects only this thread; it never leaves the new namespace.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            if rc != 0 {
                let _ = ready_tx.send(Err(format!(
                    "unshare(CLONE_NEWNET): {}",
                    std::io::Error::last_os_error()
                )));
                return;
            }
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            let _ = ready_tx.send(Ok(tid));
            while let Ok(Some((addr, reply))) = rx.recv() {
                let _ = reply.send(TcpStream::connect_timeout(&addr, Duration::from_secs(5)));
            }
        });
        let tid = ready_rx
            .recv()
            .map_err(|_| "NAT engine thread died".to_string())??;
        Ok(NatEngine {
            tid,
            requests: tx,
            dhcp: None,
        })
    }

    /// Configures the engine side of the link `dev` (already moved into the engine's namespace)
    /// by running `ip` in the engine's namespace.
    pub fn configure(&self, dev: &str, net: Ipv4Addr, len: u32) -> Result<(), String> {
        let base = u32::from(net);
        let ns = format!("/proc/{}/task/{}/ns/net", std::process::id(), self.tid);
        let run = |args: &[&str]| -> Result<(), String> {
            let out = std::process::Command::new("nsenter")
                .arg(format!("--net={ns}"))
                .arg("ip")
                .args(args)
                .output()
                .map_err(|e| format!("nsenter: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "ip {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        run(&["link", "set", "lo", "up"])?;
        run(&[
            "addr",
            "add",
            &format!("{}/{len}", Ipv4Addr::from(base + 2)),
            "dev",
            dev,
        ])?;
        run(&[
            "addr",
            "add",
            &format!("{}/{len}", Ipv4Addr::from(base + 3)),
            "dev",
            dev,
        ])?;
        run(&["link", "set", dev, "up"])
    }

    /// Serves DHCP on the engine's side of the link: the one guest address, `.15`. Lease time:
    /// a day (a guess: slirp's bootp.c leases are long; the guest never needs to renew here).
    /// Call from the VM process's main thread: the server dies with it (PR_SET_PDEATHSIG is per
    /// thread of the parent).
    pub fn serve_dhcp(
        &mut self,
        dev: &str,
        net: Ipv4Addr,
        len: u32,
        lease_file: &str,
    ) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        let base = u32::from(net);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let guest = Ipv4Addr::from(base + 15);
        let ns = format!("/proc/{}/task/{}/ns/net", std::process::id(), self.tid);
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net={ns}"))
            .arg("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--port=0",
                "--bind-interfaces",
                "--except-interface=lo",
                "--dhcp-authoritative",
                // VirtualBox's servers hand out addresses without probing them first (dnsmasq
                // would ping each for 3 s).
                "--no-ping",
            ])
            .arg(format!("--interface={dev}"))
            .arg(format!(
                "--dhcp-range={guest},{guest},{},86400",
                Ipv4Addr::from(mask)
            ))
            .arg(format!(
                "--dhcp-option=option:router,{}",
                Ipv4Addr::from(base + 2)
            ))
            .arg(format!(
                "--dhcp-option=option:dns-server,{}",
                Ipv4Addr::from(base + 3)
            ))
            .arg(format!("--dhcp-leasefile={lease_file}"))
            .arg(format!("--pid-file={lease_file}.pid"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        // SAFETY: only prctl (async-signal-safe) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            format!(
                "cannot start the NAT engine's DHCP server (dnsmasq-base: run scripts/setup): {e}"
            )
        })?;
        self.dhcp = Some(child);
        Ok(())
    }

    /// A connector that dials from inside the engine's namespace.
    pub fn connector(&self) -> crate::net::relay::Connector {
        let tx = std::sync::Mutex::new(self.requests.clone());
        std::sync::Arc::new(move |addr| {
            let (reply_tx, reply_rx) = mpsc::channel();
            let sent = tx
                .lock()
                .map(|t| t.send(Some((addr, reply_tx))).is_ok())
                .unwrap_or(false);
            if !sent {
                return Err(std::io::Error::other("NAT engine stopped"));
            }
            reply_rx
                .recv()
                .unwrap_or_else(|_| Err(std::io::Error::other("NAT engine stopped")))
        })
    }
}

impl Drop for NatEngine {
    fn drop(&mut self) {
        if let Some(mut dhcp) = self.dhcp.take() {
            let _ = dhcp.kill();
            let _ = dhcp.wait();
        }
        let _ = self.requests.send(None);
    }
}
