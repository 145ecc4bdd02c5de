//! Raw bindings to the part of libpcap that compiles capture filters (pcap-filter(7)) into
//! classic BPF: a "dead" handle of a link type, `pcap_compile`, and freeing what they made.

use std::os::raw::{c_char, c_int, c_uint};

/// Ethernet, for `pcap_open_dead`.
pub const DLT_EN10MB: c_int = 1;
/// The netmask `pcap_compile` takes when none is known (only `ip broadcast` needs one).
pub const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;

#[repr(C)]
pub struct pcap_t {
    _private: [u8; 0],
}

/// One classic BPF instruction, as `<pcap/bpf.h>` lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bpf_insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
pub struct bpf_program {
    pub bf_len: c_uint,
    pub bf_insns: *mut bpf_insn,
}

#[link(name = "pcap")]
extern "C" {
    pub fn pcap_open_dead(linktype: c_int, snaplen: c_int) -> *mut pcap_t;
    pub fn pcap_compile(
        p: *mut pcap_t,
        fp: *mut bpf_program,
        expr: *const c_char,
        optimize: c_int,
        netmask: u32,
    ) -> c_int;
    pub fn pcap_geterr(p: *mut pcap_t) -> *mut c_char;
    pub fn pcap_freecode(fp: *mut bpf_program);
    pub fn pcap_close(p: *mut pcap_t);
}
