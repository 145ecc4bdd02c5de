//! An owned `rte_mbuf`: freed on drop, and a `PacketBuf` for the pipeline.

use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use super::mempool::Mempool;
use crate::pipeline::buf::{BufError, PacketBuf};

/// One packet buffer chain owned by the switch.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an mbuf has one owner at a time; moving that ownership between threads is fine.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Allocates an empty mbuf.
    pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: the pool is valid; returns null when empty.
        NonNull::new(unsafe { dpdk_sys::vs_pktmbuf_alloc(pool.as_ptr()) }).map(Mbuf)
    }

    /// Allocates an mbuf holding a copy of `frame` (tests and generated traffic).
    pub fn from_bytes(pool: &Mempool, frame: &[u8]) -> Option<Mbuf> {
        let mut m = Mbuf::alloc(pool)?;
        let len = u16::try_from(frame.len()).ok()?;
        // SAFETY: m is a fresh single-segment mbuf; append returns null if it does not fit.
        let dst = unsafe { dpdk_sys::vs_pktmbuf_append(m.0.as_ptr(), len) };
        if dst.is_null() {
            return None;
        }
        m.data_mut().copy_from_slice(frame);
        Some(m)
    }

    /// The sender left the TCP/UDP checksum partial (a virtio guest's checksum offload).
    #[inline]
    pub fn l4_checksum_partial(&self) -> bool {
        let mask = u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_MASK);
        self.raw().ol_flags & mask == u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_NONE)
    }

    /// The first segment's data, writable, and the data of the chain's further segments (a
    /// jumbo frame); the tail is empty for a single-segment mbuf.
    pub fn segments_mut(&mut self) -> (&mut [u8], Segments<'_>) {
        let next = NonNull::new(self.raw().next);
        (
            self.data_mut(),
            Segments {
                next,
                _chain: std::marker::PhantomData,
            },
        )
    }

    /// Records that the L4 checksum is now complete.
    #[inline]
    pub fn set_l4_checksum_good(&mut self) {
        let mask = u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_MASK);
        // SAFETY: self owns a valid mbuf.
        let m = unsafe { self.0.as_mut() };
        m.ol_flags = (m.ol_flags & !mask) | u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    }

    fn raw(&self) -> &rte_mbuf {
        // SAFETY: self owns a valid mbuf.
        unsafe { self.0.as_ref() }
    }

    /// Gives up ownership (the mbuf now belongs to whoever gets the pointer).
    pub fn into_raw(self) -> *mut rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `p` must be a valid mbuf that nothing else owns.
    pub unsafe fn from_raw(p: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf(p)
    }
}

