//! TCP connection state and sequence-window tracking (the checks of Guido van Rooij's "Real
//! Stateful TCP Packet Filtering in IP Filter", as Linux and OVS conntrack make them): a
//! segment is accepted when its sequence numbers fall in what the receiver's window allowed
//! and its acknowledgement covers only data the other side sent.

/// TCP header flags.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}
use flags::{ACK, FIN, RST, SYN};

/// The largest window an acknowledgement may lag behind by when the sender's is unknown.
const MAX_ACK_WINDOW: u32 = 66_000;

/// What a segment says, as conntrack reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// The raw window field.
    pub win: u16,
    /// Window scale option (SYN segments only).
    pub wscale: Option<u8>,
    /// Payload bytes.
    pub data_len: u32,
}

impl Segment {
    /// Sequence space the segment takes: its data, plus one for SYN and one for FIN.
    fn len(&self) -> u32 {
        self.data_len + u32::from(self.flags & SYN != 0) + u32::from(self.flags & FIN != 0)
    }

    /// Flag combinations no TCP sends: SYN with FIN or RST, FIN with RST, none of SYN, ACK,
    /// RST (a "null" or FIN-only scan).
    pub fn flags_valid(&self) -> bool {
        let f = self.flags;
        let both = |a: u8, b: u8| f & (a | b) == a | b;
        !(both(SYN, FIN) || both(SYN, RST) || both(FIN, RST) || f & (SYN | ACK | RST) == 0)
    }

    /// Opens a connection: SYN without ACK.
    pub fn is_open(&self) -> bool {
        self.flags & (SYN | ACK | RST | FIN) == SYN
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    SynSent,
    SynReceived,
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    TimeWait,
    /// Reset.
    Closed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::SynSent => "SYN_SENT",
            State::SynReceived => "SYN_RECV",
            State::Established => "ESTABLISHED",
            State::Closing => "FIN_WAIT",
            State::TimeWait => "TIME_WAIT",
            State::Closed => "CLOSED",
        }
    }

    /// Seconds an idle connection in this state is kept.
    pub fn timeout(self) -> u32 {
        match self {
            State::SynSent | State::SynReceived => 30,
            State::Established => 24 * 3600,
            State::Closing => 120,
            State::TimeWait => 30,
            State::Closed => 10,
        }
    }
}

/// What one side sent and may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Peer {
    /// The highest sequence number it sent, plus the segment's length.
    end: u32,
    /// The highest sequence number the other side's window lets it send.
    max_end: u32,
    /// The largest window it advertised (scaled).
    max_win: u32,
    /// Its window scale (0 unless both sides offered scaling).
    scale: u8,
    offered_scale: Option<u8>,
}

/// A tracked TCP connection: side 0 opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    pub state: State,
    peers: [Peer; 2],
    /// Which sides sent FIN.
    fin: [bool; 2],
}

/// Why a segment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Flags no TCP sends together.
    Flags,
    /// Not what this state expects (a SYN in an established connection, data before the
    /// handshake).
    State,
    /// Sequence or acknowledgement outside the window.
    Window,
}

#[inline]
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[inline]
fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

impl Tcp {
    /// The connection a valid opening SYN starts.
    pub fn open(syn: &Segment) -> Tcp {
        let end = syn.seq.wrapping_add(syn.len());
        let peer = Peer {
            end,
            max_end: end,
            max_win: u32::from(syn.win).max(1),
            scale: 0,
            offered_scale: syn.wscale,
        };
        Tcp {
            state: State::SynSent,
            peers: [peer, Peer::default()],
            fin: [false; 2],
        }
    }

    /// Tracks a segment from side `dir` (0: the opener, 1: the responder).
    pub fn track(&mut self, dir: usize, seg: &Segment) -> Result<(), Invalid> {
        if !seg.flags_valid() {
            return Err(Invalid::Flags);
        }
        let f = seg.flags;
        match (self.state, dir) {
            // The opener retransmits its SYN.
            (State::SynSent, 0) if seg.is_open() => return Ok(()),
            (State::SynSent | State::SynReceived, 1) if f & (SYN | ACK) == SYN | ACK => {
                if seg.ack != self.peers[0].end {
                    return Err(Invalid::Window);
                }
                self.answer_syn(seg);
                self.state = State::SynReceived;
                return Ok(());
            }
            (State::SynSent, _) if f & RST == 0 => return Err(Invalid::State),
            (State::SynReceived, 0) if f & SYN != 0 => return Err(Invalid::State),
            (State::Established | State::Closing | State::TimeWait, _) if f & SYN != 0 => {
                return Err(Invalid::State)
            }
            _ => {}
        }
        if f & RST != 0 {
            // A reset only needs a plausible sequence number.
            let (s, r) = self.sides(dir);
            let in_window = !after(seg.seq, s.max_end)
                && after(seg.seq, s.end.wrapping_sub(r.max_win).wrapping_sub(1));
            if self.state != State::SynSent && !in_window {
                return Err(Invalid::Window);
            }
            self.state = State::Closed;
            return Ok(());
        }
        self.in_window(dir, seg)?;
        if f & FIN != 0 {
            self.fin[dir] = true;
        }
        self.state = match self.state {
            State::SynReceived if dir == 0 && f & ACK != 0 => State::Established,
            State::Established | State::Closing if self.fin[0] && self.fin[1] => State::TimeWait,
            State::Established if self.fin[dir] => State::Closing,
            s => s,
        };
        Ok(())
    }

