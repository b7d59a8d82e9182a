//! Plain NAT (`--nic<N> nat`): each NIC gets a private link to its own "NAT engine", a thread of
//! the VM process living in a network namespace of its own that holds the gateway (10.0.2.2) and
//! DNS (10.0.2.3) addresses. Port forwards dial the guest from inside that namespace. There is no
//! way out of the world, as VirtualBox's NAT would give: nothing beyond the world exists.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

type Request = (SocketAddr, mpsc::Sender<std::io::Result<TcpStream>>);

/// The engine of one NAT NIC; its namespace goes away when dropped (the thread exits).
pub struct NatEngine {
    pub tid: i32,
    requests: mpsc::Sender<Option<Request>>,
}

impl NatEngine {
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
        Ok(NatEngine { tid, requests: tx })
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
        let _ = self.requests.send(None);
    }
}
