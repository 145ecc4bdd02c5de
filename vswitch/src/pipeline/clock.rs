//! A coarse seconds clock for the datapath: housekeeping ticks it, workers read it with one
//! relaxed load per burst instead of a syscall or a TSC conversion per packet.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static NOW_SECS: AtomicU32 = AtomicU32::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Seconds since the process started, as last ticked.
pub fn now_secs() -> u32 {
    NOW_SECS.load(Ordering::Relaxed)
}

/// Advances the clock to the real elapsed time; called by housekeeping a few times a second.
pub fn tick() -> u32 {
    let epoch = EPOCH.get_or_init(Instant::now);
    let secs = u32::try_from(epoch.elapsed().as_secs()).unwrap_or(u32::MAX);
    NOW_SECS.store(secs, Ordering::Relaxed);
    secs
}
