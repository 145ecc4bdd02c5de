/* Exported wrappers around DPDK's static-inline fast-path functions, which bindgen cannot bind. */
#ifndef VS_SHIM_H
#define VS_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>

uint16_t vs_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t vs_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *vs_pktmbuf_alloc(struct rte_mempool *mp);
int vs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int n);
void vs_pktmbuf_free(struct rte_mbuf *m);
char *vs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *vs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
char *vs_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int vs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
int vs_pktmbuf_truncate(struct rte_mbuf *m, uint32_t len);
int vs_errno(void);
unsigned int vs_lcore_id(void);
uint64_t vs_tsc_hz(void);
#endif
