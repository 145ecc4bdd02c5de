//! The firewall's datapath step, for packets the router moves between networks: a packet of
//! a tracked connection passes (its TCP segment in window), a related ICMP error passes, and
//! a new connection is decided by the first matching rule; between networks, no rule means
//! no entry.

use std::sync::Arc;

use super::classifier::{Classifier, Query};
use super::conntrack::{Conn, ConnKey, ConnState, Conntrack, Endpoint, Full, Hashed, Path};
use super::flow::{FiveTuple, Flow};
use super::log::{FirewallLog, LogEntry};
use super::rule::Action;
use super::security::{self, Direction, PortSecurity};
use super::tcp::{Invalid, Tcp};
use crate::firewall::FirewallDrop;
use crate::note;
use crate::packet::{icmp, ipproto};
use crate::pipeline::drop::DropReason;
use crate::pipeline::snapshot::NetIdx;
use crate::pipeline::Context;

/// What a snapshot holds of the firewall.
#[derive(Debug, Default)]
pub struct Firewall {
    pub classifier: Classifier,
    pub conntrack: Arc<Conntrack>,
    /// Keep established connections a policy change no longer allows.
    pub keep_on_policy_change: bool,
    pub log: Arc<FirewallLog>,
    /// Some port has security groups.
    pub secured_ports: bool,
    /// Indexed like the topology's networks.
    pub nets: Vec<FirewallNet>,
    /// Indexed by port id: the rules of the port's security groups, if it has any.
    pub security: Vec<Option<Arc<PortSecurity>>>,
}

/// What the firewall knows of one network.
#[derive(Debug, Clone, Copy, Default)]
pub struct FirewallNet {
    /// `--isolated`: IP between its endpoints passes only where a policy allows it.
    pub isolated: bool,
    /// The connection-table quota of the connections its endpoints open.
    pub conn_quota: u16,
    /// The connection-table zone of the connections opened from it: its VRF, or one of its
    /// own for a network without a gateway (isolated, not routed).
    pub zone: u16,
}

impl Firewall {
    #[inline]
    pub fn net(&self, net: NetIdx) -> Option<&FirewallNet> {
        self.nets.get(usize::from(net))
    }

    /// The connection-table zone of connections opened from network `net`.
    #[inline]
    pub fn zone(&self, net: NetIdx) -> u16 {
        self.net(net).map_or(0x8000 | net, |n| n.zone)
    }

    #[inline]
    pub fn isolated(&self, net: NetIdx) -> bool {
        self.net(net).is_some_and(|n| n.isolated)
    }

    /// The security groups of port `port`, if it has any.
    #[inline]
    pub fn security(&self, port: u16) -> Option<&PortSecurity> {
        self.security.get(usize::from(port))?.as_deref()
    }

    #[inline]
    pub fn has_security(&self, port: u16) -> bool {
        self.security(port).is_some()
    }
}

/// The firewall's word on one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pass,
    Drop(DropReason),
    /// Drop, and tell the sender (TCP reset, ICMP administratively prohibited).
    Reject(DropReason),
}

/// Always inlined: the key is then written straight where the caller keeps it (returned, the
/// 64 bytes went through the stack and were read back before their stores had landed).
#[inline(always)]
fn key(zone: u16, t: &FiveTuple) -> Hashed {
    Hashed::new(
        zone,
        t.proto,
        Endpoint::new(t.src, t.sport),
        Endpoint::new(t.dst, t.dport),
    )
}

fn invalid(e: Invalid) -> DropReason {
    match e {
        Invalid::Flags => FirewallDrop::TcpFlags.into(),
        Invalid::Window => FirewallDrop::TcpWindow.into(),
        Invalid::State => FirewallDrop::CtInvalid.into(),
    }
}

/// What happened to a packet of a known connection.
enum Known {
    Decided(Decision),
    /// The connection had closed and this packet opens it again.
    Reopen,
}

/// The opening packet's question to the classifier, for a connection checked again after a
/// policy change. An ICMP connection is a ping: it is asked as an echo request.
fn opening_query(key: &ConnKey, conn: &Conn, proto: u8) -> Query {
    let icmp_type = match proto {
        ipproto::ICMP => icmp::v4::ECHO_REQUEST,
        ipproto::ICMPV6 => icmp::v6::ECHO_REQUEST,
        _ => 0,
    };
    Query {
        icmp_type,
        from_net: conn.from_net,
        to_net: conn.to_net,
        src: conn.orig_src(key).ip(),
        dst: conn.orig_dst(key).ip(),
        proto,
        dport: conn.orig_dst(key).port,
    }
}