    fn sides(&self, dir: usize) -> (&Peer, &Peer) {
        (&self.peers[dir], &self.peers[1 - dir])
    }

    /// The responder's SYN-ACK: its side starts, and scaling holds when both offered it.
    fn answer_syn(&mut self, seg: &Segment) {
        let end = seg.seq.wrapping_add(seg.len());
        let opener_scale = self.peers[0].offered_scale;
        let both = opener_scale.is_some() && seg.wscale.is_some();
        self.peers[1] = Peer {
            end,
            max_end: end,
            max_win: u32::from(seg.win).max(1),
            scale: if both {
                seg.wscale.unwrap_or(0).min(14)
            } else {
                0
            },
            offered_scale: seg.wscale,
        };
        self.peers[0].scale = if both {
            opener_scale.unwrap_or(0).min(14)
        } else {
            0
        };
        // What the opener may send: up to the responder's acknowledgement plus window.
        let allowed = seg.ack.wrapping_add(u32::from(seg.win).max(1));
        if after(allowed, self.peers[0].max_end) {
            self.peers[0].max_end = allowed;
        }
    }

    /// The four window checks, then the sides' windows move on.
    fn in_window(&mut self, dir: usize, seg: &Segment) -> Result<(), Invalid> {
        let (s, r) = (self.peers[dir], self.peers[1 - dir]);
        let seq = seg.seq;
        let end = seq.wrapping_add(seg.len());
        let win = u32::from(seg.win) << s.scale;
        let ack = if seg.flags & ACK != 0 { seg.ack } else { r.end };
        let max_ack_window = if s.max_win == 0 {
            MAX_ACK_WINDOW
        } else {
            s.max_win
        };
        let ok = !after(seq, s.max_end)
            && after(end, s.end.wrapping_sub(r.max_win).wrapping_sub(1))
            && !after(ack, r.end)
            && after(ack, r.end.wrapping_sub(max_ack_window).wrapping_sub(1));
        if !ok {
            return Err(Invalid::Window);
        }
        let (s, r) = {
            let [a, b] = &mut self.peers;
            if dir == 0 {
                (a, b)
            } else {
                (b, a)
            }
        };
        s.max_win = s.max_win.max(win.max(1));
        if after(end, s.end) {
            s.end = end;
        }
        if after(end, s.max_end) {
            s.max_end = end;
        }
        let allowed = ack.wrapping_add(win.max(1));
        if after(allowed, r.max_end) {
            r.max_end = allowed;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(flags: u8, seq: u32, ack: u32, data_len: u32) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            win: 65535,
            wscale: None,
            data_len,
        }
    }

    /// A handshake from 1000 (opener) and 5000 (responder).
    fn established() -> Tcp {
        let mut t = Tcp::open(&seg(SYN, 1000, 0, 0));
        t.track(1, &seg(SYN | ACK, 5000, 1001, 0)).unwrap();
        t.track(0, &seg(ACK, 1001, 5001, 0)).unwrap();
        assert_eq!(t.state, State::Established);
        t
    }

    #[test]
    fn handshake_data_and_close() {
        let mut t = established();
        t.track(0, &seg(ACK, 1001, 5001, 100)).unwrap();
        t.track(1, &seg(ACK, 5001, 1101, 200)).unwrap();
        t.track(0, &seg(FIN | ACK, 1101, 5201, 0)).unwrap();
        assert_eq!(t.state, State::Closing);
        t.track(1, &seg(FIN | ACK, 5201, 1102, 0)).unwrap();
        assert_eq!(t.state, State::TimeWait);
        t.track(0, &seg(ACK, 1102, 5202, 0)).unwrap();
    }

