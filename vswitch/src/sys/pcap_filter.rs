//! Capture filters (pcap-filter(7), what tcpdump takes) compiled by libpcap into classic BPF
//! instructions, which the engine's taps run (`pipeline::bpf`).

use std::ffi::{CStr, CString};

use dpdk_sys::pcap;
use parking_lot::Mutex;

/// Older libpcap compilers kept global state: one compilation at a time.
static COMPILER: Mutex<()> = Mutex::new(());

/// The instructions (code, jt, jf, k) of filter `expr` for Ethernet frames of up to
/// `snaplen` bytes, or libpcap's own message for what is wrong with it.
pub fn compile(expr: &str, snaplen: u32) -> Result<Vec<(u16, u8, u8, u32)>, String> {
    let text = CString::new(expr).map_err(|_| "the filter holds a NUL byte".to_string())?;
    let _one = COMPILER.lock();
    let snaplen = i32::try_from(snaplen).unwrap_or(i32::MAX);
    // SAFETY: a dead handle needs no device; it is closed below on every path.
    let handle = unsafe { pcap::pcap_open_dead(pcap::DLT_EN10MB, snaplen) };
    if handle.is_null() {
        return Err("libpcap could not open a handle".into());
    }
    let mut program = pcap::bpf_program {
        bf_len: 0,
        bf_insns: std::ptr::null_mut(),
    };
    // SAFETY: `handle` is live, `program` and `text` outlive the call.
    let rc = unsafe {
        pcap::pcap_compile(
            handle,
            &mut program,
            text.as_ptr(),
            1,
            pcap::PCAP_NETMASK_UNKNOWN,
        )
    };
    let result = if rc != 0 {
        // SAFETY: pcap_geterr returns the handle's NUL-terminated message buffer.
        let msg = unsafe { CStr::from_ptr(pcap::pcap_geterr(handle)) };
        Err(msg.to_string_lossy().into_owned())
    } else {
        // SAFETY: on success `bf_insns` points at `bf_len` instructions libpcap owns until
        // `pcap_freecode`.
        let insns =
            unsafe { std::slice::from_raw_parts(program.bf_insns, program.bf_len as usize) };
        let copied = insns.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
        // SAFETY: the program was filled by pcap_compile and is freed once.
        unsafe { pcap::pcap_freecode(&mut program) };
        Ok(copied)
    };
    // SAFETY: the handle is closed once, after its last use.
    unsafe { pcap::pcap_close(handle) };
    result
}
