//! Network probes from the host: ping, TCP connect, HTTP on a new connection each time, and
//! long-held connections (WebSocket or HTTP) for least-connections checks. Behind a trait, so
//! the check logic runs against fakes in tests.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An HTTP response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (names lowercase).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A connection kept open; `identity` is what it revealed of the backend that holds it (response
/// headers and the first message or bytes of the body).
pub trait HeldConnection: Send {
    /// Text that names the backend.
    fn identity(&self) -> &HttpResponse;
}

/// The probes checks use from the host.
pub trait Probes: Sync {
    /// ICMP echo.
    fn ping(&self, ip: IpAddr, timeout: Duration) -> Result<(), String>;
    /// TCP connect.
    fn tcp(&self, address: SocketAddr, timeout: Duration) -> Result<(), String>;
    /// GET on a new connection, with an `Authorization` header when one is given.
    fn http_get(
        &self,
        url: &str,
        authorization: Option<&str>,
        timeout: Duration,
    ) -> Result<HttpResponse, String>;
    /// Opens a connection and keeps it (WebSocket for `ws://`, a streaming GET for `http://`).
    fn hold(&self, url: &str, timeout: Duration) -> Result<Box<dyn HeldConnection>, String>;
}

/// The real probes.
#[derive(Debug, Default)]
pub struct HostProbes;

fn host_port(url: &str) -> Result<(String, u16, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL"))?;
    let default_port = match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => {
            return Err(format!(
                "`{url}`: TLS is not supported by labctl's probes; use http:// or ws://"
            ));
        }
        other => return Err(format!("`{url}`: unsupported scheme `{other}`")),
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| format!("`{url}`: bad port"))?,
        ),
        None => (authority, default_port),
    };
    Ok((host.to_string(), port, path.to_string()))
}

fn connect(url: &str, timeout: Duration) -> Result<(TcpStream, String, String), String> {
    let (host, port, path) = host_port(url)?;
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {host}: {error}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    Ok((stream, format!("{host}:{port}"), path))
}

struct HeldWebSocket {
    _socket: tungstenite::WebSocket<TcpStream>,
    identity: HttpResponse,
}

impl HeldConnection for HeldWebSocket {
    fn identity(&self) -> &HttpResponse {
        &self.identity
    }
}

struct HeldHttp {
    _stream: TcpStream,
    identity: HttpResponse,
}

impl HeldConnection for HeldHttp {
    fn identity(&self) -> &HttpResponse {
        &self.identity
    }
}

/// Parses a raw HTTP/1.1 response head (and what body followed it), as a socket or
/// `curl -i` gives it.
pub fn parse_raw_response(raw: &str) -> HttpResponse {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

impl Probes for HostProbes {
    fn ping(&self, ip: IpAddr, timeout: Duration) -> Result<(), String> {
        let wait = timeout.as_secs().max(1).to_string();
        let output = Command::new("ping")
            .args(["-c", "1", "-W", &wait, &ip.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cannot run ping: {error} (install iputils-ping)"))?;
        if output.status.success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&output.stdout);
            Err(text
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("no reply")
                .trim()
                .to_string())
        }
    }

    fn tcp(&self, address: SocketAddr, timeout: Duration) -> Result<(), String> {
        TcpStream::connect_timeout(&address, timeout)
            .map(drop)
            .map_err(|error| format!("{address}: {error}"))
    }

    fn http_get(
        &self,
        url: &str,
        authorization: Option<&str>,
        timeout: Duration,
    ) -> Result<HttpResponse, String> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let mut request = agent.get(url).header("Connection", "close");
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let mut response = request
            .call()
            .map_err(|error| format!("GET {url}: {error}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(key, value)| {
                (
                    key.as_str().to_ascii_lowercase(),
                    value.to_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(8 * 1024 * 1024)
            .read_to_string()
            .map_err(|error| format!("GET {url}: reading the body: {error}"))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn hold(&self, url: &str, timeout: Duration) -> Result<Box<dyn HeldConnection>, String> {
        let (stream, authority, path) = connect(url, timeout)?;
        if url.starts_with("ws://") {
            let (mut socket, response) = tungstenite::client(url, stream)
                .map_err(|error| format!("WebSocket {url}: {error}"))?;
            let mut identity = HttpResponse {
                status: response.status().as_u16(),
                headers: response
                    .headers()
                    .iter()
                    .map(|(key, value)| {
                        (
                            key.as_str().to_ascii_lowercase(),
                            value.to_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect(),
                body: String::new(),
            };
            let _ = socket
                .get_mut()
                .set_read_timeout(Some(Duration::from_secs(2).min(timeout)));
            if let Ok(message) = socket.read()
                && let Ok(text) = message.into_text()
            {
                identity.body = text.to_string();
            }
            return Ok(Box::new(HeldWebSocket {
                _socket: socket,
                identity,
            }));
        }
        let mut stream = stream;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: labctl\r\nAccept: */*\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|error| format!("GET {url}: {error}"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut raw = Vec::new();
        let deadline = Instant::now() + timeout.min(Duration::from_secs(3));
        let mut buffer = [0u8; 4096];
        while Instant::now() < deadline {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => {
                    raw.extend_from_slice(&buffer[..count]);
                    // The head, and the first bytes of the body, which name the backend.
                    let body_started = raw
                        .windows(4)
                        .position(|window| window == b"\r\n\r\n")
                        .is_some_and(|end| raw.len() > end + 4);
                    if body_started {
                        break;
                    }
                }
                Err(_) => {
                    if !raw.is_empty() {
                        break;
                    }
                }
            }
        }
        if raw.is_empty() {
            return Err(format!("GET {url}: no response"));
        }
        let identity = parse_raw_response(&String::from_utf8_lossy(&raw));
        Ok(Box::new(HeldHttp {
            _stream: stream,
            identity,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_raw_responses() {
        assert_eq!(
            host_port("http://10.0.0.1:8090/a?b").unwrap(),
            ("10.0.0.1".to_string(), 8090, "/a?b".to_string())
        );
        assert_eq!(
            host_port("ws://lb").unwrap(),
            ("lb".to_string(), 80, "/".to_string())
        );
        assert!(host_port("https://x").unwrap_err().contains("TLS"));
        let response = parse_raw_response("HTTP/1.1 200 OK\r\nX-Served-By: web1\r\n\r\nhello");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-served-by"), Some("web1"));
        assert_eq!(response.body, "hello");
    }

    #[test]
    fn a_real_http_server_on_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for _ in 0..3 {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buffer = [0u8; 1024];
                let read = stream.read(&mut buffer).unwrap_or(0);
                requests.push(String::from_utf8_lossy(&buffer[..read]).to_lowercase());
                let _ = stream.write_all(b"HTTP/1.1 503 Busy\r\nContent-Length: 5\r\nX-Served-By: b1\r\nConnection: close\r\n\r\nbusy!");
            }
            requests
        });
        let probes = HostProbes;
        let response = probes
            .http_get(&format!("http://{address}/"), None, Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            (
                response.status,
                response.body.as_str(),
                response.header("x-served-by")
            ),
            (503, "busy!", Some("b1"))
        );
        probes
            .http_get(
                &format!("http://{address}/"),
                Some("Basic YWRtaW46YWRtaW4="),
                Duration::from_secs(5),
            )
            .unwrap();
        probes.tcp(address, Duration::from_secs(5)).unwrap();
        let requests = server.join().unwrap();
        assert!(!requests[0].contains("authorization:"), "{}", requests[0]);
        assert!(
            requests[1].contains("authorization: basic ywrtaw46ywrtaw4="),
            "{}",
            requests[1]
        );
    }
}