    #[test]
    fn out_of_window_and_bad_acks_are_refused() {
        let mut t = established();
        // Far beyond what the responder's window allows.
        assert_eq!(
            t.track(0, &seg(ACK, 1001 + 70_000, 5001, 10)),
            Err(Invalid::Window)
        );
        // Long before anything still in flight.
        assert_eq!(
            t.track(0, &seg(ACK, 1001u32.wrapping_sub(200_000), 5001, 10)),
            Err(Invalid::Window)
        );
        // Acknowledges data the responder never sent.
        assert_eq!(t.track(0, &seg(ACK, 1001, 9000, 10)), Err(Invalid::Window));
        // The state is unharmed: the right segment still passes.
        t.track(0, &seg(ACK, 1001, 5001, 10)).unwrap();
    }

    #[test]
    fn bad_flags_and_states_are_refused() {
        let mut t = established();
        for f in [SYN | FIN, SYN | RST, FIN | RST, 0, FIN, FIN | 0x08 | 0x20] {
            assert_eq!(
                t.track(0, &seg(f, 1001, 5001, 0)),
                Err(Invalid::Flags),
                "{f:#x}"
            );
        }
        assert_eq!(t.track(0, &seg(SYN, 1001, 0, 0)), Err(Invalid::State));
        let mut opening = Tcp::open(&seg(SYN, 1000, 0, 0));
        assert_eq!(
            opening.track(0, &seg(ACK, 1001, 1, 10)),
            Err(Invalid::State)
        );
        assert_eq!(
            opening.track(1, &seg(SYN | ACK, 5000, 77, 0)),
            Err(Invalid::Window)
        );
        opening.track(0, &seg(SYN, 1000, 0, 0)).unwrap();
    }

    #[test]
    fn reset_in_window_closes_and_a_blind_one_does_not() {
        let mut t = established();
        assert_eq!(t.track(1, &seg(RST, 900_000, 0, 0)), Err(Invalid::Window));
        assert_eq!(t.state, State::Established);
        t.track(1, &seg(RST, 5001, 0, 0)).unwrap();
        assert_eq!(t.state, State::Closed);
    }

    #[test]
    fn window_scaling_applies_when_both_offer_it() {
        let mut syn = seg(SYN, 1000, 0, 0);
        syn.wscale = Some(7);
        let mut t = Tcp::open(&syn);
        let mut syn_ack = seg(SYN | ACK, 5000, 1001, 0);
        syn_ack.wscale = Some(7);
        syn_ack.win = 1000;
        t.track(1, &syn_ack).unwrap();
        let mut ack = seg(ACK, 1001, 5001, 0);
        ack.win = 1000; // 128 000 bytes scaled
        t.track(0, &ack).unwrap();
        // The responder may now send 100 000 bytes ahead: in its scaled window.
        t.track(1, &seg(ACK, 5001 + 100_000, 1001, 1000)).unwrap();
    }

    /// A simple model of a well-behaved connection: each side's next sequence number, and
    /// how much it has acknowledged.
    #[derive(Debug, Clone)]
    enum Step {
        Data(usize, u16),
        Ack(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0usize..2, 0u16..1400).prop_map(|(d, n)| Step::Data(d, n)),
            (0usize..2).prop_map(Step::Ack),
        ]
    }

    proptest! {
        /// In-order traffic within the windows is always accepted, whatever its mix; a
        /// segment far outside them never is, and never changes the state.
        #[test]
        fn well_behaved_traffic_passes_and_wild_segments_fail(
            isn in any::<[u32; 2]>(), steps in proptest::collection::vec(step(), 1..200),
            wild in 1_000_000u32..2_000_000_000,
        ) {
            let mut t = Tcp::open(&seg(SYN, isn[0], 0, 0));
            t.track(1, &seg(SYN | ACK, isn[1], isn[0].wrapping_add(1), 0)).unwrap();
            let mut next = [isn[0].wrapping_add(1), isn[1].wrapping_add(1)];
            let mut acked = next;
            t.track(0, &seg(ACK, next[0], next[1], 0)).unwrap();
            for s in steps {
                let (dir, len) = match s { Step::Data(d, n) => (d, u32::from(n)), Step::Ack(d) => (d, 0) };
                // Never more than the window (65535) in flight unacknowledged.
                if next[dir].wrapping_sub(acked[dir]) + len > 60_000 {
                    continue;
                }
                prop_assert_eq!(t.track(dir, &seg(ACK, next[dir], next[1 - dir], len)), Ok(()));
                acked[1 - dir] = next[1 - dir];
                next[dir] = next[dir].wrapping_add(len);
                let before = t;
                let far = seg(ACK, next[dir].wrapping_add(wild), next[1 - dir], 10);
                prop_assert_eq!(t.track(dir, &far), Err(Invalid::Window));
                prop_assert_eq!(t, before);
            }
        }
    }
}
