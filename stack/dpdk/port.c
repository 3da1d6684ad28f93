/* SPDX-License-Identifier: MIT */
/*
 * port.c - the port of a DPDK stack: the mbuf pool, one ethdev port with one RX and one TX
 * queue, the TX batch and the port's counters. Third step of a stack's create (after
 * eal.c); at run time the stack calls dpk_port_rx, dpk_port_tx_alloc and dpk_port_tx_queue,
 * and flushes the batch once per pass (dpdk_port.h has the flow and the threading rule).
 *
 * Every mbuf carries a private area (priv_size) where the stack keeps what wraps a received
 * frame (lwIP: a pbuf), so a frame reaches the stack without a copy or an allocation.
 * memif bursts run under guard.c: the PMD may unmap its rings under a burst when the peer
 * dies, and the port is then declared gone instead of the process crashing.
 * With pcap= the capture ring (capture.c) records what a burst received and what a flush
 * sent; the port writes it when it closes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "capture.h"
#include "clock.h"
#include "dpdk_pvt.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define POOL_CACHE 256
#define LINK_POLL_US 1000

static int find_port(const struct dpk_cfg *cfg, uint16_t *port_id)
{
	char name[64];
	const char *comma;

	if (cfg->vdev[0] == '\0')
		return dpk_err(rte_eth_dev_get_port_by_name(cfg->pci, port_id));
	comma = strchr(cfg->vdev, ',');
	snprintf(name, sizeof(name), "%.*s", comma ? (int)(comma - cfg->vdev) : 63, cfg->vdev);
	return dpk_err(rte_eth_dev_get_port_by_name(name, port_id));
}

/* The MTU the stack gets: mtu= where the settings give one, else the port's. */
static unsigned int port_mtu(const struct dpk_port *pt, const struct dpk_cfg *cfg)
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
 * memif's ring buffers are sized from the same MTU (settings.c, memif_bsize).
 */
uint16_t dpk_mbuf_buf_size(unsigned int mtu)
{
	unsigned int need = RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + mtu;

	return (uint16_t)RTE_MAX((unsigned int)RTE_MBUF_DEFAULT_BUF_SIZE, RTE_ALIGN(need, 1024));
}

static int configure(struct dpk_port *pt)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int r;

	memset(&conf, 0, sizeof(conf));
	r = dpk_err(rte_eth_dev_info_get(pt->port_id, &info));
	if (r < 0)
		return r;
	/* No offloads asked: lwIP 2.1 can skip checksums per netif (checksum=off, the memif
	 * default) but cannot hand them to a NIC, and the virtual ports here offer none. */
	r = dpk_err(rte_eth_dev_configure(pt->port_id, 1, 1, &conf));
	if (r == 0)
		r = dpk_err(rte_eth_rx_queue_setup(pt->port_id, 0, RX_DESC,
						    (unsigned int)rte_eth_dev_socket_id(pt->port_id),
						    NULL, pt->pool));
	if (r == 0)
		r = dpk_err(rte_eth_tx_queue_setup(pt->port_id, 0, TX_DESC,
						    (unsigned int)rte_eth_dev_socket_id(pt->port_id),
						    NULL));
	return r;
}

static int wait_link(struct dpk_port *pt, unsigned int timeout_ms)
{
	unsigned int waited;

	for (waited = 0; waited < timeout_ms * 1000u; waited += LINK_POLL_US) {
		if (dpk_port_link_up(pt))
			return 0;
		usleep(LINK_POLL_US);
	}
	return -ETIMEDOUT;
}

/* The memif burst guard (guard.c) off again, when this port had it. */
static void unguard(struct dpk_port *pt)
{
	if (pt->guarded)
		dpk_guard_remove();
	pt->guarded = false;
}

/* Frames still queued that will never leave (teardown, or a vanished port): freed, counted. */
static void drop_queued(struct dpk_port *pt)
{
	unsigned int i;

	for (i = 0; i < pt->n_tx; i++)
		rte_pktmbuf_free(pt->tx[i]);
	pt->c[DPK_C_DROP_TX_TEARDOWN] += pt->n_tx;
	__atomic_store_n(&pt->n_tx, 0, __ATOMIC_RELAXED);
}