/// A packet of a known connection: its state moves on and it is counted. Always inlined into
/// `check`, the per-packet path of an established connection.
#[inline(always)]
fn track(ctx: &Context<'_, Firewall>, packet: &Hashed, conn: &mut Conn, f: &Flow) -> (Known, bool) {
    let key = &packet.key;
    let fw = ctx.tables;
    let classifier = &fw.classifier;
    if conn.generation != classifier.generation {
        let q = opening_query(key, conn, f.tuple.proto);
        match admit(ctx, &q, &conn.path, |_, _| {}) {
            Admitted::Tracked(name) => {
                conn.rule = name;
                conn.generation = classifier.generation;
            }
            _ if fw.keep_on_policy_change => conn.generation = classifier.generation,
            _ => {
                return (
                    Known::Decided(Decision::Drop(FirewallDrop::PolicyCut.into())),
                    true,
                )
            }
        }
    }
    let dir = conn.direction(packet.src_side);
    match (&mut conn.state, &f.tcp) {
        (ConnState::Tcp(t), Some(seg)) => {
            let closed = matches!(
                t.state,
                super::tcp::State::Closed | super::tcp::State::TimeWait
            );
            if closed && seg.is_open() {
                return (Known::Reopen, true);
            }
            if let Err(e) = t.track(dir, seg) {
                return (Known::Decided(Decision::Drop(invalid(e))), false);
            }
        }
        (ConnState::Tcp(_), None) => {
            return (
                Known::Decided(Decision::Drop(FirewallDrop::CtInvalid.into())),
                false,
            )
        }
        (state @ ConnState::Unreplied, _) if dir == 1 => *state = ConnState::Replied,
        _ => {}
    }
    conn.last_seen = ctx.now;
    conn.packets[dir] += 1;
    conn.bytes[dir] += u64::from(f.len);
    (Known::Decided(Decision::Pass), false)
}

/// `track` for a traced packet: says what the connection table knows, and in a simulated trace
/// decides on a copy of the connection (the table keeps its state).
#[inline(never)]
fn traced(
    ctx: &Context<'_, Firewall>,
    packet: &Hashed,
    conn: &mut Conn,
    f: &Flow,
) -> (Known, bool) {
    let dir = match conn.direction(packet.src_side) {
        0 => "original",
        _ => "reply",
    };
    note!(
        ctx,
        "firewall",
        "{}: tracked connection ({dir} direction, {}, rule {})",
        Shown(&f.tuple),
        conn.state.name(),
        conn.rule
    );
    let (known, cut) = match ctx.dry_run() {
        true => {
            let (known, _) = track(ctx, packet, &mut conn.clone(), f);
            (known, false)
        }
        false => track(ctx, packet, conn, f),
    };
    match &known {
        Known::Decided(Decision::Pass) => note!(ctx, "firewall", "allowed: {}", conn.state.name()),
        Known::Decided(_) => note!(ctx, "firewall", "denied by the connection's state"),
        Known::Reopen => note!(ctx, "firewall", "closed connection opened again"),
    }
    (known, cut)
}

/// A five-tuple as a trace shows it.
struct Shown<'a>(&'a FiveTuple);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0;
        let proto = match t.proto {
            ipproto::TCP => "tcp",
            ipproto::UDP => "udp",
            ipproto::ICMP | ipproto::ICMPV6 => "icmp",
            _ => "ip",
        };
        match t.proto {
            ipproto::TCP | ipproto::UDP => {
                write!(f, "{proto} {}:{} -> {}:{}", t.src, t.sport, t.dst, t.dport)
            }
            _ => write!(f, "{proto} {} -> {}", t.src, t.dst),
        }
    }
}

/// Works out the connection key of flow `f` in VRF `zone` ahead of its lookup (the burst
/// prefetches its slot with it, and the lookup and direction reuse it).
#[inline]
pub fn key_flow(f: &mut Flow, zone: u16) {
    f.conn = Some(key(zone, &f.tuple));
}

/// The connection key of flow `f` in `zone`: the one the burst computed, or else one worked
/// out now into `fresh`.
#[inline]
fn hashed<'a>(f: &'a Flow, zone: u16, fresh: &'a mut Option<Hashed>) -> &'a Hashed {
    match &f.conn {
        Some(h) if h.key.zone == zone => h,
        _ => fresh.insert(key(zone, &f.tuple)),
    }
}

