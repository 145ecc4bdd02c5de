//! Memory for large tables: huge-page backed allocations.

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
