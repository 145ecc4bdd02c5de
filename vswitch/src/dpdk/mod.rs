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