/// Where a packet goes, as the firewall sees it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The connection-table zone (the VRF, or a network of its own).
    pub zone: u16,
    pub from_net: NetIdx,
    pub to_net: NetIdx,
    pub path: Path,
}

/// The firewall's decision for the IP packet read as `f` on its way `route`.
pub fn check(ctx: &Context<'_, Firewall>, f: &Flow, route: &Route) -> Decision {
    let fw = ctx.tables;
    let ct = &fw.conntrack;
    let zone = route.zone;
    let mut fresh = None;
    let packet = hashed(f, zone, &mut fresh);
    let known = |conn: &mut Conn| {
        if ctx.trace.is_some() {
            return traced(ctx, packet, conn, f);
        }
        track(ctx, packet, conn, f)
    };
    match ct.with(packet, ctx.now, known) {
        Some(Known::Decided(d)) => return d,
        Some(Known::Reopen) | None => {}
    }
    if let Some(quoted) = &f.related {
        // An error about a packet of a tracked connection: the quoted packet went the other
        // way, and its connection's key is direction-free anyway.
        if ct
            .with(&key(zone, quoted), ctx.now, |_| ((), false))
            .is_some()
        {
            note!(
                ctx,
                "firewall",
                "{}: an error about a tracked connection: allowed",
                Shown(&f.tuple)
            );
            return Decision::Pass;
        }
    }
    if let Some(seg) = &f.tcp {
        if !seg.flags_valid() {
            note!(ctx, "firewall", "{}: invalid TCP flags", Shown(&f.tuple));
            return Decision::Drop(FirewallDrop::TcpFlags.into());
        }
        if !seg.is_open() {
            // Mid-connection TCP with no connection: never admitted by a rule.
            note!(
                ctx,
                "firewall",
                "{}: TCP segment of no tracked connection",
                Shown(&f.tuple)
            );
            return Decision::Drop(FirewallDrop::CtInvalid.into());
        }
    } else if f.tuple.proto == ipproto::TCP {
        return Decision::Drop(FirewallDrop::CtInvalid.into());
    }
    open(ctx, fw, packet, f, route)
}

/// What the rules make of a new connection.
enum Admitted {
    /// Open a tracked connection, admitted by the rule or security group named.
    Tracked(Arc<str>),
    /// Pass without tracking (a stateless allow, no security group involved).
    Untracked,
    Refused(Decision),
}

/// The security groups of `port` on the `dir` side of `q`: `None` when the port has none.
fn port_admits(
    ctx: &Context<'_, Firewall>,
    port: Option<u16>,
    dir: Direction,
    q: &Query,
) -> Option<Option<Arc<str>>> {
    let sec = ctx.tables.security(port?)?;
    Some(sec.admits(dir, q).cloned())
}

/// The decision of the policies (when the packet crosses networks or an isolated one) and of
/// the security groups of the ports it leaves and enters, for the first packet `q` of a
/// connection.
/// `decided` is told which rule decided, if one did.
fn admit(
    ctx: &Context<'_, Firewall>,
    q: &Query,
    path: &Path,
    decided: impl FnOnce(usize, Action),
) -> Admitted {
    let fw = ctx.tables;
    let mut admitted = None;
    let mut stateful = false;
    if path.policed {
        let classifier = &fw.classifier;
        let Some((i, action)) = classifier.decide(q) else {
            note!(
                ctx,
                "firewall",
                "no policy matches: denied (networks are isolated unless a policy allows)"
            );
            return Admitted::Refused(Decision::Drop(FirewallDrop::PolicyDeny.into()));
        };
        decided(i, action);
        let rule = classifier.rule(i);
        note!(ctx, "firewall", "policy {}: {}", rule.name, action.name());
        match action {
            Action::Deny => {
                return Admitted::Refused(Decision::Drop(FirewallDrop::PolicyDeny.into()))
            }
            Action::Reject => {
                return Admitted::Refused(Decision::Reject(FirewallDrop::PolicyReject.into()))
            }
            Action::Allow => {}
        }
        admitted = Some(rule.name.clone());
        stateful = rule.stateful;
    }
    if fw.secured_ports && !security::exempt(q) {
        for (port, dir) in [
            (Some(path.in_port), Direction::Egress),
            (path.out_port, Direction::Ingress),
        ] {
            match port_admits(ctx, port, dir, q) {
                None => {}
                Some(None) => {
                    note!(
                        ctx,
                        "firewall",
                        "no security group of port {} admits it: denied",
                        ctx.port_name(port.unwrap_or_default())
                    );
                    return Admitted::Refused(Decision::Drop(FirewallDrop::SecurityGroup.into()));
                }
                Some(Some(group)) => {
                    stateful = true;
                    admitted.get_or_insert(group);
                }
            }
        }
    }
    match admitted {
        Some(name) if stateful => Admitted::Tracked(name),
        _ => Admitted::Untracked,
    }
}

