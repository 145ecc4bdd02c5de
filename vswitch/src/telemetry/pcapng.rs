//! Writing pcapng (the format tshark and Wireshark read) for `vsctl capture`: a section
//! header, one interface per port (named as the port), enhanced packet blocks with nanosecond
//! time stamps, the direction in `epb_flags` and, for a dropped packet, the reason as a
//! comment. The daemon encodes; the client only writes the bytes out.

use std::io::{self, Write};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const EPB: u32 = 6;
const LINKTYPE_ETHERNET: u16 = 1;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;

/// Which way a packet went, as `epb_flags` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A pcapng stream: interfaces are declared as packets name them.
pub struct Writer<W: Write> {
    out: W,
    interfaces: Vec<String>,
    snaplen: u32,
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad(body);
}

fn pad(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

impl<W: Write> Writer<W> {
    /// Starts the stream with its section header.
    pub fn new(out: W, snaplen: u32) -> io::Result<Self> {
        let mut w = Writer {
            out,
            interfaces: Vec::new(),
            snaplen,
        };
        let mut body = 0x1a2b_3c4d_u32.to_le_bytes().to_vec();
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        w.block(SHB, &body)?;
        Ok(w)
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let total = (12 + body.len()) as u32;
        self.out.write_all(&kind.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&total.to_le_bytes())
    }

    /// The interface id of port `name`, declared on first use.
    fn interface(&mut self, name: &str) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|n| n == name) {
            return Ok(i as u32);
        }
        let mut body = LINKTYPE_ETHERNET.to_le_bytes().to_vec();
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&self.snaplen.to_le_bytes());
        option(&mut body, IF_NAME, name.as_bytes());
        // Time stamps in nanoseconds (10^-9).
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_END, &[]);
        self.block(IDB, &body)?;
        self.interfaces.push(name.to_owned());
        Ok(self.interfaces.len() as u32 - 1)
    }

    /// One packet of port `port`, at `time_ns`, `wire_len` bytes long of which `frame` was kept.
    /// Written straight into the output: a capture moves every byte of it once here.
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        port: &str,
        time_ns: u64,
        direction: Direction,
        frame: &[u8],
        wire_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let id = self.interface(port)?;
        let padded = |n: usize| n.div_ceil(4) * 4;
        let comment = comment.map(str::as_bytes).unwrap_or_default();
        let comment_len = match comment.len() {
            0 => 0,
            n => 4 + padded(n),
        };
        // Header, five fixed fields, the frame, epb_flags, the comment, the end of options,
        // the trailing length.
        let total = 8 + 20 + padded(frame.len()) + 8 + comment_len + 4 + 4;
        let flags: u32 = match direction {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
        };
        let mut head = [0u8; 28];
        let fields = [
            EPB,
            total as u32,
            id,
            (time_ns >> 32) as u32,
            time_ns as u32,
            frame.len() as u32,
            wire_len.max(frame.len() as u32),
        ];
        for (i, v) in fields.iter().enumerate() {
            head[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&head)?;
        self.out.write_all(frame)?;
        self.out
            .write_all(&[0; 3][..padded(frame.len()) - frame.len()])?;
        let mut opts = [0u8; 8];
        opts[..2].copy_from_slice(&EPB_FLAGS.to_le_bytes());
        opts[2..4].copy_from_slice(&4u16.to_le_bytes());
        opts[4..].copy_from_slice(&flags.to_le_bytes());
        self.out.write_all(&opts)?;
        if !comment.is_empty() {
            let mut c = Vec::with_capacity(comment_len);
            option(&mut c, OPT_COMMENT, comment);
            self.out.write_all(&c)?;
        }
        // The end of options, then the block's length again.
        self.out.write_all(&[0; 4])?;
        self.out.write_all(&(total as u32).to_le_bytes())
    }

    /// What was written since the last call (for a writer into memory).
    pub fn take(&mut self) -> W
    where
        W: Default,
    {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_whole_and_padded_and_interfaces_declared_once() {
        let mut w = Writer::new(Vec::new(), 2048).unwrap();
        w.packet("pa", 1, Direction::Inbound, &[1, 2, 3], 60, None)
            .unwrap();
        w.packet(
            "pa",
            2,
            Direction::Outbound,
            &[4; 5],
            5,
            Some("policy_deny"),
        )
        .unwrap();
        let b = w.out;
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < b.len() {
            let kind = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(
                b[at + len - 4..at + len],
                b[at + 4..at + 8],
                "trailing length"
            );
            kinds.push(kind);
            at += len;
        }
        assert_eq!(kinds, vec![SHB, IDB, EPB, EPB]);
    }
}
