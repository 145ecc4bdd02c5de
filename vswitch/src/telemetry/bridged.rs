//! Bridged flows for the IPFIX export: the workers' counts (`bridge::flows`) summed per flow
//! until its active or idle timeout comes, then one record (flows are keyed by network, MAC
//! addresses, EtherType and the ports they came in and left by).

use std::collections::HashMap;

use super::ipfix::{interface, segment, unix_ms, L2Flow, END_ACTIVE, END_IDLE};
use crate::bridge::flows::{L2Count, L2Key};
use crate::datapath::Tables;
use crate::model::Ipfix;

/// A flow and the ports it came in and left by.
type Id = (L2Key, u16, Option<u16>);

/// What a flow carried since its last record.
#[derive(Debug, Clone, Copy)]
struct Sum {
    packets: u64,
    octets: u64,
    /// Pipeline-clock seconds of the interval's first frame, and of the last frame.
    first: u32,
    last: u32,
    /// When the interval began (its first frame, or the last record).
    since: u32,
}

#[derive(Debug, Default)]
pub struct Bridged {
    flows: HashMap<Id, Sum>,
    checked_at: Option<u32>,
}

impl Bridged {
    /// Adds a worker's counts.
    pub fn add(&mut self, c: L2Count) {
        let sum = self
            .flows
            .entry((c.key, c.in_port, c.out_port))
            .or_insert(Sum {
                packets: 0,
                octets: 0,
                first: c.first,
                last: c.last,
                since: c.first,
            });
        if sum.packets == 0 {
            sum.first = c.first;
        }
        sum.packets += c.packets;
        sum.octets += c.octets;
        sum.first = sum.first.min(c.first);
        sum.last = sum.last.max(c.last);
    }

    /// The records of the flows whose timeout came, at most once a second; the flows idle past
    /// the idle timeout are forgotten.
    pub fn due(&mut self, t: &Tables, settings: &Ipfix, clocks: (u32, u32)) -> Vec<L2Flow> {
        let mut out = Vec::new();
        let now = clocks.0;
        if self.checked_at == Some(now) {
            return out;
        }
        self.checked_at = Some(now);
        self.flows.retain(|(key, in_port, out_port), sum| {
            let idle = now.saturating_sub(sum.last) >= settings.idle_timeout;
            let active = now.saturating_sub(sum.since) >= settings.active_timeout;
            if (idle || active) && sum.packets > 0 {
                out.push(L2Flow {
                    src: key.src.0,
                    dst: key.dst.0,
                    ethertype: key.ethertype,
                    segment: segment(t.vxlan.vni(key.net)),
                    ingress: interface(Some(*in_port)),
                    egress: interface(*out_port),
                    octets: sum.octets,
                    packets: sum.packets,
                    start: unix_ms(sum.first, clocks),
                    end: unix_ms(sum.last, clocks),
                    end_reason: if idle { END_IDLE } else { END_ACTIVE },
                });
                sum.packets = 0;
                sum.octets = 0;
                sum.since = now;
            }
            !idle
        });
        out
    }
}
