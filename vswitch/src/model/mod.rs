//! The operator's model of the switch: what `vsctl` edits, `apply -f` takes as TOML/JSON, and
//! the state dir persists. Plain data, below every feature: each validates and builds its own
//! part of it.

pub mod edit;
pub mod error;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Network>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Static MAC entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fdb: Vec<StaticMac>,
    /// Static routes of the VRFs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<StaticRoute>,
    /// Static neighbors (ARP / ND entries that never age).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbors: Vec<StaticNeighbor>,
    /// Named sets of address ranges that policies can name on either side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<AddressGroup>,
    /// Firewall policies between networks and address ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Policy>,
    /// Per-port allow lists (see `Port::security_groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroup>,
    /// Connection tracking settings.
    #[serde(default, skip_serializing_if = "ConntrackSettings::is_default")]
    pub conntrack: ConntrackSettings,
    /// The switch's VXLAN tunnel endpoint (the tunnel gateway role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep: Option<Vtep>,
    /// Source NAT of connections from internal networks toward external ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snat: Vec<Snat>,
    /// Addresses of external networks mapped 1:1 onto internal endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floating_ips: Vec<FloatingIp>,
    /// Service VIPs, each balancing new connections over its backends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// The hardware_vtep agent: the OVSDB database this switch mirrors, and what it mirrored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep_agent: Option<VtepAgent>,
    /// Flow records of the connection table exported to an IPFIX collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipfix: Option<Ipfix>,
}

/// IPFIX export (RFC 7011) of the connections the firewall tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipfix {
    /// The collector: `IP:PORT` (UDP).
    pub collector: String,
    /// One connection in N is exported (chosen by its addresses and ports).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub sampling: u32,
    /// Seconds after which a long-lived connection's counts are exported again.
    #[serde(default = "active_timeout")]
    pub active_timeout: u32,
    /// Seconds without a packet after which a connection's counts are exported.
    #[serde(default = "idle_timeout")]
    pub idle_timeout: u32,
}

impl Ipfix {
    pub const ACTIVE_TIMEOUT: u32 = 60;
    pub const IDLE_TIMEOUT: u32 = 15;
}

fn active_timeout() -> u32 {
    Ipfix::ACTIVE_TIMEOUT
}

fn idle_timeout() -> u32 {
    Ipfix::IDLE_TIMEOUT
}

/// The hardware_vtep agent's settings, and the objects it mirrored from the database into this
/// model: it adds, changes and removes only those, never an operator's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtepAgent {
    /// The OVSDB server: `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT`.
    pub db: String,
    /// The `Physical_Switch` this node registers as.
    pub name: String,
    /// TLS files for an `ssl:` database (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    #[serde(default, skip_serializing_if = "AgentOwned::is_empty")]
    pub owned: AgentOwned,
}

/// What the vtep agent mirrored into the model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentOwned {
    /// Networks it created, one per logical switch: with their static remote MACs and the
    /// flood lists of their VNIs, they are the database's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// Ports whose VLAN membership it sets (from their `vlan_bindings`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
}

impl AgentOwned {
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.ports.is_empty()
    }
}

/// Source NAT: connections from `from` (an internal network, or a CIDR of internal addresses)
/// that the router sends into an external network leave from an address of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snat {
    pub name: String,
    /// A network name or a CIDR.
    pub from: String,
    /// External IPv4 addresses: `IP` or `FIRST-LAST`.
    pub to: String,
    /// Source ports handed out, `A-B` (default 1024-65535).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<String>,
}

/// A floating IP: an address of an external network that stands for an internal endpoint,
/// both ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatingIp {
    pub ip: String,
    /// The internal address it maps onto.
    pub endpoint: String,
    /// The VRF of both (default: the default VRF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
}

impl FloatingIp {
    pub fn vrf(&self) -> &str {
        self.vrf.as_deref().unwrap_or(DEFAULT_VRF)
    }
}

