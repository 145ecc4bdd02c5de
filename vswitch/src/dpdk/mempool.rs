//! Packet mbuf pools.

use std::ffi::CString;
use std::ptr::NonNull;

use dpdk_sys::rte_mempool;

/// A pktmbuf pool, freed on drop (after every port using it is gone).
pub struct Mempool {
    raw: NonNull<rte_mempool>,
}

// SAFETY: DPDK mempools are designed for concurrent use from many lcores.
unsafe impl Send for Mempool {}
// SAFETY: as above; all operations on the pool are thread-safe.
unsafe impl Sync for Mempool {}

/// Why a packet buffer pool could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("mempool name {0:?} has a NUL")]
    Name(String),
    #[error(
        "cannot create mbuf pool of {size} buffers: {why} (give the EAL more memory: -m or hugepages)"
    )]
    Create { size: u32, why: String },
}

impl Mempool {
    /// A pool of `size` mbufs with default data room, and a per-lcore cache.
    pub fn new(name: &str, size: u32, cache: u32) -> Result<Mempool, MempoolError> {
        let cname = CString::new(name).map_err(|_| MempoolError::Name(name.to_string()))?;
        // SAFETY: valid name; sizes are plain values; returns null on failure.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                size,
                cache,
                0,
                dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                dpdk_sys::rte_socket_id() as i32,
            )
        };
        NonNull::new(raw)
            .map(|raw| Mempool { raw })
            .ok_or_else(|| MempoolError::Create {
                size,
                why: super::last_error(),
            })
    }

    pub fn as_ptr(&self) -> *mut rte_mempool {
        self.raw.as_ptr()
    }

    /// Buffers currently in the pool (not in use).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid while self lives.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: no port or mbuf refers to the pool any more (ports are closed first).
        unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}
