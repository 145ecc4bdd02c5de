//! The only safe wrapper over `dpdk-sys`: EAL, mempools, mbufs, ports and their queues, lcores.
//! Every `unsafe` block of the switch outside `ffi/` is in this folder.

pub mod backend;
pub mod eal;
pub mod io;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod vhost;

use std::ffi::CStr;

/// DPDK's text for the last error of this thread (`rte_errno`).
pub fn last_error() -> String {
    // SAFETY: vs_errno reads a thread-local int; rte_strerror returns a static string.
    unsafe { errno_text(dpdk_sys::vs_errno()) }
}

/// DPDK's or libc's text for a (positive or negative) errno value.
pub fn errno_text(code: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated string.
    unsafe {
        CStr::from_ptr(dpdk_sys::rte_strerror(code.abs()))
            .to_string_lossy()
            .into_owned()
    }
}

/// The CPU's time-stamp counter (what DPDK calls `rte_rdtsc`), for cycle measurements.
#[inline]
pub fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: RDTSC has no memory effects and exists on every x86_64 CPU.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Hints the CPU to pull `value`'s cache line in ahead of use (DPDK's `rte_prefetch0`).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    prefetch_to_l1(value as *const T as usize, 1);
}

/// Starts loading `lines` cache lines at a plain address into L2: where a table that another
/// thread may be resizing says an entry is (a stale or wild address only loads a useless
/// line). For tables far larger than the caches, a burst ahead: on these CPUs a burst's worth
/// of T0 prefetches that miss to memory mostly came too late (a prefetched slot of a 384 MB
/// table still cost ~110 cycles more than a cached one), T1 ones did not (~15).
#[inline(always)]
pub fn prefetch_to_l2(addr: usize, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_lines::<{ std::arch::x86_64::_MM_HINT_T1 }>(addr, lines);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (addr, lines);
}

/// Like [`prefetch_to_l2`], into L1: a few packets ahead, for lines already on their way to
/// L2.
#[inline(always)]
pub fn prefetch_to_l1(addr: usize, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_lines::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr, lines);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (addr, lines);
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_lines<const HINT: i32>(addr: usize, lines: usize) {
    for line in 0..lines {
        // SAFETY: PREFETCH is a hint: it never faults, on any address, and reads nothing the
        // program can observe.
        unsafe { std::arch::x86_64::_mm_prefetch::<HINT>((addr + line * 64) as *const i8) };
    }
}

/// An empty vector with room for `capacity` items whose memory the kernel is asked to back with
/// transparent huge pages (large tables read at random, like the FDB, otherwise miss the TLB on
/// nearly every lookup). The advice comes before anything touches the memory, which is what
/// backs the pages: fill the vector after.
pub fn huge_page_vec<T>(capacity: usize) -> Vec<T> {
    let v = Vec::with_capacity(capacity);
    fresh_huge_pages(v.as_ptr() as usize, capacity * std::mem::size_of::<T>());
    v
}

/// Asks the kernel to back `[addr, addr + len)`, an allocation not yet written, with
/// transparent huge pages. Best effort: the 2 MB-aligned interior is what can be huge.
/// The allocator may hand out memory it reused (a table that grew frees the smaller one
/// before): those pages are already backed by small ones, which the advice alone leaves as
/// they are. Dropping them first makes the first write fault in huge pages.
fn fresh_huge_pages(addr: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    let start = (addr + HUGE - 1) & !(HUGE - 1);
    let end = (addr + len) & !(HUGE - 1);
    if end > start {
        // SAFETY: the range lies inside the caller's allocation, which nothing has written
        // yet: MADV_DONTNEED only turns its unread contents into zero pages, and
        // MADV_HUGEPAGE only changes how the kernel backs them.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}