/*
 * After the start: the client waits for the link (a memif server comes up before its client
 * exists); a tap's kernel end gets its address now, so the netdev is up and addressed before
 * the stack announces itself (a gratuitous ARP reaches a live interface).
 */
static int come_up(struct dpk_port *pt, const struct dpk_cfg *cfg, char *err, size_t len)
{
	int r;

	if (cfg->role == TL_ROLE_CLIENT) {
		r = wait_link(pt, cfg->link_timeout_ms);
		if (r < 0) {
			snprintf(err, len, "port %u: link did not come up within %u ms (is the %s "
				 "side running?)", pt->port_id, cfg->link_timeout_ms,
				 cfg->port == DPK_PORT_MEMIF ? "memif server" : "peer");
			return r;
		}
	}
	return cfg->port == DPK_PORT_TAP ? dpk_tap_configure(cfg, err, len) : 0;
}

/*
 * pcap=: the ring, its times anchored once to the wall clock (CLOCK_REALTIME read beside
 * the TSC), so the two sides' files of a run line up; the file gets its header now, so a
 * path that cannot be written fails the start, not the end of the run.
 */
static int capture_open(struct dpk_port *pt, const struct dpk_cfg *cfg, char *err, size_t len)
{
	struct timespec wall;
	uint64_t tsc;
	int r;

	if (cfg->pcap[0] == '\0')
		return 0;
	clock_gettime(CLOCK_REALTIME, &wall);
	tsc = dpk_clock_cycles();
	pt->cap = dpk_capture_create(cfg->pcap, cfg->pcap_frames, dpk_clock_hz(), tsc,
				     (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec);
	if (pt->cap == NULL) {
		r = -errno;
		snprintf(err, len, "pcap %s: cannot keep %u frames (%s)", cfg->pcap,
			 cfg->pcap_frames, strerror(-r));
		return r;
	}
	r = dpk_capture_write(pt->cap, err, len);
	if (r < 0) {
		dpk_capture_free(pt->cap);
		pt->cap = NULL;
	}
	return r;
}

/* The capture written, once every frame that will leave has left (a failure: one line). */
static void capture_close(struct dpk_port *pt)
{
	char err[600];

	if (pt->cap != NULL && dpk_capture_write(pt->cap, err, sizeof(err)) < 0)
		fprintf(stderr, "dpdk: %s\n", err);
	dpk_capture_free(pt->cap);
	pt->cap = NULL;
}

int dpk_port_open(struct dpk_port *pt, const struct dpk_cfg *cfg, unsigned int priv_size,
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
	pt->tx_cap = RTE_MAX(cfg->n_mbufs / 2, (unsigned int)DPK_TX_BATCH);
	pt->tx = calloc(pt->tx_cap, sizeof(pt->tx[0]));
	if (pt->tx == NULL) {
		snprintf(err, len, "no memory for a TX queue of %u frames", pt->tx_cap);
		return -ENOMEM;
	}
	snprintf(pool_name, sizeof(pool_name), "dpk_pool_%u", pt->port_id);
	pt->mtu = port_mtu(pt, cfg);
	pt->pool = rte_pktmbuf_pool_create(pool_name, cfg->n_mbufs, POOL_CACHE,
					   (uint16_t)RTE_ALIGN(priv_size, RTE_MBUF_PRIV_ALIGN),
					   dpk_mbuf_buf_size(pt->mtu), (int)rte_socket_id());
	if (pt->pool == NULL) {
		r = dpk_err(-1);
		snprintf(err, len, "cannot create the mbuf pool of %u mbufs (%s)", cfg->n_mbufs,
			 rte_strerror(-r));
		goto err_free_queue;
	}
	r = configure(pt);
	if (r == 0)
		r = dpk_err(rte_eth_dev_start(pt->port_id));
	if (r < 0) {
		snprintf(err, len, "cannot start port %u (%s)", pt->port_id, strerror(-r));
		goto err_free_pool;
	}
	pt->started = true;
	pt->cache = rte_mempool_default_cache(pt->pool, rte_lcore_id());
	pt->guarded = cfg->port == DPK_PORT_MEMIF && dpk_guard_install() == 0;
	r = come_up(pt, cfg, err, len);
	if (r == 0)
		r = dpk_impair_port_open(pt, cfg, err, len);
	if (r == 0)
		r = capture_open(pt, cfg, err, len);
	if (r < 0)
		goto err_stop_port;
	return 0;

err_stop_port:
	rte_eth_dev_stop(pt->port_id);
	rte_eth_dev_close(pt->port_id);
	pt->started = false;
	unguard(pt);
err_free_pool:
	rte_mempool_free(pt->pool);
	pt->pool = NULL;
err_free_queue:
	free(pt->tx);
	pt->tx = NULL;
	return r;
}

void dpk_port_close(struct dpk_port *pt)
{
	if (pt->started) {
		dpk_port_tx_flush(pt);
		dpk_impair_port_close(pt);
		drop_queued(pt);
		rte_eth_dev_stop(pt->port_id);
		rte_eth_dev_close(pt->port_id);
		pt->started = false;
	}
	capture_close(pt);
	unguard(pt);
	rte_mempool_free(pt->pool);
	pt->pool = NULL;
	free(pt->tx);
	pt->tx = NULL;
	pt->n_tx = 0;
}

/* A guarded burst faulted (guard.c): the rings are gone with the peer. */
static void vanished(struct dpk_port *pt)
{
	pt->vanished = true;
	pt->c[DPK_C_PORT_VANISHED]++;
	fprintf(stderr, "dpdk: port %u: memif unmapped its rings during a burst (the peer is "
		"gone)\n", pt->port_id);
}

/* One burst under guard.c: a fault inside it (memif unmapped the rings) ends the port. */
static uint16_t guarded_burst(struct dpk_port *pt, bool rx, struct rte_mbuf **m, uint16_t n)
{
	sigjmp_buf jb;
	uint16_t done;

	if (pt->vanished)
		return 0;
	if (sigsetjmp(jb, 0) != 0) {
		vanished(pt);
		return 0;
	}
	dpk_guard_arm(&jb);
	done = rx ? rte_eth_rx_burst(pt->port_id, 0, m, n) : rte_eth_tx_burst(pt->port_id, 0, m, n);
	dpk_guard_disarm();
	return done;
}

static uint16_t rx_burst(struct dpk_port *pt, struct rte_mbuf **m, unsigned int max)
{
	if (pt->guarded)
		return guarded_burst(pt, true, m, (uint16_t)max);
	return rte_eth_rx_burst(pt->port_id, 0, m, (uint16_t)max);
}

static uint16_t tx_burst(struct dpk_port *pt, struct rte_mbuf **m, uint16_t n)
{
	if (pt->guarded)
		return guarded_burst(pt, false, m, n);
	return rte_eth_tx_burst(pt->port_id, 0, m, n);
}

static void capture_rx(struct dpk_port *pt, struct rte_mbuf **m, uint16_t n)
{
	uint64_t now = dpk_clock_cycles();
	uint16_t i;

	for (i = 0; i < n; i++)
		dpk_capture_rx(pt->cap, now, rte_pktmbuf_mtod(m[i], const void *),
			       rte_pktmbuf_data_len(m[i]));
}

/* A burst as it is offered to the ring; what the ring does not take is taken back. */
static void capture_tx(struct dpk_port *pt, struct rte_mbuf **m, unsigned int n)
{
	uint64_t now = dpk_clock_cycles();
	unsigned int i;

	for (i = 0; i < n; i++)
		dpk_capture_tx(pt->cap, now, rte_pktmbuf_mtod(m[i], const void *),
			       rte_pktmbuf_data_len(m[i]));
}

unsigned int dpk_port_rx(struct dpk_port *pt, struct rte_mbuf **m, unsigned int max)
{
	uint16_t n = rx_burst(pt, m, max), i;

	if (n > 0) {
		pt->c[DPK_C_RX_BURSTS]++;
		pt->c[DPK_C_RX_PACKETS] += n;
		for (i = 0; i < n; i++)
			pt->c[DPK_C_RX_BYTES] += m[i]->pkt_len;
		if (pt->cap != NULL)
			capture_rx(pt, m, n);
	}
	if (unlikely(pt->impair != NULL))
		return dpk_impair_port_rx(pt, m, n, max);
	return n;
}

void dpk_port_free(struct dpk_port *pt, struct rte_mbuf *m)
{
	/* one segment of our own pool (what the port receives and sends) goes back through the
	 * port's cache; anything else the way DPDK frees it */
	if (m->nb_segs != 1 || m->pool != pt->pool || pt->cache == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	m = rte_pktmbuf_prefree_seg(m);
	if (m != NULL)
		rte_mempool_generic_put(pt->pool, (void **)&m, 1, pt->cache);
}

struct rte_mbuf *dpk_port_tx_alloc(struct dpk_port *pt, unsigned int len)
{
	struct rte_mbuf *m;

	/* rte_pktmbuf_alloc, by the cache found at open (struct dpk_port) */
	if (rte_mempool_generic_get(pt->pool, (void **)&m, 1, pt->cache) < 0) {
		pt->c[DPK_C_DROP_TX_NO_MBUF]++;
		return NULL;
	}
	rte_pktmbuf_reset(m);
	if (len > rte_pktmbuf_tailroom(m)) {
		pt->c[DPK_C_DROP_TX_TOO_BIG]++;
		dpk_port_free(pt, m);
		return NULL;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	return m;
}

/*
 * One burst of at most DPK_TX_BATCH frames from @p m; returns the frames the ring took and
 * adds them to the counters. Bytes are counted before the burst: the driver may free what it
 * sent.
 */
static uint16_t offer(struct dpk_port *pt, struct rte_mbuf **m, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t sent, i;

	for (i = 0; i < n; i++)
		bytes += m[i]->pkt_len;
	if (pt->cap != NULL)
		capture_tx(pt, m, n);
	sent = tx_burst(pt, m, n);
	if (pt->cap != NULL)
		dpk_capture_tx_unsent(pt->cap, n - sent);
	for (i = sent; i < n; i++)
		bytes -= m[i]->pkt_len;
	pt->c[DPK_C_TX_BURSTS]++;
	pt->c[DPK_C_TX_PACKETS] += sent;
	pt->c[DPK_C_TX_BYTES] += bytes;
	return sent;
}

/*
 * The queue leaves a burst at a time while the ring takes whole bursts: a full ring costs
 * one short burst, however long the queue behind it.
 */
static void flush_batch(struct dpk_port *pt)
{
	unsigned int done = 0, n;
	uint16_t sent;

	if (pt->n_tx == 0)
		return;
	if (pt->vanished) {
		drop_queued(pt);
		return;
	}
	if (!pt->link_up && !dpk_port_link_up(pt)) {
		/* no link (a memif server before its client exists, or after it left): the
		 * frames wait, and each pass that retries them is no short burst of a link */
		pt->c[DPK_C_TX_LINK_DOWN]++;
		return;
	}
	do {
		n = pt->n_tx - done < DPK_TX_BATCH ? pt->n_tx - done : DPK_TX_BATCH;
		sent = offer(pt, pt->tx + done, (uint16_t)n);
		done += sent;
	} while (sent == n && done < pt->n_tx);
	if (done < pt->n_tx) {
		pt->c[DPK_C_TX_BURST_SHORT]++;
		if (done > 0)
			memmove(pt->tx, pt->tx + done, (pt->n_tx - done) * sizeof(pt->tx[0]));
	}
	__atomic_store_n(&pt->n_tx, pt->n_tx - done, __ATOMIC_RELAXED);
}

/* With an impairment stage (impair_port.c) the batch passes through it first; what is left
 * of the batch after the burst went through it already. */
void dpk_port_tx_flush(struct dpk_port *pt)
{
	if (likely(pt->impair == NULL)) {
		flush_batch(pt);
		return;
	}
	dpk_impair_port_tx(pt);
	flush_batch(pt);
	pt->tx_staged = pt->n_tx;
}

int dpk_port_tx_queue(struct dpk_port *pt, struct rte_mbuf *m)
{
	if (pt->n_tx > 0 && pt->n_tx % DPK_TX_BATCH == 0)
		dpk_port_tx_flush(pt);
	if (pt->n_tx == pt->tx_cap) {
		pt->c[DPK_C_DROP_TX_RING_FULL]++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	pt->tx[pt->n_tx] = m;
	__atomic_store_n(&pt->n_tx, pt->n_tx + 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Read without the core lock, by the polling thread deciding whether a pass needs the lock:
 * lwIP's tcpip thread may queue a frame (a timer's retransmission) under the lock. Frames an
 * impairment stage holds count: only a flush lets them go.
 */
bool dpk_port_tx_pending(const struct dpk_port *pt)
{
	return __atomic_load_n(&pt->n_tx, __ATOMIC_RELAXED) != 0 ||
	       __atomic_load_n(&pt->tx_held, __ATOMIC_RELAXED) != 0;
}

bool dpk_port_link_up(struct dpk_port *pt)
{
	struct rte_eth_link link;

	bool up = !pt->vanished && rte_eth_link_get_nowait(pt->port_id, &link) == 0 &&
		  link.link_status == RTE_ETH_LINK_UP;

	if (pt->link_up && !up) {
		pt->c[DPK_C_LINK_DOWN]++;
		pt->link_lost = true;
	}
	pt->link_up = up;
	pt->link_was_up |= up;
	return up;
}

bool dpk_port_peer_lost(const struct dpk_port *pt)
{
	return pt->link_lost;
}

unsigned int dpk_port_mbufs_in_use(const struct dpk_port *pt)
{
	return pt->pool ? rte_mempool_in_use_count(pt->pool) : 0;
}

int dpk_port_mac(const struct dpk_port *pt, uint8_t mac[6])
{
	struct rte_ether_addr a;
	int r = dpk_err(rte_eth_macaddr_get(pt->port_id, &a));

	if (r == 0)
		memcpy(mac, a.addr_bytes, 6);
	return r;
}

unsigned int dpk_port_mtu(const struct dpk_port *pt)
{
	return pt->mtu;
}

static const char *const counter_names[DPK_C__COUNT] = {
	[DPK_C_RX_PACKETS] = "rx_packets",
	[DPK_C_RX_BYTES] = "rx_bytes",
	[DPK_C_RX_BURSTS] = "rx_bursts",
	[DPK_C_TX_PACKETS] = "tx_packets",
	[DPK_C_TX_BYTES] = "tx_bytes",
	[DPK_C_TX_BURSTS] = "tx_bursts",
	[DPK_C_TX_BURST_SHORT] = "tx_burst_short",
	[DPK_C_TX_LINK_DOWN] = "tx_burst_link_down",
	[DPK_C_DROP_TX_NO_MBUF] = "drop_tx_no_mbuf",
	[DPK_C_DROP_TX_TOO_BIG] = "drop_tx_too_big",
	[DPK_C_DROP_TX_RING_FULL] = "drop_tx_ring_full",
	[DPK_C_DROP_TX_TEARDOWN] = "drop_tx_teardown",
	[DPK_C_LINK_DOWN] = "link_down",
	[DPK_C_PORT_VANISHED] = "port_vanished",
};

void dpk_counter_put(struct tl_counter *out, unsigned int max, unsigned int *n,
		     const char *name, uint64_t value)
{
	if (*n < max)
		out[*n] = (struct tl_counter){ .name = name, .value = value };
	(*n)++;
}

unsigned int dpk_port_counters(const struct dpk_port *pt, struct tl_counter *out,
			       unsigned int max, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < DPK_C__COUNT; i++)
		dpk_counter_put(out, max, &n, counter_names[i], pt->c[i]);
	dpk_counter_put(out, max, &n, "mbufs", pt->pool != NULL ? pt->pool->size : 0);
	dpk_counter_put(out, max, &n, "mbufs_in_use", dpk_port_mbufs_in_use(pt));
	dpk_counter_put(out, max, &n, "hugepages", rte_eal_has_hugepages() ? 1 : 0);
	return dpk_impair_port_counters(pt, out, max, n);
}