/// The data of the segments after the first of an mbuf chain, in order.
#[derive(Clone)]
pub struct Segments<'a> {
    next: Option<NonNull<rte_mbuf>>,
    _chain: std::marker::PhantomData<&'a Mbuf>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // SAFETY: a segment of a chain the borrowed Mbuf owns; its `next` ends the chain with
        // null, and the data lie at buf_addr + data_off for data_len bytes.
        unsafe {
            let seg = self.next?.as_ref();
            self.next = NonNull::new(seg.next);
            Some(std::slice::from_raw_parts(
                (seg.buf_addr as *const u8).add(usize::from(seg.data_off)),
                usize::from(seg.data_len),
            ))
        }
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: self owns the mbuf; freeing returns it (and its segments) to its pool.
        unsafe { dpdk_sys::vs_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len is the first segment's valid data.
        unsafe {
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw();
        let (addr, off, len) = (m.buf_addr as *mut u8, m.data_off, m.data_len);
        // SAFETY: as in data(); &mut self guarantees exclusive access. A cloned (indirect) mbuf
        // is never produced by the switch: duplicates are deep copies.
        unsafe { std::slice::from_raw_parts_mut(addr.add(usize::from(off)), usize::from(len)) }
    }

    #[inline]
    fn pkt_len(&self) -> usize {
        self.raw().pkt_len as usize
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> Result<(), BufError> {
        let n = u16::try_from(n).map_err(|_| BufError::NoHeadroom)?;
        // SAFETY: valid owned mbuf; returns null without changing it when headroom is short.
        let p = unsafe { dpdk_sys::vs_pktmbuf_prepend(self.0.as_ptr(), n) };
        if p.is_null() {
            Err(BufError::NoHeadroom)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn truncate(&mut self, len: usize) -> Result<(), BufError> {
        let len = u32::try_from(len).map_err(|_| BufError::TooShort)?;
        // SAFETY: valid owned mbuf chain; fails without change when len exceeds the packet.
        match unsafe { dpdk_sys::vs_pktmbuf_truncate(self.0.as_ptr(), len) } {
            0 => Ok(()),
            _ => Err(BufError::TooShort),
        }
    }

    #[inline]
    fn trim_front(&mut self, n: usize) -> Result<(), BufError> {
        let n = u16::try_from(n).map_err(|_| BufError::TooShort)?;
        // SAFETY: valid owned mbuf; returns null without changing it when too short.
        let p = unsafe { dpdk_sys::vs_pktmbuf_adj(self.0.as_ptr(), n) };
        if p.is_null() {
            Err(BufError::TooShort)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn in_port(&self) -> u16 {
        self.raw().port
    }

    #[inline]
    fn rss_hash(&self) -> u32 {
        // SAFETY: reading a u32 view of the hash union is always defined.
        unsafe { self.raw().__bindgen_anon_2.hash.rss }
    }

    fn duplicate(&self) -> Option<Self> {
        let m = self.raw();
        // SAFETY: deep-copies the whole chain into a new mbuf from the same pool.
        let copy = unsafe { dpdk_sys::rte_pktmbuf_copy(self.0.as_ptr(), m.pool, 0, u32::MAX) };
        NonNull::new(copy).map(Mbuf)
    }
}

/// Receives up to `out`'s spare capacity (at most `max`) packets from a queue into `out`.
#[inline]
pub fn rx_burst(port: u16, queue: u16, out: &mut Vec<Mbuf>, max: usize) -> usize {
    let start = out.len();
    let room = (out.capacity() - start).min(max).min(usize::from(u16::MAX));
    // SAFETY: Mbuf is repr(transparent) over a non-null mbuf pointer; the PMD writes at most
    // `room` valid owned mbuf pointers into the spare capacity, and we set the length to match.
    unsafe {
        let dst = out.as_mut_ptr().add(start) as *mut *mut rte_mbuf;
        let n = dpdk_sys::vs_eth_rx_burst(port, queue, dst, room as u16);
        out.set_len(start + usize::from(n));
        usize::from(n)
    }
}

/// Transmits from the front of `pkts`; what the queue refused stays in `pkts`, in order, for
/// the next try (a generator keeping its queue full). Returns how many were sent.
#[inline]
pub fn tx_burst_keep(port: u16, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
    let len = pkts.len().min(usize::from(u16::MAX));
    if len == 0 {
        return 0;
    }
    // SAFETY: the PMD takes ownership of the first `sent` pointers. The Vec forgets all of them
    // first, then the refused ones are moved to the front and it owns exactly those again.
    unsafe {
        let ptr = pkts.as_mut_ptr();
        let sent = usize::from(dpdk_sys::vs_eth_tx_burst(
            port,
            queue,
            ptr as *mut *mut rte_mbuf,
            len as u16,
        ));
        let rest = pkts.len() - sent;
        pkts.set_len(0);
        std::ptr::copy(ptr.add(sent), ptr, rest);
        pkts.set_len(rest);
        sent
    }
}

/// Transmits every packet in `pkts`; what the queue refused is freed. Returns how many were sent
/// and leaves `pkts` empty.
#[inline]
pub fn tx_burst(port: u16, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
    let len = pkts.len();
    if len == 0 {
        return 0;
    }
    // SAFETY: the PMD takes ownership of the first `sent` pointers; the rest stay owned by the
    // Vec, which we shorten to exactly them before dropping (freeing) them.
    unsafe {
        let ptr = pkts.as_mut_ptr() as *mut *mut rte_mbuf;
        let sent = usize::from(dpdk_sys::vs_eth_tx_burst(
            port,
            queue,
            ptr,
            len.min(usize::from(u16::MAX)) as u16,
        ));
        pkts.set_len(0);
        for i in sent..len {
            drop(std::ptr::read(ptr.add(i) as *const Mbuf));
        }
        sent
    }
}
