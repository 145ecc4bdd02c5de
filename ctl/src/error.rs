//! What can go wrong in vsctl; each variant prints as the single line after `vsctl: `.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The control socket could not be connected.
    #[error("cannot reach vswitchd at {}: {reason} (is vswitchd running?)", path.display())]
    Connect { path: PathBuf, reason: String },

    /// vswitchd answered with an error; its message names the object and the fix.
    #[error("{}", status_message(.0))]
    Rpc(#[from] tonic::Status),

    /// A local file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },

    /// Writing the output failed (other than the reader going away).
    #[error("cannot write output: {0}")]
    Write(String),

    #[error("cannot encode JSON output: {0}")]
    Json(#[from] serde_json::Error),

    #[error("cannot start the async runtime: {0}")]
    Runtime(String),

    /// The arguments do not fit together; the message says how.
    #[error("{0}")]
    Usage(String),
}

/// The server's message; when it sent none, a description of the code (never its debug form).
fn status_message(status: &tonic::Status) -> String {
    let message = status.message().trim();
    if message.is_empty() && status.code() == tonic::Code::Unimplemented {
        "this vswitchd does not support the request (is it older than vsctl?)".to_string()
    } else if message.is_empty() {
        format!("vswitchd: {}", status.code().description())
    } else {
        message.to_string()
    }
}

/// Folds a message onto one line: the error contract is exactly one line on stderr.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_prints_the_server_message_only() {
        let e = Error::from(tonic::Status::not_found("port \"p9\" does not exist"));
        assert_eq!(e.to_string(), "port \"p9\" does not exist");
    }

    #[test]
    fn status_without_message_prints_the_code_description() {
        let e = Error::from(tonic::Status::unavailable(""));
        assert_eq!(
            e.to_string(),
            "vswitchd: The service is currently unavailable"
        );
    }

    #[test]
    fn unimplemented_says_the_daemon_is_too_old() {
        let e = Error::from(tonic::Status::unimplemented(""));
        assert!(e.to_string().contains("older than vsctl"), "{e}");
    }

    #[test]
    fn connect_error_names_the_socket_and_the_fix() {
        let e = Error::Connect {
            path: "/tmp/nope.sock".into(),
            reason: "No such file or directory (os error 2)".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach vswitchd at /tmp/nope.sock: No such file or directory (os error 2) \
             (is vswitchd running?)"
        );
    }

    #[test]
    fn multi_line_messages_become_one_line() {
        assert_eq!(one_line("bad field\n  at line 3\n"), "bad field at line 3");
    }
}
