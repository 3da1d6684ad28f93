/* SPDX-License-Identifier: MIT */
/*
 * port.c - the DPDK side of the lwip backend: the mbuf pool, one ethdev port with one RX and
 * one TX queue, and the TX batch. Second step of lwip_create (after eal.c); at run time
 * netif.c calls stk_port_rx and stk_port_tx_queue, and stk_loop_once flushes the batch.
 *
 * Every mbuf carries a private area (priv_size) where netif.c keeps the lwIP pbuf that wraps
 * it, so a received frame reaches lwIP without a copy or an allocation.
 * DPDK return codes become negative errno here, in dpdk_err (the one conversion point).
 * memif bursts run under guard.c: the PMD may unmap its rings under a burst when the peer
 * dies, and the port is then declared gone instead of the process crashing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "stk.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define POOL_CACHE 256
#define LINK_POLL_US 1000

static int dpdk_err(int r)
{
	if (r >= 0)
		return r;
	return r == -1 ? -(rte_errno ? rte_errno : EIO) : r;
}

static int find_port(const struct stk_cfg *cfg, uint16_t *port_id)
{
	char name[64];
	const char *comma;

	if (cfg->vdev[0] == '\0')
		return dpdk_err(rte_eth_dev_get_port_by_name(cfg->pci, port_id));
	comma = strchr(cfg->vdev, ',');
	snprintf(name, sizeof(name), "%.*s", comma ? (int)(comma - cfg->vdev) : 63, cfg->vdev);
	return dpdk_err(rte_eth_dev_get_port_by_name(name, port_id));
}

/* The MTU the netif gets: mtu= where the user or the topology set one, else the port's. */
static unsigned int port_mtu(const struct stk_port *pt, const struct stk_cfg *cfg)
{
	uint16_t mtu = 1500;

	if (cfg->mtu != 0)
		return cfg->mtu;
	rte_eth_dev_get_mtu(pt->port_id, &mtu);
	return mtu;
}

/*
 * One mbuf holds one whole frame (RX drops chained mbufs, TX copies into one): headroom, the
 * Ethernet header and the MTU, rounded up to 1 KiB. A 1500 MTU keeps DPDK's default size.
 * memif's ring buffers are sized from the same MTU (eal.c, memif_bsize).
 */
static uint16_t mbuf_buf_size(unsigned int mtu)
{
	unsigned int need = RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + mtu;

	return (uint16_t)RTE_MAX((unsigned int)RTE_MBUF_DEFAULT_BUF_SIZE, RTE_ALIGN(need, 1024));
}

static int configure(struct stk_port *pt)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int r;

	memset(&conf, 0, sizeof(conf));
	r = dpdk_err(rte_eth_dev_info_get(pt->port_id, &info));
	if (r < 0)
		return r;
	/* No offloads asked: lwIP 2.1 can skip checksums per netif (checksum=off, the memif
	 * default) but cannot hand them to a NIC, and the virtual ports here offer none. */
	r = dpdk_err(rte_eth_dev_configure(pt->port_id, 1, 1, &conf));
	if (r == 0)
		r = dpdk_err(rte_eth_rx_queue_setup(pt->port_id, 0, RX_DESC,
						    (unsigned int)rte_eth_dev_socket_id(pt->port_id),
						    NULL, pt->pool));
	if (r == 0)
		r = dpdk_err(rte_eth_tx_queue_setup(pt->port_id, 0, TX_DESC,
						    (unsigned int)rte_eth_dev_socket_id(pt->port_id),
						    NULL));
	return r;
}

static int wait_link(struct stk_port *pt, unsigned int timeout_ms)
{
	unsigned int waited;

	for (waited = 0; waited < timeout_ms * 1000u; waited += LINK_POLL_US) {
		if (stk_port_link_up(pt))
			return 0;
		usleep(LINK_POLL_US);
	}
	return -ETIMEDOUT;
}

/* The memif burst guard (guard.c) off again, when this port had it. */
static void unguard(struct stk_port *pt)
{
	if (pt->guarded)
		stk_guard_remove();
	pt->guarded = false;
}

