//! CPU helpers for the datapath: the cycle counter and cache prefetch hints.

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
