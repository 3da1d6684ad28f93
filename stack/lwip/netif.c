/* SPDX-License-Identifier: MIT */
/*
 * netif.c - the lwIP network interface over the DPDK layer's port (dpdk_port.h), and the
 * poll loop. Last step of lwip_create (tcpip_init, netif_add); at run time stk_loop_once is
 * the body of every tl_poll iteration:
 *
 *   [core lock] flush what the application queued [unlock] -> dpk_port_rx -> the tcpip
 *   mailbox (stk_sys_poll) -> [core lock] per frame: wrap the mbuf in a pbuf,
 *   ethernet_input -> every 100 us: sys_check_timeouts, and every 1 ms housekeeping (link
 *   state, TIME_WAIT cap) -> flush TX [unlock]
 *
 * RX is zero-copy: each mbuf's private area holds a struct pbuf_custom that points at the
 * frame; lwIP frees it with rx_pbuf_free, which returns the mbuf to the pool (through the
 * port's cache, dpk_port_free). TX copies the
 * frame lwIP built (one pbuf: LWIP_NETIF_TX_SINGLE_PBUF) into one mbuf and queues it on the
 * batch that the loop flushes. The threading rule is in stk.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "clock.h"
#include "stk.h"

/* Built against lwIP from source (stack/lwip/opts): its lwipopts.h must be the one in force
 * here too, or this file and lwIP disagree on the layout of struct netif. */
#if defined(TCPLAB_LWIP_SOURCE) && !defined(TCPLAB_LWIPOPTS_H)
#error "lwIP built from source, but this file sees another lwipopts.h"
#endif

#define TIMERS_US 100		/* lwIP's timers have 1 ms granularity at best */
#define HOUSEKEEP_US 1000
#define CLOCK_PASSES 16		/* passes per TSC read for the timers: a pass is ~50 ns idle */

struct stk_netif {
	struct netif netif;
	struct dpk_port *pt;
	uint64_t *c;			/* enum stk_counter */
	unsigned int tw_max;
	uint64_t timer_cycles;
	uint64_t next_timers;
	uint64_t housekeep_cycles;
	uint64_t next_housekeep;
	unsigned int passes;
	bool checksum;
};

/* What each mbuf's private area holds: the pbuf that wraps it, first, and its port. */
struct rx_priv {
	struct pbuf_custom pc;
	struct dpk_port *pt;
};

unsigned int stk_netif_priv_size(void)
{
	return sizeof(struct rx_priv);
}

/* ---- RX ---- */

static void rx_pbuf_free(struct pbuf *p)
{
	struct rx_priv *rp = (struct rx_priv *)p;	/* pc is its first member */

	dpk_port_free(rp->pt, (struct rte_mbuf *)RTE_PTR_SUB(rp, sizeof(struct rte_mbuf)));
}

/*
 * IPv4 protocols lwIP is handed: TCP, UDP and ICMP. Anything else is dropped here, by name:
 * Debian's lwIP 2.1.3 is built with UDP-Lite, and a UDP-Lite datagram whose checksum
 * coverage exceeds its length trips an assertion in inet_chksum.c that aborts the process
 * (found by the fuzz run, pytest/test_fuzz.py). The harness uses none of those protocols.
 */
static bool ip_proto_unwanted(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct ip_hdr *ip = (const struct ip_hdr *)(eh + 1);
	uint8_t proto;

	if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return false;
	if (m->data_len < sizeof(*eh) + IP_HLEN)
		return false;	/* lwIP rejects a short header itself */
	proto = IPH_PROTO(ip);
	return proto != IP_PROTO_TCP && proto != IP_PROTO_UDP && proto != IP_PROTO_ICMP;
}

