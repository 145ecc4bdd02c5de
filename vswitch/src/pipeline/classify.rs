//! First stage: parse the Ethernet header (and one 802.1Q tag) of every packet in the burst.

use crate::packet::{eth, ethertype, vlan};
use crate::pipeline::buf::PacketBuf;
use crate::pipeline::counters::DropReason;
use crate::pipeline::meta::{Meta, Verdict};

/// Fills `meta` from the frame's L2 header, or returns why the frame is dropped.
#[inline]
pub fn classify<B: PacketBuf>(buf: &B) -> Result<Meta, DropReason> {
    let frame = eth::Frame::new_checked(buf.data()).map_err(|_| DropReason::Runt)?;
    let src = frame.src_addr();
    if src.is_multicast() || src.is_zero() {
        return Err(DropReason::BadSrcMac);
    }
    let tagged = frame.ethertype() == ethertype::VLAN;
    let vlan = match frame.ethertype() {
        ethertype::VLAN => {
            let tag = vlan::Tag::new_checked(frame.payload()).map_err(|_| DropReason::Runt)?;
            match tag.vid() {
                0 => None,
                // 4095 is reserved; a stacked tag is not something we bridge.
                4095 => return Err(DropReason::BadVlan),
                vid => Some(vid),
            }
        }
        ethertype::QINQ => return Err(DropReason::BadVlan),
        _ => None,
    };
    Ok(Meta {
        dst: frame.dst_addr(),
        src,
        vlan,
        tagged,
        net: 0,
        verdict: Verdict::Pending,
    })
}
