//! The workers' port I/O: ethdev queues, or the vhost library for vhost-user ports.

use std::sync::Arc;

use super::mbuf::{rx_burst, tx_burst, Mbuf};
use super::mempool::Mempool;
use super::vhost;

/// One worker's view of the ports.
pub struct DpdkIo {
    worker: usize,
    /// Where vhost-user dequeues allocate.
    pool: Arc<Mempool>,
}

impl DpdkIo {
    pub fn new(worker: usize, pool: Arc<Mempool>) -> Self {
        DpdkIo { worker, pool }
    }
}

impl crate::pipeline::worker::PortIo for DpdkIo {
    type Buf = Mbuf;

    #[inline]
    fn rx(&mut self, port: u16, queue: u16, out: &mut Vec<Mbuf>, max: usize) -> usize {
        vhost::rx(port, queue, &self.pool, out, max)
            .unwrap_or_else(|| rx_burst(port, queue, out, max))
    }

    #[inline]
    fn tx(&mut self, port: u16, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
        vhost::tx(port, queue, pkts).unwrap_or_else(|| tx_burst(port, queue, pkts))
    }

    fn alloc(&mut self, frame: &[u8]) -> Option<Mbuf> {
        Mbuf::from_bytes(&self.pool, frame)
    }

    fn started(&mut self) {
        vhost::worker_started(self.worker);
    }

    #[inline]
    fn quiescent(&mut self) {
        vhost::quiescent(self.worker);
    }

    fn stopped(&mut self) {
        vhost::worker_stopped(self.worker);
    }
}
