//! Helpers shared by the workspace's tests: a deadline for test bodies, the raw
//! bytes of WebSocket frames and handshakes (to speak the protocol exactly as a
//! given peer does), a private CA with a `localhost` certificate, and a TCP
//! proxy that injects faults ([`proxy::Proxy`]), a Redis server of the test's
//! own ([`redis::RedisServer`]), server binaries run as processes
//! ([`process::ServerProcess`]), the Node.js tools of the tests
//! ([`node`]), the checks of the generated API documents ([`documents`]) and
//! crates of a user's, outside the workspace ([`user_crate`]).

pub mod documents;
pub mod node;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod user_crate;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Runs a test body with a 20 s deadline, so a bug fails the test instead of
/// hanging the suite.
pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test exceeded its 20 s bound")
}

/// WebSocket bytes on a raw TCP socket.
pub mod wire {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;

    /// A masked client frame whose first byte (FIN, RSV bits, opcode) is given whole.
    pub fn raw_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x11, 0x22, 0x33, 0x44];
        let mut out = vec![first_byte];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    /// An HTTP response's head and body (by its `Content-Length`), or what
    /// came before the server closed.
    pub async fn read_response(tcp: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return text;
                }
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&buf).into_owned(),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// A masked client frame.
    pub fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        raw_frame((u8::from(fin) << 7) | opcode, payload)
    }

    /// Reads one unmasked server frame: (fin, opcode, payload).
    pub async fn read_frame(tcp: &mut TcpStream) -> (bool, u8, Vec<u8>) {
        let mut head = [0u8; 2];
        tcp.read_exact(&mut head).await.expect("frame header");
        assert_eq!(head[1] & 0x80, 0, "server frames are never masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                tcp.read_exact(&mut l).await.expect("length");
                u16::from_be_bytes(l) as usize
            }
            127 => {
                let mut l = [0u8; 8];
                tcp.read_exact(&mut l).await.expect("length");
                u64::from_be_bytes(l) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).await.expect("payload");
        (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
    }

    /// A close frame's payload.
    pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason.as_bytes());
        p
    }

    /// Sends `request` and returns the socket and the response head (up to the
    /// blank line).
    pub async fn send_head(addr: std::net::SocketAddr, request: &str) -> (TcpStream, String) {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(request.as_bytes()).await.expect("request");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tcp.read_exact(&mut b).await.expect("response head");
            head.push(b[0]);
        }
        (tcp, String::from_utf8(head).expect("ascii head"))
    }

    /// The upgrade request a Go client (gorilla/websocket) sends for `target`, with
    /// `extra` header lines (each ending in `\r\n`).
    pub fn go_upgrade_request(addr: std::net::SocketAddr, target: &str, extra: &str) -> String {
        format!(
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n{extra}\r\n"
        )
    }
}

/// A private CA and a `localhost` certificate it signed.
pub struct Certificates {
    /// The CA's certificate (PEM), for clients to trust.
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

/// Writes a fresh CA and `localhost` certificate as PEM files in a new folder.
pub fn certificates() -> Certificates {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let dir = std::env::temp_dir().join(format!(
        "nagare-certs-{}-{:x}",
        std::process::id(),
        h.finish()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let out = Certificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&out.ca, ca.pem()).expect("write ca");
    std::fs::write(&out.cert, leaf.pem()).expect("write cert");
    std::fs::write(&out.key, leaf_key.serialize_pem()).expect("write key");
    out
}
