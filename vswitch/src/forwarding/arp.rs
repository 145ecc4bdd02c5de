//! ARP frames the switch writes: the gateway's requests and replies, and the VTEP's on the
//! underlay.

use std::net::Ipv4Addr;

use super::GATEWAY_MAC;
use crate::packet::eth::set_macs;
use crate::packet::{arp, eth, ethertype, MacAddr};
use crate::pipeline::buf::{reshape, PacketBuf};
use crate::pipeline::drop::DropReason;

/// Length of an ARP frame without padding.
pub const FRAME_LEN: usize = eth::HEADER_LEN + arp::HEADER_LEN;

/// An ARP frame the switch sends.
pub struct ArpFrame {
    pub op: arp::Operation,
    pub dst: MacAddr,
    pub sender: (MacAddr, Ipv4Addr),
    pub target: (MacAddr, Ipv4Addr),
}

impl ArpFrame {
    /// A request for `ip` from the gateway at `from`, broadcast.
    pub fn request(from: Ipv4Addr, ip: Ipv4Addr) -> Self {
        ArpFrame {
            op: arp::Operation::REQUEST,
            dst: MacAddr::BROADCAST,
            sender: (GATEWAY_MAC, from),
            target: (MacAddr([0; 6]), ip),
        }
    }

    /// Replaces the contents of `buf` with this frame (Ethernet source: the sender).
    pub fn write<B: PacketBuf>(&self, buf: &mut B) -> Result<(), DropReason> {
        reshape(buf, FRAME_LEN)?;
        let frame = &mut buf.data_mut()[..FRAME_LEN];
        set_macs(frame, self.dst, self.sender.0);
        frame[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
        let mut pkt = arp::Packet::new_unchecked(&mut frame[eth::HEADER_LEN..]);
        pkt.set_hardware_type(arp::HTYPE_ETHERNET);
        pkt.set_protocol_type(ethertype::IPV4);
        pkt.set_hardware_len(6);
        pkt.set_protocol_len(4);
        pkt.set_operation(self.op);
        pkt.set_sender_hardware_addr(self.sender.0);
        pkt.set_sender_protocol_addr(self.sender.1);
        pkt.set_target_hardware_addr(self.target.0);
        pkt.set_target_protocol_addr(self.target.1);
        Ok(())
    }
}
