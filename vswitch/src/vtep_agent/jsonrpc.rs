//! JSON-RPC 1.0 over a stream, as OVSDB speaks it (RFC 7047 4): messages are JSON objects one
//! after another, with no framing but their own braces. A reader task parses what arrives and
//! hands whole messages over a channel; the session writes requests and replies.

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::target::Target;
use super::tls::TlsFiles;

/// Bytes a message may take; a peer that sends more without finishing one is cut off.
const MAX_MESSAGE: usize = 64 << 20;

/// Splits a byte stream into JSON values. Each byte is scanned once for the end of its message
/// (the brace that closes the top-level object, outside strings), and a message is parsed once
/// it is whole: a monitor's initial contents of tens of megabytes arrive in many reads.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` scanned so far.
    scanned: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl Framer {
    /// Adds `bytes` and returns the values they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Value>, String> {
        self.buf.extend_from_slice(bytes);
        let mut values = Vec::new();
        let mut start = 0;
        for i in self.scanned..self.buf.len() {
            let b = self.buf[i];
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self
                        .depth
                        .checked_sub(1)
                        .ok_or("the server sent malformed JSON: an unbalanced bracket")?;
                    if self.depth == 0 {
                        let v = serde_json::from_slice(&self.buf[start..=i])
                            .map_err(|e| format!("the server sent malformed JSON: {e}"))?;
                        values.push(v);
                        start = i + 1;
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if self.depth == 0 => {
                    return Err("the server sent something other than a JSON object".into())
                }
                _ => {}
            }
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_MESSAGE {
            return Err(format!("a message over {MAX_MESSAGE} bytes"));
        }
        Ok(values)
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// What the reader task hands over: a message, or why the connection ended.
pub type Incoming = Result<Value, String>;

/// The writing half of a connection, and its request numbering.
pub struct Connection {
    writer: tokio::io::WriteHalf<Box<dyn Stream>>,
    next_id: u64,
    /// The reader task: it holds the other half, so it goes when the connection does.
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Connection {
    /// Connects to `target` (with `tls` for an `ssl:` one); messages arrive on the returned
    /// channel until it closes.
    pub async fn open(
        target: &Target,
        tls: Option<TlsFiles<'_>>,
    ) -> Result<(Connection, mpsc::Receiver<Incoming>), String> {
        let stream: Box<dyn Stream> = match target {
            Target::Unix(path) => Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| format!("connect {}: {e}", path.display()))?,
            ),
            Target::Tcp(addr) => Box::new(
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| format!("connect {addr}: {e}"))?,
            ),
            Target::Ssl(addr) => {
                let files = tls.ok_or_else(|| {
                    format!("connect ssl:{addr}: no TLS files; set --tls-key, --tls-cert, --tls-ca")
                })?;
                let connector = super::tls::connector(files)?;
                let tcp = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| format!("connect {addr}: {e}"))?;
                Box::new(
                    connector
                        .connect(super::tls::server_name(*addr), tcp)
                        .await
                        .map_err(|e| format!("TLS with {addr}: {e}"))?,
                )
            }
        };
        let (mut reader, writer) = tokio::io::split(stream);
        let (tx, rx) = mpsc::channel(1024);
        let reader = tokio::spawn(async move {
            let mut framer = Framer::default();
            let mut chunk = vec![0u8; 64 << 10];
            let end = loop {
                let n = match reader.read(&mut chunk).await {
                    Ok(0) => break "the server closed the connection".to_string(),
                    Ok(n) => n,
                    Err(e) => break format!("read: {e}"),
                };
                match framer.push(&chunk[..n]) {
                    Ok(values) => {
                        for v in values {
                            if tx.send(Ok(v)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => break e,
                }
            };
            let _ = tx.send(Err(end)).await;
        });
        Ok((
            Connection {
                writer,
                next_id: 1,
                reader,
            },
            rx,
        ))
    }

    async fn send(&mut self, message: &Value) -> Result<(), String> {
        let bytes = serde_json::to_vec(message).map_err(|e| e.to_string())?;
        self.writer
            .write_all(&bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// Sends request `method` and returns its id.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<u64, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"method": method, "params": params, "id": id}))
            .await?;
        Ok(id)
    }

    /// Answers the server's request `id` with `result`.
    pub async fn reply(&mut self, id: Value, result: Value) -> Result<(), String> {
        self.send(&json!({"id": id, "result": result, "error": null}))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_and_partial_messages() {
        let mut f = Framer::default();
        let text = br#"{"id":1,"result":{}}{"method":"echo","params":[],"id":"echo"}{"id":"#;
        let values = f.push(text).expect("well-formed");
        assert_eq!(values.len(), 2);
        assert_eq!(values[1]["method"], "echo");
        let rest = f.push(br#" 2, "result": [1]}"#).expect("well-formed");
        assert_eq!(rest, vec![json!({"id": 2, "result": [1]})]);
        assert!(f.push(b"\n").expect("whitespace").is_empty());
        // Braces inside strings, escaped quotes, a message split inside a string.
        let tricky = br#"{"a":"}{\"]","b":["x"#;
        assert!(f.push(tricky).expect("well-formed so far").is_empty());
        let end = f.push(br#"y"]}"#).expect("well-formed");
        assert_eq!(end, vec![json!({"a": "}{\"]", "b": ["xy"]})]);
        assert!(f.push(b"}").is_err(), "an unbalanced bracket is an error");
        assert!(Framer::default().push(b"nonsense").is_err());
    }
}
