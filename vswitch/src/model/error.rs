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
    /// A port's device could not be made; the model is unchanged.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The runtime (DPDK, the filesystem) refused; the model is unchanged.
    #[error("{0}")]
    Runtime(String),
}

/// Why a port's device could not be made (DPDK refused it, its interface is missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("port {port}: {reason}")]
pub struct DeviceError {
    pub port: String,
    pub reason: String,
}

pub type Result<T> = std::result::Result<T, ConfigError>;

pub fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}
