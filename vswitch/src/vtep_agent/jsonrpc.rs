//! JSON-RPC 1.0 over a stream, as OVSDB speaks it (RFC 7047 4): messages are JSON objects one
//! after another, with no framing but their own braces. A reader task parses what arrives and
//! hands whole messages over a channel; the session writes requests and replies.

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::target::Target;

/// Bytes a message may take; a peer that sends more without finishing one is cut off.
const MAX_MESSAGE: usize = 64 << 20;

/// Splits a byte stream into JSON values.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Adds `bytes` and returns the values they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Value>, String> {
        self.buf.extend_from_slice(bytes);
        let mut values = Vec::new();
        let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        let mut used = 0;
        loop {
            match stream.next() {
                Some(Ok(v)) => {
                    values.push(v);
                    used = stream.byte_offset();
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => return Err(format!("the server sent malformed JSON: {e}")),
                None => {
                    used = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..used);
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
    /// Connects to `target`; messages arrive on the returned channel until it closes.
    pub async fn open(target: &Target) -> Result<(Connection, mpsc::Receiver<Incoming>), String> {
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
                return Err(format!(
                    "connect ssl:{addr}: TLS to the database is not supported; use unix: or tcp:"
                ))
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
        assert!(f.push(b"}{").is_err(), "malformed JSON is an error");
    }
}