/// A service VIP: new connections to `vip` go to one of `backends` (DNAT), chosen by a
/// consistent hash; a connection stays on its backend for its whole life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// `IP:PORT` (an IPv4 address outside every subnet).
    pub vip: String,
    /// `tcp` or `udp`.
    pub proto: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<Backend>,
    /// The backend follows the client's address, not each connection (session affinity).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub affinity: bool,
    /// Backend probes: `tcp` (default), `http:PATH` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<String>,
    /// When probes go and how many decide.
    #[serde(default, skip_serializing_if = "HealthTiming::is_default")]
    pub health_timing: HealthTiming,
    /// The VRF of the VIP and its backends (default: the default VRF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
}

impl Service {
    pub fn vrf(&self) -> &str {
        self.vrf.as_deref().unwrap_or(DEFAULT_VRF)
    }
}

/// A backend of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// `IP:PORT`.
    pub addr: String,
    /// Its share of new connections against the others' (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: u32,
    /// Drained: no new connections, the current ones stay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drained: bool,
}

/// A service's probe timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthTiming {
    /// Seconds from one probe of a backend to the next.
    pub interval: u32,
    /// Seconds a probe waits for its answer (at most the interval).
    pub timeout: u32,
    /// Successes in a row that bring a backend back.
    pub rise: u32,
    /// Failures in a row that take it out.
    pub fall: u32,
}

impl Default for HealthTiming {
    fn default() -> Self {
        HealthTiming {
            interval: 2,
            timeout: 1,
            rise: 2,
            fall: 3,
        }
    }
}

impl HealthTiming {
    pub fn is_default(&self) -> bool {
        *self == HealthTiming::default()
    }
}

fn one() -> u32 {
    1
}

fn is_one(w: &u32) -> bool {
    *w == 1
}

/// The switch's VXLAN tunnel endpoint: an underlay IPv4 address on a port in no network, and
/// the remote endpoints of each VNI (the flood list of the network with that VNI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vtep {
    /// Underlay address with its prefix length, e.g. `192.0.2.1/24`.
    pub local_ip: String,
    /// The underlay port (in no network).
    pub port: String,
    /// Underlay next hop towards remote VTEPs outside the local prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// UDP destination port (default 4789).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_port: Option<u16>,
    /// Accept traffic from, and learn MACs behind, VTEPs that are not in a VNI's flood list
    /// (default: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<VtepRemote>,
}

/// The default VXLAN UDP port (IANA).
pub const DEFAULT_VXLAN_PORT: u16 = 4789;

impl Vtep {
    pub fn udp_port(&self) -> u16 {
        self.udp_port.unwrap_or(DEFAULT_VXLAN_PORT)
    }

    pub fn learning(&self) -> bool {
        self.learning.unwrap_or(true)
    }
}

/// A remote VTEP in the flood list of a VNI: broadcast, unknown unicast and multicast of the
/// network with that VNI are replicated to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtepRemote {
    pub ip: String,
    pub vni: u32,
}

/// A named set of prefixes (IPv4 and IPv6 may mix): a policy side that names it matches any
/// address in any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressGroup {
    pub name: String,
    pub cidrs: Vec<String>,
}

/// A port's allow list, stateful (replies pass): `egress` rules admit what the port's endpoint
/// sends, `ingress` rules what it receives. A port with security groups drops the IP traffic
/// none of their rules allows; ARP, ND and DHCP are not filtered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<SecurityRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityRule {
    /// ingress (to the port) or egress (from the port).
    pub direction: String,
    /// tcp, udp, icmp or any (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// Destination ports, `N` or `N-M` (tcp and udp only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// The other end: a CIDR or an address group (default: any address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// One firewall rule: traffic from `from` to `to` (a network, an address group or a CIDR)
