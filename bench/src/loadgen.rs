//! A small HTTP/1.1 load generator: keep-alive connections, each sending
//! its next request as soon as the previous answer is in, every answer's
//! status and body checked, per-request latencies kept for percentiles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::BenchError;

/// A request as sent on the wire, and a piece its answer's body must hold.
pub(crate) struct Probe {
    pub(crate) request: Vec<u8>,
    pub(crate) expect: Vec<u8>,
}

impl Probe {
    pub(crate) fn get(path: &str, expect: String) -> Probe {
        Probe {
            request: format!("GET {path} HTTP/1.1\r\nhost: bench\r\n\r\n").into_bytes(),
            expect: expect.into_bytes(),
        }
    }

    pub(crate) fn post_json(path: &str, body: &str, expect: String) -> Probe {
        Probe {
            request: format!(
                "POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
            expect: expect.into_bytes(),
        }
    }
}

/// What a load run measured.
pub(crate) struct Load {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

impl Load {
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Runs `connections` connections to `addr` for `duration`, cycling
/// through `probes`; fails at the first wrong answer.
pub(crate) async fn run(
    addr: SocketAddr,
    probes: Arc<Vec<Probe>>,
    connections: usize,
    duration: Duration,
) -> Result<Load, BenchError> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let probes = probes.clone();
        tasks.push(tokio::spawn(connection(addr, probes, c, deadline)));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        let mut own = task
            .await
            .map_err(|e| BenchError::failed("a load connection", e))??;
        latencies.append(&mut own);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_micros(latencies.get(i).copied().unwrap_or(0))
    };
    Ok(Load {
        requests: latencies.len() as u64,
        seconds,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

async fn connection(
    addr: SocketAddr,
    probes: Arc<Vec<Probe>>,
    offset: usize,
    deadline: Instant,
) -> Result<Vec<u64>, BenchError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| BenchError::io("connecting the load generator", e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| BenchError::io("connecting the load generator", e))?;
    let mut buf = Vec::with_capacity(16 << 10);
    let mut latencies = Vec::new();
    let mut i = offset;
    while Instant::now() < deadline {
        let probe = &probes[i % probes.len()];
        i += 1;
        let sent = Instant::now();
        stream
            .write_all(&probe.request)
            .await
            .map_err(|e| BenchError::io("sending a request", e))?;
        let (status, body) = read_response(&mut stream, &mut buf).await?;
        latencies.push(sent.elapsed().as_micros() as u64);
        if status != 200 || memchr_find(&body, &probe.expect).is_none() {
            return Err(BenchError::Check(format!(
                "request {:?} got status {status} and body {:?}, which lacks {:?}",
                String::from_utf8_lossy(&probe.request),
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&probe.expect)
            )));
        }
    }
    Ok(latencies)
}

/// One response (status, body); `buf` keeps bytes read past it.
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(u16, Vec<u8>), BenchError> {
    let read_error = |e| BenchError::io("reading a response", e);
    loop {
        if let Some(end) = memchr_find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| BenchError::Check(format!("bad status line in {head:?}")))?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    BenchError::Check(format!("a response without content-length: {head:?}"))
                })?;
            let total = end + 4 + length;
            while buf.len() < total {
                read_more(stream, buf).await.map_err(read_error)?;
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return Ok((status, body));
        }
        read_more(stream, buf).await.map_err(read_error)?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
