//! Why a policy, an address group or a security group is refused: one line naming the object
//! (`owner` is "policy NAME" or "security group NAME rule N") and the fix.

use crate::model::error::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("group {0}: already exists")]
    GroupExists(String),
    #[error("group {0}: a network has that name; name the group otherwise")]
    GroupIsNetwork(String),
    #[error("group {0}: has no CIDR; give at least one --cidr ADDR/LEN")]
    GroupEmpty(String),
    #[error("group {group}: {cidr} is not a CIDR; write ADDR/LEN")]
    GroupCidr { group: String, cidr: String },
    #[error("{owner}: --{field} {text} is not a CIDR; write ADDR/LEN")]
    SideCidr {
        owner: String,
        field: &'static str,
        text: String,
    },
    #[error(
        "{owner}: --{field} {text} is neither a network, a group nor a CIDR; add the network or group, or write ADDR/LEN"
    )]
    SideUnknown {
        owner: String,
        field: &'static str,
        text: String,
    },
    #[error("{owner}: --port {text}: use N or N-M with 0 <= N <= M <= 65535")]
    PortRange { owner: String, text: String },
    #[error("{owner}: --proto {proto}: use tcp, udp, icmp or any")]
    Proto { owner: String, proto: String },
    #[error("{0}: --port needs --proto tcp or udp")]
    PortWithoutProto(String),
    #[error("{0}: --icmp-type needs --proto icmp")]
    IcmpTypeWithoutIcmp(String),
    #[error("policy {name}: --from {from} and --to {to} are of different address families")]
    Families {
        name: String,
        from: String,
        to: String,
    },
    #[error("policy {name}: --action {action}: use allow, deny or reject")]
    Action { name: String, action: String },
    #[error("policy {name}: --stateless only applies to allow ({action} never tracks)")]
    StatelessRefusal { name: String, action: &'static str },
    #[error("policy {0}: already exists")]
    PolicyExists(String),
    #[error("security group {0}: already exists")]
    SecurityGroupExists(String),
    #[error("port {port}: security group {group} does not exist; add it first")]
    UnknownSecurityGroup { port: String, group: String },
    #[error("{owner}: --remote {text} is a network; name a CIDR or an address group")]
    RemoteIsNetwork { owner: String, text: String },
    #[error("{owner}: --direction {direction}: use ingress or egress")]
    Direction { owner: String, direction: String },
}

impl From<RuleError> for ConfigError {
    fn from(e: RuleError) -> Self {
        ConfigError::Invalid(e.to_string())
    }
}