static void rx_one(struct stk_netif *nf, struct rte_mbuf *m)
{
	struct rx_priv *rp = rte_mbuf_to_priv(m);
	struct pbuf_custom *pc = &rp->pc;
	struct pbuf *p;

	if (m->nb_segs != 1 || m->data_len < SIZEOF_ETH_HDR) {
		nf->c[STK_C_DROP_RX_BAD_FRAME]++;
		dpk_port_free(nf->pt, m);
		return;
	}
	if (ip_proto_unwanted(m)) {
		nf->c[STK_C_DROP_RX_IP_PROTO]++;
		dpk_port_free(nf->pt, m);
		return;
	}
	pc->custom_free_function = rx_pbuf_free;
	rp->pt = nf->pt;
	p = pbuf_alloced_custom(PBUF_RAW, m->data_len, PBUF_REF, pc,
				rte_pktmbuf_mtod(m, void *), m->data_len);
	if (p == NULL) {
		nf->c[STK_C_DROP_RX_BAD_FRAME]++;
		dpk_port_free(nf->pt, m);
		return;
	}
	if (nf->netif.input(p, &nf->netif) != ERR_OK) {
		nf->c[STK_C_DROP_RX_INPUT]++;
		pbuf_free(p);
	}
}

static void rx_input(struct stk_netif *nf, struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		rx_one(nf, m[i]);
	}
}

/* ---- TX: called by lwIP with the core lock held ---- */

static err_t link_output(struct netif *netif, struct pbuf *p)
{
	struct stk_netif *nf = netif->state;
	struct rte_mbuf *m = dpk_port_tx_alloc(nf->pt, p->tot_len);

	if (m == NULL)
		return ERR_MEM;	/* counted by the port: no mbuf, or the frame too big */
	if (p->next == NULL)
		memcpy(rte_pktmbuf_mtod(m, void *), p->payload, p->len);
	else
		pbuf_copy_partial(p, rte_pktmbuf_mtod(m, void *), p->tot_len, 0);
	dpk_port_tx_queue(nf->pt, m);	/* a drop there is counted and looks like loss */
	return ERR_OK;
}

static err_t netif_init_cb(struct netif *netif)
{
	struct stk_netif *nf = netif->state;

	netif->name[0] = 'd';
	netif->name[1] = 'p';
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = link_output;
	netif->mtu = (u16_t)dpk_port_mtu(nf->pt);
	netif->hwaddr_len = ETH_HWADDR_LEN;
	if (dpk_port_mac(nf->pt, netif->hwaddr) < 0)
		return ERR_IF;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	/* checksum=off (memif by default): neither computed nor checked. A no-op with Debian's
	 * packaged lwIP, which has no per-netif control (dpk_cfg.checksum) */
	if (!nf->checksum) {
		NETIF_SET_CHECKSUM_CTRL(netif, 0);
	}
	return ERR_OK;
}

/* ---- housekeeping ---- */

/*
 * Keep at most tw_max connections in TIME_WAIT (Linux: tcp_max_tw_buckets). lwIP keeps them
 * 2 * 60 s and scans them on every connect for a free port, so a connect-per-transaction
 * workload would otherwise slow down with every connection and run out of its 16384
 * ephemeral ports. The list is newest first; the oldest beyond tw_max are freed silently.
 */
static void tw_trim(struct stk_netif *nf)
{
	struct tcp_pcb *pcb, *next;
	unsigned int n = 0;

	for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (++n > nf->tw_max) {
			tcp_abort(pcb);
			nf->c[STK_C_TW_RECYCLED]++;
		}
	}
}

/* the link's state, looked at by the port (a loss is counted there: dpk_port_peer_lost) */
static void housekeep(struct stk_netif *nf, uint64_t now)
{
	if (now < nf->next_housekeep)
		return;
	nf->next_housekeep = now + nf->housekeep_cycles;
	dpk_port_link_up(nf->pt);
	tw_trim(nf);
}

/*
 * The receive burst needs no lock (only this thread touches the RX queue); the lock is taken
 * only when there is something for lwIP: frames, due timers, or frames waiting to be sent.
 * An idle pass is one rx_burst, and a TSC read for the timers every CLOCK_PASSES passes.
 */
unsigned int stk_loop_once(struct stk_netif *nf, bool *changed)
{
	struct rte_mbuf *m[DPK_RX_BURST];
	uint64_t now = 0;
	unsigned int n;
	bool timers = false;

	/* what the application queued since the last pass leaves first, before the receive
	 * burst: on a request/response that burst is on the path, and nothing it brings can
	 * join frames that are already queued */
	if (dpk_port_tx_pending(nf->pt)) {
		LOCK_TCPIP_CORE();
		dpk_port_tx_flush(nf->pt);
		UNLOCK_TCPIP_CORE();
	}
	n = dpk_port_rx(nf->pt, m, DPK_RX_BURST);
	if (++nf->passes % CLOCK_PASSES == 0) {
		now = dpk_clock_cycles();
		timers = now >= nf->next_timers;
	}
	stk_sys_poll();
	*changed = n > 0 || timers;
	if (!*changed && !dpk_port_tx_pending(nf->pt))
		return 0;
	LOCK_TCPIP_CORE();
	rx_input(nf, m, n);
	if (timers) {
		nf->next_timers = now + nf->timer_cycles;
		sys_check_timeouts();
		housekeep(nf, now);
	}
	dpk_port_tx_flush(nf->pt);
	UNLOCK_TCPIP_CORE();
	return n;
}