/// matching `proto` and destination `ports` (or `icmp_type`) gets `action`. Rules are tried in
/// ascending `priority`, then in the order they were added; the first match decides. Traffic between networks that no rule
/// allows is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub from: String,
    pub to: String,
    /// tcp, udp, icmp or any (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// Destination ports, `N` or `N-M` (tcp and udp only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<String>,
    /// ICMP (or ICMPv6) type (icmp only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// allow, deny (silent) or reject (TCP RST / ICMP unreachable).
    pub action: String,
    /// Allow each packet on its own instead of tracking connections (replies need their own
    /// rule then).
    #[serde(default, skip_serializing_if = "is_false")]
    pub stateless: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Record each connection (or packet) it decides in the firewall log.
    #[serde(default, skip_serializing_if = "is_false")]
    pub log: bool,
}

/// The priority of a policy that names none.
pub const DEFAULT_POLICY_PRIORITY: u32 = 1000;

impl Policy {
    pub fn priority(&self) -> u32 {
        self.priority.unwrap_or(DEFAULT_POLICY_PRIORITY)
    }
}

/// What connection tracking keeps and what a policy change does to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConntrackSettings {
    /// Most connections tracked at once (default 1 000 000); new ones beyond are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Keep established connections a policy change no longer allows (default: cut them).
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_on_policy_change: bool,
}

impl ConntrackSettings {
    fn is_default(&self) -> bool {
        *self == ConntrackSettings::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dhcp: bool,
    /// Addresses DHCP hands out: `FIRST-LAST` in the IPv4 subnet (default: the whole subnet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_range: Option<String>,
    /// DNS servers DHCP tells clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Fixed DHCP addresses: `MAC=IP`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dhcp_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub isolated: bool,
    /// The outside: SNAT and floating IPs translate what crosses into it from other networks.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fdb_aging_secs: Option<u32>,
    /// Most tracked connections its endpoints open at once (default: only the switch-wide
    /// limit applies); new ones beyond are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conntrack_limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortType {
    Tap,
    AfPacket,
    VhostUser,
    VhostUserClient,
    Pci,
    Vdev,
}

impl PortType {
    pub fn name(self) -> &'static str {
        match self {
            PortType::Tap => "tap",
            PortType::AfPacket => "af-packet",
            PortType::VhostUser => "vhost-user",
            PortType::VhostUserClient => "vhost-user-client",
            PortType::Pci => "pci",
            PortType::Vdev => "vdev",
        }
    }

