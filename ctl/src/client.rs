//! The connection to vswitchd: tonic over its Unix control socket.

use std::path::PathBuf;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::Error;

/// How long to wait for the socket to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call may take; `apply` may attach many ports, so this is generous.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// tonic wants an HTTP URI; the authority is never resolved, the connector below dials the socket.
const PLACEHOLDER_URI: &str = "http://[::]:50051";

/// What every command gets: where the daemon is and how to print.
pub struct Ctx {
    pub socket: PathBuf,
    pub json: bool,
}

impl Ctx {
    pub fn new(socket: PathBuf, json: bool) -> Self {
        Ctx { socket, json }
    }

    /// Connects to vswitchd; commands call this only after their local checks passed.
    pub async fn channel(&self) -> Result<Channel, Error> {
        let path = self.socket.clone();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        });
        Endpoint::from_static(PLACEHOLDER_URI)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_with_connector(connector)
            .await
            .map_err(|e| Error::Connect {
                path: self.socket.clone(),
                reason: root_cause(&e),
            })
    }
}

/// The innermost error's message: "No such file or directory (os error 2)" rather than
/// tonic's "transport error".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The largest message vsctl sends or takes: whole models, 100 000 policies, a million routes.
pub const MAX_MESSAGE: usize = 512 << 20;

/// A `$client` (a generated service client) on `$ctx`'s channel, taking messages up to
/// `MAX_MESSAGE` both ways.
#[macro_export]
macro_rules! client {
    ($client:ident, $ctx:expr) => {
        $client::new($ctx.channel().await?)
            .max_decoding_message_size($crate::client::MAX_MESSAGE)
            .max_encoding_message_size($crate::client::MAX_MESSAGE)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_socket_is_a_connect_error_with_the_os_reason() {
        let ctx = Ctx::new("/nonexistent/vsctl-test.sock".into(), false);
        match ctx.channel().await {
            Err(Error::Connect { path, reason }) => {
                assert_eq!(path, PathBuf::from("/nonexistent/vsctl-test.sock"));
                assert!(reason.contains("No such file or directory"), "{reason}");
            }
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("connected to a socket that does not exist"),
        }
    }
}