unsigned int stk_netif_mtu(const struct stk_netif *nf)
{
	return nf->netif.mtu;
}

/* What lwIP itself will do on this netif (its flags, not the option that set them): with
 * Debian's packaged lwIP the macro is empty and the answer is always yes. */
bool stk_netif_checksum(struct stk_netif *nf)
{
	bool on = false;

	(void)nf;	/* unused where the macro is empty */
	IF__NETIF_CHECKSUM_ENABLED(&nf->netif, NETIF_CHECKSUM_GEN_TCP) {
		on = true;
	}
	return on;
}

/* ---- lifetime ---- */

static int parse_ip(const char *s, ip4_addr_t *a, const char *what, char *err, size_t len)
{
	if (ip4addr_aton(s, a))
		return 0;
	snprintf(err, len, "stack option %s: '%s' is not an IPv4 address", what, s);
	return -EINVAL;
}

struct stk_netif *stk_netif_start(struct dpk_port *pt, const struct stk_cfg *cfg, uint64_t *c,
				  char *err, size_t len)
{
	ip4_addr_t ip, mask, gw;
	struct stk_netif *nf;
	struct netif *added;

	if (parse_ip(cfg->dpdk.ip, &ip, "ip", err, len) < 0 ||
	    parse_ip(cfg->dpdk.netmask, &mask, "netmask", err, len) < 0 ||
	    parse_ip(cfg->dpdk.gw, &gw, "gw", err, len) < 0) {
		errno = EINVAL;
		return NULL;
	}
	nf = calloc(1, sizeof(*nf));
	if (nf == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	nf->pt = pt;
	nf->c = c;
	nf->tw_max = cfg->tw_max;
	nf->checksum = cfg->dpdk.checksum;
	nf->timer_cycles = dpk_clock_cycles_of_us(TIMERS_US);
	nf->housekeep_cycles = dpk_clock_cycles_of_us(HOUSEKEEP_US);
	tcpip_init(NULL, NULL);
	LOCK_TCPIP_CORE();
	added = netif_add(&nf->netif, &ip, &mask, &gw, nf, netif_init_cb, ethernet_input);
	if (added != NULL) {
		netif_set_default(&nf->netif);
		netif_set_up(&nf->netif);
		netif_set_link_up(&nf->netif);
	}
	UNLOCK_TCPIP_CORE();
	if (added == NULL) {
		snprintf(err, len, "lwIP refused the interface (netif_add)");
		free(nf);
		errno = EIO;
		return NULL;
	}
	dpk_port_link_up(pt);
	stk_sys_attach(nf);
	return nf;
}

static unsigned int list_len(const struct tcp_pcb *pcb)
{
	unsigned int n = 0;

	for (; pcb != NULL; pcb = pcb->next)
		n++;
	return n;
}

unsigned int stk_netif_pcbs(struct stk_netif *nf, unsigned int *time_wait)
{
	unsigned int n;

	(void)nf;
	LOCK_TCPIP_CORE();
	n = list_len(tcp_active_pcbs);
	*time_wait = list_len(tcp_tw_pcbs);
	UNLOCK_TCPIP_CORE();
	return n;
}

/* Abort every connection still in lwIP (RST to the peer), so none holds an mbuf. */
static void abort_all(void)
{
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
}

void stk_netif_stop(struct stk_netif *nf)
{
	if (nf == NULL)
		return;
	stk_sys_attach(NULL);
	LOCK_TCPIP_CORE();
	abort_all();
	dpk_port_tx_flush(nf->pt);
	netif_set_down(&nf->netif);
	netif_remove(&nf->netif);
	UNLOCK_TCPIP_CORE();
	free(nf);
}
