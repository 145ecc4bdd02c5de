/* The DPDK headers dpdk-sys binds, plus the shim for static-inline functions. */
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_dev.h>
#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_vhost.h>
#include <rte_eth_vhost.h>
#include "shim.h"
