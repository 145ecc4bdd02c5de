//! The metrics endpoint (`vswitchd --metrics IP:PORT`): a minimal HTTP/1.1 server that answers
//! `GET /metrics` with `metrics::render` (in the format the `Accept` header asks for) and
//! closes each connection. Plain HTTP, so only on a
//! loopback address (`listen_addr` refuses others): what listens on the network has TLS.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Format;
use super::Shared;

/// A request's head larger than this is refused.
const MAX_HEAD: usize = 8192;
/// A client that sends no whole request head in this time is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const TEXT: &str = "text/plain; charset=utf-8";

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
        _ => return respond(&mut stream, "400 Bad Request", TEXT, "bad request\n").await,
    };
    let mut lines = head.split("\r\n");
    let mut words = lines.next().unwrap_or("").split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .map_or("", |(_, v)| v);
    match (method, path) {
        ("GET", "/metrics") => {
            let (shared, format) = (shared.clone(), Format::accepted(accept));
            let body = tokio::task::spawn_blocking(move || super::metrics::render(&shared, format))
                .await
                .unwrap_or_default();
            respond(&mut stream, "200 OK", format.content_type(), &body).await
        }
        ("GET", _) => respond(&mut stream, "404 Not Found", TEXT, "only /metrics here\n").await,
        _ => respond(&mut stream, "405 Method Not Allowed", TEXT, "GET only\n").await,
    }
}

/// The head of a request (up to the blank line), once it arrived whole.
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
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
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
