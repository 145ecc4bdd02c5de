//! dpdk-sys: raw bindings to the system DPDK 22.11 (pkg-config `libdpdk`) and a small C shim
//! exporting DPDK's static-inline fast-path functions (`vs_*`). Nothing else lives here; the safe
//! layer is `vswitch::dpdk`.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code
)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// libpcap's filter compiler: a capture filter expression to classic BPF.
pub mod pcap;
