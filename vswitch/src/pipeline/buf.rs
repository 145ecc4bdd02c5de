//! The buffer a stage works on. `dpdk::Mbuf` implements it over `rte_mbuf`; `TestBuf` over a
//! `Vec` so that every stage runs in unit tests, property tests and fuzzing without DPDK.

use super::drop::{DropReason, EngineDrop};

/// Not enough room at the front or the back of the buffer for the requested change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BufError {
    #[error("not enough headroom")]
    NoHeadroom,
    #[error("buffer shorter than the bytes to remove")]
    TooShort,
}

/// A packet buffer: contiguous first segment, headroom for pushing headers, the receive port
/// and the NIC's RSS hash.
pub trait PacketBuf: Sized {
    /// The first segment's bytes (every header a stage reads lives there).
    fn data(&self) -> &[u8];
    fn data_mut(&mut self) -> &mut [u8];
    /// Length of the whole packet (all segments).
    fn pkt_len(&self) -> usize;
    /// Grows the packet at the front by `n` bytes (contents unspecified).
    fn prepend(&mut self, n: usize) -> Result<(), BufError>;
    /// Removes `n` bytes from the front.
    fn trim_front(&mut self, n: usize) -> Result<(), BufError>;
    /// Keeps the first `len` bytes of the packet (segments past them are freed).
    fn truncate(&mut self, len: usize) -> Result<(), BufError>;
    fn in_port(&self) -> u16;
    fn rss_hash(&self) -> u32;
    /// A deep copy for flooding, `None` when no buffer is available.
    fn duplicate(&self) -> Option<Self>;
}

/// Makes `buf` exactly `len` bytes long, all in its first segment, growing it at the front
/// when it is shorter; the caller then writes the whole frame.
pub fn reshape<B: PacketBuf>(buf: &mut B, len: usize) -> Result<(), DropReason> {
    let have = buf.pkt_len();
    if have < len {
        buf.prepend(len - have).map_err(|_| EngineDrop::NoBuffer)?;
    } else {
        buf.truncate(len).map_err(|_| EngineDrop::NoBuffer)?;
    }
    if buf.data().len() < len {
        return Err(EngineDrop::NoBuffer.into());
    }
    Ok(())
}

/// Headroom a `TestBuf` starts with, like DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const TEST_HEADROOM: usize = 128;

/// A DPDK-free packet buffer for tests and micro-benchmarks (small to move, like an mbuf
/// pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBuf {
    storage: Box<[u8]>,
    start: usize,
    port: u16,
    rss: u32,
}

impl TestBuf {
    pub fn new(port: u16, frame: &[u8]) -> Self {
        let mut storage = vec![0; TEST_HEADROOM];
        storage.extend_from_slice(frame);
        TestBuf {
            storage: storage.into_boxed_slice(),
            start: TEST_HEADROOM,
            port,
            rss: 0,
        }
    }

    pub fn with_rss(mut self, rss: u32) -> Self {
        self.rss = rss;
        self
    }
}

impl PacketBuf for TestBuf {
    fn data(&self) -> &[u8] {
        &self.storage[self.start..]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..]
    }

    fn pkt_len(&self) -> usize {
        self.storage.len() - self.start
    }

    fn prepend(&mut self, n: usize) -> Result<(), BufError> {
        self.start = self.start.checked_sub(n).ok_or(BufError::NoHeadroom)?;
        Ok(())
    }

    fn trim_front(&mut self, n: usize) -> Result<(), BufError> {
        if n > self.pkt_len() {
            return Err(BufError::TooShort);
        }
        self.start += n;
        Ok(())
    }

    fn truncate(&mut self, len: usize) -> Result<(), BufError> {
        if len > self.pkt_len() {
            return Err(BufError::TooShort);
        }
        let mut bytes = std::mem::take(&mut self.storage).into_vec();
        bytes.truncate(self.start + len);
        self.storage = bytes.into_boxed_slice();
        Ok(())
    }

    fn in_port(&self) -> u16 {
        self.port
    }

    fn rss_hash(&self) -> u32 {
        self.rss
    }

    fn duplicate(&self) -> Option<Self> {
        Some(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_and_trim_move_the_start() {
        let mut b = TestBuf::new(3, &[1, 2, 3, 4]);
        b.prepend(2).unwrap();
        assert_eq!(b.pkt_len(), 6);
        b.data_mut()[0] = 9;
        b.trim_front(3).unwrap();
        assert_eq!(b.data(), &[2, 3, 4]);
        assert_eq!(b.trim_front(4), Err(BufError::TooShort));
        b.truncate(2).unwrap();
        assert_eq!(b.data(), &[2, 3]);
        assert_eq!(b.truncate(3), Err(BufError::TooShort));
        assert_eq!(b.in_port(), 3);
    }

    #[test]
    fn prepend_beyond_headroom_fails() {
        let mut b = TestBuf::new(0, &[]);
        assert_eq!(b.prepend(TEST_HEADROOM + 1), Err(BufError::NoHeadroom));
        assert!(b.prepend(TEST_HEADROOM).is_ok());
    }
}