/* Frames still queued that will never leave (teardown, or a vanished port): freed, counted. */
static void drop_queued(struct stk_port *pt)
{
	unsigned int i;

	for (i = 0; i < pt->n_tx; i++)
		rte_pktmbuf_free(pt->tx[i]);
	pt->c[STK_C_DROP_TX_TEARDOWN] += pt->n_tx;
	__atomic_store_n(&pt->n_tx, 0, __ATOMIC_RELAXED);
}

int stk_port_open(struct stk_port *pt, const struct stk_cfg *cfg, unsigned int priv_size,
		  char *err, size_t len)
{
	char pool_name[RTE_MEMPOOL_NAMESIZE];
	int r;

	r = find_port(cfg, &pt->port_id);
	if (r < 0) {
		snprintf(err, len, "no DPDK port for %s (%s)",
			 cfg->vdev[0] ? cfg->vdev : cfg->pci, strerror(-r));
		return r;
	}
	snprintf(pool_name, sizeof(pool_name), "stk_pool_%u", pt->port_id);
	pt->mtu = port_mtu(pt, cfg);
	pt->pool = rte_pktmbuf_pool_create(pool_name, cfg->n_mbufs, POOL_CACHE,
					   (uint16_t)RTE_ALIGN(priv_size, RTE_MBUF_PRIV_ALIGN),
					   mbuf_buf_size(pt->mtu), (int)rte_socket_id());
	if (pt->pool == NULL) {
		r = -rte_errno;
		snprintf(err, len, "cannot create the mbuf pool of %u mbufs (%s)", cfg->n_mbufs,
			 rte_strerror(rte_errno));
		return r;
	}
	r = configure(pt);
	if (r == 0)
		r = dpdk_err(rte_eth_dev_start(pt->port_id));
	if (r < 0) {
		snprintf(err, len, "cannot start port %u (%s)", pt->port_id, strerror(-r));
		goto err_free_pool;
	}
	pt->started = true;
	pt->guarded = strcmp(cfg->topology, "memif") == 0 && stk_guard_install() == 0;
	/* The memif server comes up before its client exists; the client waits for the link. */
	if (cfg->role == TL_ROLE_CLIENT) {
		r = wait_link(pt, cfg->link_timeout_ms);
		if (r < 0) {
			snprintf(err, len, "port %u: link did not come up within %u ms (is the %s "
				 "side running?)", pt->port_id, cfg->link_timeout_ms,
				 strcmp(cfg->topology, "memif") == 0 ? "memif server" : "peer");
			goto err_stop_port;
		}
	}
	return 0;

err_stop_port:
	rte_eth_dev_stop(pt->port_id);
	rte_eth_dev_close(pt->port_id);
	pt->started = false;
	unguard(pt);
err_free_pool:
	rte_mempool_free(pt->pool);
	pt->pool = NULL;
	return r;
}

void stk_port_close(struct stk_port *pt)
{
	if (pt->started) {
		stk_port_tx_flush(pt);
		drop_queued(pt);
		rte_eth_dev_stop(pt->port_id);
		rte_eth_dev_close(pt->port_id);
		pt->started = false;
	}
	unguard(pt);
	rte_mempool_free(pt->pool);
	pt->pool = NULL;
}

/* A guarded burst faulted (guard.c): the rings are gone with the peer. */
static void vanished(struct stk_port *pt)
{
	pt->vanished = true;
	pt->c[STK_C_PORT_VANISHED]++;
	fprintf(stderr, "lwip: port %u: memif unmapped its rings during a burst (the peer is "
		"gone)\n", pt->port_id);
}

/* One burst under guard.c: a fault inside it (memif unmapped the rings) ends the port. */
static uint16_t guarded_burst(struct stk_port *pt, bool rx, struct rte_mbuf **m, uint16_t n)
{
	sigjmp_buf jb;
	uint16_t done;

	if (pt->vanished)
		return 0;
	if (sigsetjmp(jb, 0) != 0) {
		vanished(pt);
		return 0;
	}
	stk_guard_arm(&jb);
	done = rx ? rte_eth_rx_burst(pt->port_id, 0, m, n) : rte_eth_tx_burst(pt->port_id, 0, m, n);
	stk_guard_disarm();
	return done;
}

