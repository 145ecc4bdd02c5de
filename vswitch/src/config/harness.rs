//! The in-process switch the features' pipeline tests drive (`bridge/tests.rs`,
//! `router/tests.rs`, ...): a snapshot built from a model as the manager builds it, one
//! worker's counters and scratch, bursts in through the graph, frames out.

use crate::config::build::{offline_republish, LearnedTables};
use crate::datapath::{originate, process_burst, Scratch, Snapshot};
use crate::model::Model;
use crate::packet::{arp, eth, ethertype, MacAddr};
use crate::pipeline::buf::{PacketBuf, TestBuf};
use crate::pipeline::counters::WorkerCounters;
use crate::pipeline::drop::DropReason;
use crate::pipeline::trace::{Trace, Trail};
use crate::pipeline::Output;

pub struct Switch {
    pub snap: Snapshot,
    pub learned: LearnedTables,
    pub counters: WorkerCounters,
    pub scratch: Scratch,
    pub now: u32,
    /// The model last published.
    json: String,
}

#[derive(Default)]
struct Collect(Vec<(u16, TestBuf)>);

impl Output<TestBuf> for Collect {
    fn send(&mut self, port: u16, buf: TestBuf) {
        self.0.push((port, buf));
    }

    fn alloc(&mut self, frame: &[u8]) -> Option<TestBuf> {
        Some(TestBuf::new(u16::MAX, frame))
    }
}

impl Collect {
    fn sorted(self) -> Vec<(u16, Vec<u8>)> {
        let mut got: Vec<(u16, Vec<u8>)> = self
            .0
            .into_iter()
            .map(|(p, b)| (p, b.data().to_vec()))
            .collect();
        got.sort_by_key(|(p, _)| *p);
        got
    }
}

impl Switch {
    pub fn new(json: &str) -> Switch {
        let model = Model::parse("json", json).unwrap();
        crate::config::validate::validate(&model).unwrap();
        let mut learned = LearnedTables::default();
        Switch {
            snap: offline_republish(&model, &mut learned, 1, 1),
            learned,
            counters: WorkerCounters::default(),
            scratch: Scratch::default(),
            now: 100,
            json: json.to_string(),
        }
    }

    /// Sends one burst in on `port`; returns what came out, sorted by port.
    pub fn send(&mut self, port: u16, frames: &[Vec<u8>]) -> Vec<(u16, Vec<u8>)> {
        let mut pkts: Vec<TestBuf> = frames.iter().map(|f| TestBuf::new(port, f)).collect();
        let mut out = Collect::default();
        let ctx = self.snap.context(&self.counters, self.now);
        process_burst(&ctx, &mut self.scratch, port, &mut pkts, &mut out);
        assert!(pkts.is_empty());
        out.sorted()
    }

    /// What the switch originates now (health probes), sorted by port.
    pub fn originate(&mut self) -> Vec<(u16, Vec<u8>)> {
        let mut out = Collect::default();
        let ctx = self.snap.context(&self.counters, self.now);
        originate(&ctx, &mut self.scratch, &mut out);
        out.sorted()
    }

    /// A housekeeping tick at `now`, as the manager runs it: tables a feature calls stale are
    /// built again from the same model.
    pub fn housekeep(&mut self, now: u32) {
        self.now = now;
        self.snap.tables.housekeep(now);
        if self.snap.tables.stale() {
            let json = self.json.clone();
            self.republish(&json);
        }
    }

    /// Publishes a changed model; what the switch learned (MACs, neighbors, connections)
    /// stays, as with the config manager.
    pub fn republish(&mut self, json: &str) {
        let model = Model::parse("json", json).unwrap();
        crate::config::validate::validate(&model).unwrap();
        let generation = self.snap.generation + 1;
        self.snap = offline_republish(&model, &mut self.learned, 1, generation);
        self.json = json.to_string();
    }

    /// The simulated trace of `frame` arriving on `port`: each note as `stage: text`, and the
    /// ports it would leave by.
    pub fn trace(&self, port: u16, frame: &[u8]) -> (Vec<String>, Vec<u16>) {
        let done = crate::datapath::trace::simulate(&self.snap, port, frame, self.now);
        (
            lines(&done.trail),
            done.sent.iter().map(|(p, _)| *p).collect(),
        )
    }

    /// Sends one burst in on `port` with its packet `traced` followed by a live trace; returns
    /// what came out and the trace's notes as `stage: text`.
    pub fn send_traced(
        &mut self,
        port: u16,
        frames: &[Vec<u8>],
        traced: usize,
    ) -> (Vec<(u16, Vec<u8>)>, Vec<String>) {
        let mut pkts: Vec<TestBuf> = frames.iter().map(|f| TestBuf::new(port, f)).collect();
        let mut out = Collect::default();
        let trace = Trace::live(traced);
        let ctx = self
            .snap
            .context(&self.counters, self.now)
            .traced(Some(&trace));
        process_burst(&ctx, &mut self.scratch, port, &mut pkts, &mut out);
        (out.sorted(), lines(&trace.into_trail()))
    }

    pub fn drops(&self, port: u16, reason: impl Into<DropReason>) -> u64 {
        self.counters.port(port).drops[reason.into().index()].get()
    }

    pub fn fdb(&self, net: usize, mac: [u8; 6]) -> Option<u16> {
        self.snap.tables.bridge.nets[net].fdb.port_of(MacAddr(mac))
    }
}

fn lines(trail: &Trail) -> Vec<String> {
    trail
        .notes()
        .iter()
        .map(|n| format!("{}: {}", n.stage, n.text()))
        .collect()
}

/// An Ethernet/IPv4 ARP frame from `src` (at `sip`) to `dst`, asking or answering for `tip`.
pub fn arp_frame(
    op: arp::Operation,
    src: [u8; 6],
    dst: [u8; 6],
    sip: [u8; 4],
    tip: [u8; 4],
) -> Vec<u8> {
    let mut f = vec![0u8; eth::HEADER_LEN + arp::HEADER_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
    let mut p = arp::Packet::new_unchecked(&mut f[eth::HEADER_LEN..]);
    p.set_hardware_type(arp::HTYPE_ETHERNET);
    p.set_protocol_type(ethertype::IPV4);
    p.set_hardware_len(6);
    p.set_protocol_len(4);
    p.set_operation(op);
    p.set_sender_hardware_addr(MacAddr(src));
    p.set_sender_protocol_addr(sip.into());
    p.set_target_protocol_addr(tip.into());
    f
}