    pub fn parse(s: &str) -> Option<PortType> {
        [
            PortType::Tap,
            PortType::AfPacket,
            PortType::VhostUser,
            PortType::VhostUserClient,
            PortType::Pci,
            PortType::Vdev,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: PortType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devargs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u16>,
    /// Untagged access port of this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Access port of the network whose VLAN id this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// Trunk carrying the networks with these VLAN ids, tagged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trunk: Vec<u16>,
    /// Security groups: with any, the port passes only the IP traffic their rules allow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
}

pub const DEFAULT_MTU: u16 = 1500;

impl Port {
    pub fn queues(&self) -> u16 {
        self.queues.unwrap_or(1).max(1)
    }

    pub fn mtu(&self) -> u16 {
        self.mtu.unwrap_or(DEFAULT_MTU)
    }

    /// True when `other` needs the device re-created (not just a new snapshot).
    pub fn device_differs(&self, other: &Port) -> bool {
        self.kind != other.kind
            || self.iface != other.iface
            || self.path != other.path
            || self.pci != other.pci
            || self.devargs != other.devargs
            || self.queues() != other.queues()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticMac {
    pub network: String,
    pub mac: String,
    /// The local port the MAC is behind (or else `remote`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub port: String,
    /// The remote VTEP the MAC is behind, in the network's VNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// A static neighbor: IP is at MAC in NETWORK (a host or router that does not answer ARP/ND).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticNeighbor {
    pub network: String,
    pub ip: String,
    pub mac: String,
}

/// The VRF of networks and routes that name none.
pub const DEFAULT_VRF: &str = "default";

/// A static route: PREFIX in VRF via one next hop or several (ECMP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    pub prefix: String,
    /// Next-hop addresses, each in a subnet of a network of the VRF.
    pub via: Vec<String>,
}

impl StaticRoute {
    pub fn vrf(&self) -> &str {
        self.vrf.as_deref().unwrap_or(DEFAULT_VRF)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Model {
    /// Every network's index by name: its place in the model, which is how snapshots number
    /// networks.
    pub fn network_index(&self) -> std::collections::HashMap<&str, u16> {
        self.networks
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i as u16))
            .collect()
    }

    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    pub fn security_group(&self, name: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|g| g.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&AddressGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn network_by_vlan(&self, vlan: u16) -> Option<&Network> {
        self.networks.iter().find(|n| n.vlan == Some(vlan))
    }

    /// The networks a port carries, with the VLAN tag each uses on the wire (None = untagged).
    pub fn port_networks<'a>(&'a self, port: &'a Port) -> Vec<(&'a Network, Option<u16>)> {
        if let Some(net) = &port.network {
            return self.network(net).map(|n| (n, None)).into_iter().collect();
        }
        if let Some(vlan) = port.vlan {
            return self
                .network_by_vlan(vlan)
                .map(|n| (n, None))
                .into_iter()
                .collect();
        }
        port.trunk
            .iter()
            .filter_map(|v| self.network_by_vlan(*v).map(|n| (n, Some(*v))))
            .collect()
    }

    /// Parses `apply -f` text: "toml" or "json".
    pub fn parse(format: &str, text: &str) -> Result<Model, ParseError> {
        match format {
            "json" => serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string())),
            "toml" => {
                toml::from_str(text).map_err(|e| ParseError::Toml(e.to_string().replace('\n', " ")))
            }
            other => Err(ParseError::Format(other.to_string())),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Why a model file was not taken (one line: TOML's multi-line messages are joined).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON model: {0}")]
    Json(String),
    #[error("invalid TOML model: {0}")]
    Toml(String),
    #[error("unknown model format {0:?}: use toml or json")]
    Format(String),
}

/// The VRF `n` routes in, when it has a subnet.
pub fn vrf_of(n: &Network) -> Option<&str> {
    (!n.subnets.is_empty()).then(|| n.vrf.as_deref().unwrap_or(DEFAULT_VRF))
}

/// The VRFs of the model, in order of first use.
pub fn vrf_names(model: &Model) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in &model.networks {
        if let Some(v) = vrf_of(n) {
            if !names.iter().any(|x| x == v) {
                names.push(v.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_and_round_trips_json() {
        let m = Model::parse(
            "toml",
            r#"
            [[networks]]
            name = "red"
            vlan = 100

            [[ports]]
            name = "p1"
            type = "af-packet"
            iface = "veth0"
            network = "red"
            "#,
        )
        .unwrap();
        assert_eq!(m.networks[0].vlan, Some(100));
        assert_eq!(m.ports[0].kind, PortType::AfPacket);
        let back = Model::parse("json", &m.to_json()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = Model::parse("json", r#"{"networks":[{"name":"a","colour":1}]}"#).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn port_networks_resolve_access_vlan_and_trunk() {
        let m = Model::parse(
            "json",
            r#"{"networks":[{"name":"a","vlan":10},{"name":"b","vlan":20}],
                "ports":[{"name":"t","type":"tap","iface":"x","trunk":[10,20]},
                         {"name":"v","type":"tap","iface":"y","vlan":20}]}"#,
        )
        .unwrap();
        let t: Vec<_> = m
            .port_networks(&m.ports[0])
            .iter()
            .map(|(n, v)| (n.name.clone(), *v))
            .collect();
        assert_eq!(t, vec![("a".into(), Some(10)), ("b".into(), Some(20))]);
        assert_eq!(m.port_networks(&m.ports[1])[0].0.name, "b");
    }
}