/// The classifier's question for the packet read as `f` from network `from_net` to `to_net`.
fn query(f: &Flow, from_net: NetIdx, to_net: NetIdx) -> Query {
    Query {
        from_net,
        to_net,
        src: f.tuple.src,
        dst: f.tuple.dst,
        proto: f.tuple.proto,
        dport: f.tuple.dport,
        icmp_type: f.icmp_type,
    }
}

/// Whether a copy of the IP packet read as `f`, flooded in network `net` (connection zone
/// `zone`) to an unknown destination MAC, may leave by `port`: a port with security groups
/// takes it only when their ingress rules allow it, or it belongs to a tracked connection
/// that port took part in (a reply to what its endpoint opened, say).
pub fn flood_admits(
    ctx: &Context<'_, Firewall>,
    f: &Flow,
    zone: u16,
    net: NetIdx,
    port: u16,
) -> bool {
    let Some(sec) = ctx.tables.security(port) else {
        return true;
    };
    let q = query(f, net, net);
    if security::exempt(&q) || sec.admits(Direction::Ingress, &q).is_some() {
        return true;
    }
    let conntrack = &ctx.tables.conntrack;
    let took_part = |c: &mut Conn| {
        let p = c.path;
        (p.in_port == port || p.out_port == Some(port), false)
    };
    conntrack.with(hashed(f, zone, &mut None), ctx.now, took_part) == Some(true)
}

/// A packet no connection admits: the policies and security groups decide; what they allow
/// opens a connection (unless only a stateless rule allowed it).
fn open(
    ctx: &Context<'_, Firewall>,
    fw: &Firewall,
    packet: &Hashed,
    f: &Flow,
    route: &Route,
) -> Decision {
    let q = query(f, route.from_net, route.to_net);
    note!(
        ctx,
        "firewall",
        "{}: new connection, {} -> {}",
        Shown(&f.tuple),
        ctx.net_name(route.from_net),
        ctx.net_name(route.to_net)
    );
    // A described packet (a simulated trace) counts no rule hit and opens no connection.
    let dry_run = ctx.dry_run();
    let decided = |i, action| {
        if !dry_run {
            count(ctx, fw, i, action, f, route)
        }
    };
    let rule = match admit(ctx, &q, &route.path, decided) {
        Admitted::Refused(d) => return d,
        Admitted::Untracked => {
            note!(ctx, "firewall", "allowed, not tracked (a stateless rule)");
            return Decision::Pass;
        }
        Admitted::Tracked(name) => name,
    };
    if dry_run {
        note!(
            ctx,
            "firewall",
            "allowed: would open a connection (rule {rule})"
        );
        return Decision::Pass;
    }
    note!(ctx, "firewall", "allowed: connection opened (rule {rule})");
    let state = match &f.tcp {
        Some(seg) => ConnState::Tcp(Tcp::open(seg)),
        None => ConnState::Unreplied,
    };
    let conn = Conn {
        orig: packet.src_side,
        from_net: route.from_net,
        to_net: route.to_net,
        path: route.path,
        quota: fw.net(route.from_net).map_or(0, |n| n.conn_quota),
        state,
        rule,
        generation: fw.classifier.generation,
        created: ctx.now,
        last_seen: ctx.now,
        packets: [1, 0],
        bytes: [u64::from(f.len), 0],
    };
    match fw.conntrack.insert(packet.key, conn) {
        Ok(()) => Decision::Pass,
        Err(Full::Table) => Decision::Drop(FirewallDrop::CtFull.into()),
        Err(Full::Network) => Decision::Drop(FirewallDrop::CtNetworkFull.into()),
    }
}

/// Counts (and logs, when it asks) the decision of rule `i`.
fn count(
    ctx: &Context<'_, Firewall>,
    fw: &Firewall,
    i: usize,
    action: Action,
    f: &Flow,
    route: &Route,
) {
    fw.classifier.hit(i);
    let rule = fw.classifier.rule(i);
    if rule.log {
        fw.log.record(LogEntry {
            at: ctx.now,
            rule: rule.name.clone(),
            action,
            tuple: f.tuple,
            from_net: route.from_net,
            to_net: route.to_net,
        });
    }
}
