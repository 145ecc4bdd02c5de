//! The operating system and CPU below the switch, outside DPDK: cycle counter and prefetch
//! hints, huge-page memory, detaching the daemon. With `dpdk/` (and `ffi/`), the only place
//! that holds `unsafe` blocks.

pub mod cpu;
pub mod mem;
pub mod pcap_filter;
pub mod process;