static uint16_t rx_burst(struct stk_port *pt, struct rte_mbuf **m, unsigned int max)
{
	if (pt->guarded)
		return guarded_burst(pt, true, m, (uint16_t)max);
	return rte_eth_rx_burst(pt->port_id, 0, m, (uint16_t)max);
}

static uint16_t tx_burst(struct stk_port *pt)
{
	if (pt->guarded)
		return guarded_burst(pt, false, pt->tx, (uint16_t)pt->n_tx);
	return rte_eth_tx_burst(pt->port_id, 0, pt->tx, (uint16_t)pt->n_tx);
}

unsigned int stk_port_rx(struct stk_port *pt, struct rte_mbuf **m, unsigned int max)
{
	uint16_t n = rx_burst(pt, m, max);

	if (n > 0) {
		pt->c[STK_C_RX_BURSTS]++;
		pt->c[STK_C_RX_PACKETS] += n;
	}
	return n;
}

void stk_port_tx_flush(struct stk_port *pt)
{
	uint64_t bytes = 0;
	uint16_t sent, i;

	if (pt->n_tx == 0)
		return;
	if (pt->vanished) {
		drop_queued(pt);
		return;
	}
	/* count before the burst: the driver may free what it sent */
	for (i = 0; i < pt->n_tx; i++)
		bytes += pt->tx[i]->pkt_len;
	sent = tx_burst(pt);
	if (sent == 0 && !stk_port_link_up(pt)) {
		/* no link (a memif server before its client exists, or after it left): the
		 * frames wait, and each pass that retries them is no short burst of a link */
		pt->c[STK_C_TX_LINK_DOWN]++;
		return;
	}
	for (i = sent; i < pt->n_tx; i++)
		bytes -= pt->tx[i]->pkt_len;
	pt->c[STK_C_TX_BURSTS]++;
	pt->c[STK_C_TX_PACKETS] += sent;
	pt->c[STK_C_TX_BYTES] += bytes;
	if (sent < pt->n_tx) {
		pt->c[STK_C_TX_BURST_SHORT]++;
		memmove(pt->tx, pt->tx + sent, (pt->n_tx - sent) * sizeof(pt->tx[0]));
	}
	__atomic_store_n(&pt->n_tx, pt->n_tx - sent, __ATOMIC_RELAXED);
}

int stk_port_tx_queue(struct stk_port *pt, struct rte_mbuf *m)
{
	if (pt->n_tx == STK_TX_BATCH)
		stk_port_tx_flush(pt);
	if (pt->n_tx == STK_TX_BATCH) {
		pt->c[STK_C_DROP_TX_RING_FULL]++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	pt->tx[pt->n_tx] = m;
	__atomic_store_n(&pt->n_tx, pt->n_tx + 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Read without the core lock, by the polling thread deciding whether a pass needs the lock:
 * lwIP's tcpip thread may queue a frame (a timer's retransmission) under the lock.
 */
bool stk_port_tx_pending(const struct stk_port *pt)
{
	return __atomic_load_n(&pt->n_tx, __ATOMIC_RELAXED) != 0;
}

bool stk_port_link_up(struct stk_port *pt)
{
	struct rte_eth_link link;

	if (pt->vanished || rte_eth_link_get_nowait(pt->port_id, &link) < 0)
		return false;
	if (link.link_status == RTE_ETH_LINK_UP) {
		pt->link_was_up = true;
		return true;
	}
	return false;
}

unsigned int stk_port_mbufs_in_use(const struct stk_port *pt)
{
	return pt->pool ? rte_mempool_in_use_count(pt->pool) : 0;
}

int stk_port_mac(const struct stk_port *pt, uint8_t mac[6])
{
	struct rte_ether_addr a;
	int r = dpdk_err(rte_eth_macaddr_get(pt->port_id, &a));

	if (r == 0)
		memcpy(mac, a.addr_bytes, 6);
	return r;
}

unsigned int stk_port_mtu(const struct stk_port *pt)
{
	return pt->mtu;
}
