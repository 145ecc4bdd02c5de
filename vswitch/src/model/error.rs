//! Why a change was refused. Each message names the object and, where there is one, the fix;
//! the kind picks the gRPC status code.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Precondition(String),
    /// The runtime (DPDK, the filesystem) refused; the model is unchanged.
    #[error("{0}")]
    Runtime(String),
}

pub type Result<T> = std::result::Result<T, ConfigError>;

pub fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}
