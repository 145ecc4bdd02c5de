//! The metrics endpoint (`vswitchd --metrics IP:PORT`): a minimal HTTP/1.1 server that answers
//! `GET /metrics` with `metrics::render` and closes each connection. Plain HTTP, so only on a
//! loopback address (`listen_addr` refuses others): what listens on the network has TLS.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Shared;

/// A request's head larger than this is refused.
const MAX_HEAD: usize = 8192;
/// A client that sends no whole request head in this time is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The address `--metrics` names, if it may listen there.
pub fn listen_addr(arg: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = arg
        .parse()
        .map_err(|_| format!("--metrics {arg:?}: not IP:PORT (e.g. 127.0.0.1:9464, [::1]:9464)"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--metrics {arg}: not a loopback address; the endpoint has no TLS, so it listens on 127.0.0.1 or ::1 only (scrape from elsewhere through a TLS proxy)"
        ));
    }
    Ok(addr)
}

/// Serves `/metrics` on `listener` until the task is aborted.
pub async fn serve(shared: Shared, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: not a busy loop meanwhile.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = answer(&shared, stream).await;
        });
    }
}

async fn answer(shared: &Shared, mut stream: TcpStream) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        _ => return respond(&mut stream, "400 Bad Request", "bad request\n").await,
    };
    let mut words = head.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let shared = shared.clone();
            let body = tokio::task::spawn_blocking(move || super::metrics::render(&shared))
                .await
                .unwrap_or_default();
            respond(&mut stream, "200 OK", &body).await
        }
        ("GET", _) => respond(&mut stream, "404 Not Found", "only /metrics here\n").await,
        _ => respond(&mut stream, "405 Method Not Allowed", "GET only\n").await,
    }
}

/// The request line of a request whose head (up to the blank line) arrived whole.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(line).into_owned())
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_on_loopback_only() {
        assert!(listen_addr("127.0.0.1:9464").is_ok());
        assert!(listen_addr("[::1]:9464").is_ok());
        let e = listen_addr("0.0.0.0:9464").unwrap_err();
        assert!(e.contains("not a loopback address"), "{e}");
        let e = listen_addr("localhost").unwrap_err();
        assert!(e.contains("not IP:PORT"), "{e}");
    }
}
