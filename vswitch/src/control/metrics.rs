//! The exposition of the switch's counters and table sizes, served at `/metrics` by `http.rs`
//! when vswitchd runs with `--metrics IP:PORT`: OpenMetrics 1.0 to a scraper that asks for it,
//! the Prometheus text format 0.0.4 otherwise (the two differ in a counter family's name,
//! which OpenMetrics gives without `_total`, and in OpenMetrics' closing `# EOF`). A port's
//! counter has the name `vsctl stats show --json` gives it: `rx_packets` is
//! `vswitch_port_rx_packets_total{port="..."}`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::pb::Stats;
use super::Daemon;

/// The text formats an exposition comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// The format a request's `Accept` header asks for (OpenMetrics only when named).
    pub fn accepted(accept: &str) -> Format {
        match accept.contains("application/openmetrics-text") {
            true => Format::OpenMetrics,
            false => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The exposition of everything the switch counts now.
pub fn render(shared: &Daemon, format: Format) -> String {
    let mut out = Exposition {
        format,
        text: String::new(),
    };
    if let Ok(stats) = super::stats::gather(shared, "") {
        ports(&mut out, &stats);
        workers(&mut out, &stats);
    }
    links(&mut out, shared);
    tables(&mut out, shared);
    if format == Format::OpenMetrics {
        out.text.push_str("# EOF\n");
    }
    out.text
}

#[derive(Default)]
struct Exposition {
    format: Format,
    text: String,
}

impl Exposition {
    /// Starts metric family `name` of `kind` (counter or gauge); `name` is a counter's sample
    /// name, with `_total`.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let name = match (self.format, kind) {
            (Format::OpenMetrics, "counter") => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample of the family just started.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A label value as the text format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn ports(out: &mut Exposition, stats: &Stats) {
    type Get = fn(&super::pb::PortStats) -> u64;
    let software: [(&str, &str, Get); 4] = [
        ("rx_packets", "Packets received on the port.", |p| {
            p.rx_packets
        }),
        ("rx_bytes", "Bytes received on the port.", |p| p.rx_bytes),
        ("tx_packets", "Packets sent on the port.", |p| p.tx_packets),
        ("tx_bytes", "Bytes sent on the port.", |p| p.tx_bytes),
    ];
    for (key, help, get) in software {
        let name = format!("vswitch_port_{key}_total");
        out.family(&name, "counter", help);
        for p in &stats.ports {
            out.sample(&name, &[("port", &p.name)], get(p));
        }
    }
    let name = "vswitch_port_drops_total";
    out.family(
        name,
        "counter",
        "Packets dropped, by the port they came in on (or were to leave by) and reason.",
    );
    for p in &stats.ports {
        for r in &stats.reasons {
            let n = p.drops.get(&r.name).copied().unwrap_or(0);
            out.sample(name, &[("port", &p.name), ("reason", &r.name)], n);
        }
    }
    type Hw = fn(&super::pb::HardwareStats) -> u64;
    let hardware: [(&str, &str, Hw); 8] = [
        ("ipackets", "Packets the PMD received.", |h| h.ipackets),
        ("opackets", "Packets the PMD sent.", |h| h.opackets),
        ("ibytes", "Bytes the PMD received.", |h| h.ibytes),
        ("obytes", "Bytes the PMD sent.", |h| h.obytes),
        ("imissed", "Packets the PMD dropped: RX queue full.", |h| {
            h.imissed
        }),
        ("ierrors", "Erroneous packets the PMD received.", |h| {
            h.ierrors
        }),
        ("oerrors", "Packets the PMD failed to send.", |h| h.oerrors),
        ("rx_nombuf", "RX mbuf allocation failures.", |h| h.rx_nombuf),
    ];
    for (key, help, get) in hardware {
        let name = format!("vswitch_port_hw_{key}_total");
        out.family(&name, "counter", help);
        for p in &stats.ports {
            let v = p.hw.as_ref().map_or(0, get);
            out.sample(&name, &[("port", &p.name)], v);
        }
    }
}

/// Each port's link, and a vhost-user port's guest connection.
fn links(out: &mut Exposition, shared: &Daemon) {
    let mut devices: Vec<(String, u16)> = shared
        .manager
        .devices()
        .into_iter()
        .map(|(name, d)| (name, d.id))
        .collect();
    devices.sort();
    let name = "vswitch_port_link_up";
    out.family(name, "gauge", "1 when the port's link is up.");
    for (port, id) in &devices {
        let up = u8::from(crate::dpdk::port::info(*id).link_up);
        out.sample(name, &[("port", port)], up);
    }
    let vhost: Vec<_> = devices
        .iter()
        .filter_map(|(port, id)| Some((port, crate::dpdk::vhost::status(*id)?)))
        .collect();
    let name = "vswitch_vhost_connected";
    out.family(
        name,
        "gauge",
        "1 while a vhost-user port's guest is connected.",
    );
    for (port, v) in &vhost {
        out.sample(name, &[("port", port)], u8::from(v.connected));
    }
    type Get = fn(&crate::dpdk::vhost::VhostStatus) -> u64;
    let counters: [(&str, &str, Get); 2] = [
        ("connects", "Guest connections of a vhost-user port.", |v| {
            v.connects
        }),
        (
            "disconnects",
            "Guest disconnections of a vhost-user port.",
            |v| v.disconnects,
        ),
    ];
    for (key, help, get) in counters {
        let name = format!("vswitch_vhost_{key}_total");
        out.family(&name, "counter", help);
        for (port, v) in &vhost {
            out.sample(&name, &[("port", port)], get(v));
        }
    }
}

fn workers(out: &mut Exposition, stats: &Stats) {
    type Get = fn(&super::pb::WorkerStatus) -> u64;
    let counters: [(&str, &str, Get); 5] = [
        ("busy_polls", "Polls that found packets.", |w| w.busy_polls),
        ("idle_polls", "Polls that found none.", |w| w.idle_polls),
        ("busy_cycles", "TSC cycles spent in busy polls.", |w| {
            w.busy_cycles
        }),
        ("idle_cycles", "TSC cycles spent in idle polls.", |w| {
            w.idle_cycles
        }),
        ("rx_packets", "Packets the worker received.", |w| {
            w.rx_packets
        }),
    ];
    for (key, help, get) in counters {
        let name = format!("vswitch_worker_{key}_total");
        out.family(&name, "counter", help);
        for w in &stats.workers {
            let (id, cpu) = (w.id.to_string(), w.cpu.to_string());
            out.sample(&name, &[("worker", &id), ("cpu", &cpu)], get(w));
        }
    }
    let name = "vswitch_worker_cycles_per_packet";
    out.family(
        name,
        "gauge",
        "Busy cycles per received packet since the start.",
    );
    for w in &stats.workers {
        let (id, cpu) = (w.id.to_string(), w.cpu.to_string());
        let cpp = w.busy_cycles as f64 / w.rx_packets.max(1) as f64;
        out.sample(name, &[("worker", &id), ("cpu", &cpu)], format!("{cpp:.1}"));
    }
}

/// Table sizes against their limits: FDB per network, routes per VRF, connections, NAT.
fn tables(out: &mut Exposition, shared: &Daemon) {
    let mgr = &shared.manager;
    let fdbs = mgr.fdb_tables();
    out.family(
        "vswitch_fdb_entries",
        "gauge",
        "MAC table entries of a network.",
    );
    for (net, t) in &fdbs {
        out.sample("vswitch_fdb_entries", &[("network", net)], t.len());
    }
    out.family("vswitch_fdb_limit", "gauge", "The MAC limit of a network.");
    for (net, t) in &fdbs {
        out.sample("vswitch_fdb_limit", &[("network", net)], t.limit());
    }
    // Counted in the model: a million static routes are not listed for a scrape.
    let routes = mgr.read(|model| {
        let mut routes: BTreeMap<(String, &str), usize> = BTreeMap::new();
        for n in &model.networks {
            if let Some(vrf) = crate::model::vrf_of(n) {
                *routes.entry((vrf.to_string(), "connected")).or_default() += n.subnets.len();
            }
        }
        for r in &model.routes {
            *routes.entry((r.vrf().to_string(), "static")).or_default() += 1;
        }
        routes
    });
    out.family(
        "vswitch_routes",
        "gauge",
        "Routes of a VRF: its subnets and static routes.",
    );
    for ((vrf, kind), n) in &routes {
        out.sample("vswitch_routes", &[("vrf", vrf), ("kind", kind)], n);
    }
    let ct = crate::firewall::api::stats(mgr);
    let gauges = [
        (
            "vswitch_conntrack_connections",
            "Tracked connections.",
            ct.connections,
        ),
        (
            "vswitch_conntrack_limit",
            "The connection table's limit.",
            ct.limit,
        ),
    ];
    for (name, help, v) in gauges {
        out.family(name, "gauge", help);
        out.sample(name, &[], v);
    }
    let counters = [
        (
            "vswitch_conntrack_created_total",
            "Connections created.",
            ct.created,
        ),
        (
            "vswitch_conntrack_ended_total",
            "Connections ended.",
            ct.ended,
        ),
        (
            "vswitch_conntrack_refused_full_total",
            "New connections refused: the table was full.",
            ct.refused_full,
        ),
    ];
    for (name, help, v) in counters {
        out.family(name, "counter", help);
        out.sample(name, &[], v);
    }
    let name = "vswitch_conntrack_network_connections";
    out.family(name, "gauge", "Tracked connections of a network.");
    for n in &ct.networks {
        out.sample(name, &[("network", &n.network)], n.connections);
    }
    let name = "vswitch_service_sessions";
    out.family(name, "gauge", "Connections to a service's VIP.");
    for s in crate::nat::api::list_services(mgr, None).unwrap_or_default() {
        out.sample(name, &[("service", &s.service.name)], s.sessions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_has_help_type_and_escaped_labels() {
        let mut out = Exposition::default();
        out.family("vswitch_x_total", "counter", "X.");
        out.sample(
            "vswitch_x_total",
            &[("port", "a\"b\\c"), ("reason", "r")],
            3,
        );
        out.sample("vswitch_x_total", &[], 4);
        assert_eq!(
            out.text,
            "# HELP vswitch_x_total X.\n# TYPE vswitch_x_total counter\n\
             vswitch_x_total{port=\"a\\\"b\\\\c\",reason=\"r\"} 3\nvswitch_x_total 4\n"
        );
    }

    #[test]
    fn openmetrics_names_a_counter_family_without_its_total() {
        let mut out = Exposition {
            format: Format::OpenMetrics,
            text: String::new(),
        };
        out.family("vswitch_x_total", "counter", "X.");
        out.sample("vswitch_x_total", &[], 4);
        out.family("vswitch_y", "gauge", "Y.");
        assert_eq!(
            out.text,
            "# HELP vswitch_x X.\n# TYPE vswitch_x counter\nvswitch_x_total 4\n\
             # HELP vswitch_y Y.\n# TYPE vswitch_y gauge\n"
        );
        let asked = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(Format::accepted(asked), Format::OpenMetrics);
        assert_eq!(Format::accepted("*/*"), Format::Prometheus);
    }
}
