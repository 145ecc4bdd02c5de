//! EAL initialisation and teardown, and registration of worker threads as DPDK lcores.

use std::ffi::CString;
use std::os::raw::c_char;

/// The initialised EAL; dropping it runs `rte_eal_cleanup` (which, with `--in-memory`, leaves
/// no hugepage files behind).
pub struct Eal {
    _private: (),
}

#[derive(Debug, thiserror::Error)]
pub enum EalError {
    #[error("EAL argument {0:?} contains a NUL byte")]
    BadArg(String),
    #[error("DPDK EAL init failed: {0} (check hugepages, or pass --no-huge; EAL args: {1})")]
    Init(String, String),
    #[error("cannot register worker thread with DPDK: {0}")]
    RegisterThread(String),
    #[error("CPU {0} is out of range")]
    NoSuchCpu(usize),
    #[error("cannot pin to CPU {cpu}: {why}")]
    Pin { cpu: usize, why: std::io::Error },
}

impl Eal {
    /// Initialises the EAL with `args` (args[0] is the program name). Once per process.
    pub fn init(args: &[String]) -> Result<Eal, EalError> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| EalError::BadArg(a.clone())))
            .collect::<Result<_, _>>()?;
        // rte_eal_init may permute argv; it only needs the pointers to live during the call.
        let mut argv: Vec<*mut c_char> = cargs.iter().map(|c| c.as_ptr() as *mut c_char).collect();
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call.
        let ret = unsafe { dpdk_sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(EalError::Init(super::last_error(), args[1..].join(" ")));
        }
        Ok(Eal { _private: () })
    }

    /// The TSC frequency DPDK measured (cycles per second).
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: plain getter, valid after rte_eal_init.
        unsafe { dpdk_sys::vs_tsc_hz() }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: the EAL was initialised by this value; nothing DPDK is used after it drops.
        unsafe {
            dpdk_sys::rte_eal_cleanup();
        }
    }
}

/// Registers the calling (non-EAL) thread as a DPDK lcore, so that mempool per-lcore caches
/// work for it. Returns the lcore id.
pub fn register_thread() -> Result<u32, EalError> {
    // SAFETY: registers the current thread; valid once the EAL is initialised.
    let ret = unsafe { dpdk_sys::rte_thread_register() };
    if ret < 0 {
        return Err(EalError::RegisterThread(super::last_error()));
    }
    // SAFETY: reads this thread's lcore id.
    Ok(unsafe { dpdk_sys::vs_lcore_id() })
}

pub fn unregister_thread() {
    // SAFETY: unregisters the current thread, registered by register_thread.
    unsafe { dpdk_sys::rte_thread_unregister() }
}

/// Pins the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> Result<(), EalError> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it for cpu < CPU_SETSIZE.
    unsafe {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(EalError::NoSuchCpu(cpu));
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(EalError::Pin {
                cpu,
                why: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}
