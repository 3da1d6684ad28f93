/* SPDX-License-Identifier: MIT */
/*
 * dpdk_port.h - the DPDK layer (dpk_*): what every TCP stack on a DPDK port needs, below the
 * stack itself. A static library (stack/dpdk, built -fPIC) that a stack's plug-in links; it
 * knows port kinds (memif, tap, af_packet, pci), never topologies or address plans: those
 * come as settings from the harness's topology table (<tcplab/stack.h>, tl_stack_params).
 *
 * Call flow, per process (a stack's create, then its poll loop, then its free):
 *   dpk_cfg_parse  settings -> struct dpk_cfg: port=, ip=, netmask=, gw=, iface=, tap_addr=,
 *                  tap_name=, pci=, huge=, cpu=, eal=, log=, mbufs=, link_timeout_ms=, mtu=,
 *                  checksum=, impair=, pcap=, pcap_frames=, plus the keys the stack names
 *                  as its own; starts nothing, so a stack's check op is this call
 *   dpk_eal_start  EAL: --no-pci unless pci= names a device, a --file-prefix from the run id
 *                  and role, hugepages when usable else --no-huge, no shared config; removes
 *                  the empty runtime directories of dead runs
 *   dpk_port_open  the mbuf pool, one RX and one TX queue, start; the client waits for the
 *                  link; port=tap addresses the kernel end (tap_addr=) and brings it up
 *   loop:          dpk_port_tx_flush -> dpk_port_rx -> the stack -> dpk_port_tx_alloc and
 *                  dpk_port_tx_queue per frame -> dpk_port_tx_flush
 *   dpk_port_close (the EAL stays until the process exits: eal.c, dpk_eal_start)
 *
 * Threading rule (the one place it is written for the layer): the port belongs to the thread
 * that opened it, the stack's polling thread; dpk_port_rx and the EAL calls are made from it
 * only. Another thread of the stack may call dpk_port_tx_* and dpk_port_link_up (a flush
 * looks at the link) only under a lock that the polling thread holds around the same calls
 * (lwIP: its core lock); dpk_port_tx_pending and dpk_port_peer_lost may be read without it.
 * DPDK's EAL starts once per process: one DPDK stack instance per process.
 *
 * Errors: 0 or a negative errno, with a one-line reason in err where there is one; DPDK's
 * return codes become negative errno in one place, dpk_err.
 */
#ifndef DPDK_PORT_H
#define DPDK_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcplab/stack.h>

#include "impair.h"

#define DPK_TX_BATCH 64
/*
 * The frames a port holds for a ring that is full (the peer is behind) are at most half its
 * mbufs (mbufs=; the other half keeps the receive side fed): 4095 by default. The queue
 * flushes every DPK_TX_BATCH frames and drops only past that (drop_tx_ring_full). A 64-frame
 * queue lost thousands of frames at 1,000 connections, each a retransmission.
 */
#define DPK_RX_BURST 32
/*
 * A poll keeps receiving while bursts come back full, up to this many frames (one memif
 * ring), before it asks which sockets are ready: that question costs a walk over every
 * socket, and one burst per walk left the peer's ring full at 10,000 connections.
 */
#define DPK_RX_DRAIN 1024

struct rte_mbuf;
struct rte_mempool;
struct dpk_impair;

/** The kinds of port the layer opens (setting port=). */
enum dpk_port_kind {
	DPK_PORT_MEMIF,		/**< shared memory with another DPDK process; run_id names it */
	DPK_PORT_TAP,		/**< a kernel tap netdev in this process's namespace */
	DPK_PORT_AF_PACKET,	/**< a kernel interface (iface=) taken with af_packet */
	DPK_PORT_PCI,		/**< a NIC bound for DPDK (pci=BDF) */
};

/** A setting the stack reads itself; dpk_cfg_parse accepts it and lists it in its help. */
struct dpk_opt {
	const char *key;
	const char *help;
};

/** What the settings and the role decide (dpk_cfg_parse). */
struct dpk_cfg {
	enum tl_role role;
	enum dpk_port_kind port;
	int cpu_auto;			/* cpu=auto: the harness's pick (tl_stack_params.cpu) */
	char run_id[48];
	char vdev[256];			/* the --vdev argument; empty for pci */
	char ip[16], netmask[16], gw[16];
	char pci[32];			/* the device named: the only way off --no-pci */
	char iface[16];			/* af_packet: the kernel interface taken (IFNAMSIZ) */
	char huge[8];			/* auto | yes | no */
	char cpu[16];			/* auto | any | N: the polling lcore's CPU */
	char eal_extra[256];		/* eal=...: more EAL arguments, space separated */
	char log_level[32];
	char tap_addr[24];		/* tap: the kernel end's ADDRESS/BITS, or none */
	char tap_name[16];		/* tap: the netdev's name (IFNAMSIZ) */
	unsigned int n_mbufs;
	unsigned int link_timeout_ms;
	unsigned int mtu;		/* what the stack's MTU is to be; 0: the port's */
	bool checksum;			/* the stack computes and checks IP/TCP checksums */
	struct dpk_impair_spec impair;	/* impair=SPEC for this side (impair.h); off: zero */
	char pcap[512];			/* pcap=: the capture file written at close; "": off */
	unsigned int pcap_frames;	/* pcap_frames=: the last N frames it holds */
};

/** Port counters: every drop has its reason. dpk_port_counters reports them in this order. */
enum dpk_counter {
	DPK_C_RX_PACKETS,
	DPK_C_RX_BYTES,
	DPK_C_RX_BURSTS,
	DPK_C_TX_PACKETS,
	DPK_C_TX_BYTES,
	DPK_C_TX_BURSTS,
	DPK_C_TX_BURST_SHORT,		/* tx_burst took fewer than offered; the rest waited */
	DPK_C_TX_LINK_DOWN,		/* a burst took none, the link being down; they waited */
	DPK_C_DROP_TX_NO_MBUF,
	DPK_C_DROP_TX_TOO_BIG,		/* frame longer than one mbuf */
	DPK_C_DROP_TX_RING_FULL,	/* batch still full after a flush: the peer is not reading */
	DPK_C_DROP_TX_TEARDOWN,		/* still queued when the port closed */
	DPK_C_LINK_DOWN,		/* link went down after having been up */
	DPK_C_PORT_VANISHED,		/* memif unmapped its rings during a burst (guard.c) */
	DPK_C__COUNT,
};

/** One port, one queue pair, the TX batch. Zero it before dpk_port_open. */
struct dpk_port {
	uint16_t port_id;
	bool started;
	bool guarded;			/* memif: bursts run under guard.c */
	bool vanished;			/* a guarded burst faulted: the port is never used again */
	bool link_up;			/* as dpk_port_link_up last saw it */
	bool link_was_up;
	bool link_lost;			/* down after having been up: the peer is gone */
	struct rte_mempool *pool;
	/*
	 * The pool's cache of the polling lcore, looked up once: DPDK finds it by rte_lcore_id(),
	 * a thread-local of librte_eal that a plug-in (a dlopen'd object) reaches only through
	 * __tls_get_addr, two calls a frame (dpk_port_tx_alloc, dpk_port_free).
	 */
	struct rte_mempool_cache *cache;
	unsigned int mtu;		/* what a frame's payload may reach; mbufs hold a frame */
	unsigned int n_tx;		/* see the threading rule: dpk_port_tx_pending */
	unsigned int tx_cap;		/* what tx holds: half the pool, at least a batch */
	struct rte_mbuf **tx;
	uint64_t c[DPK_C__COUNT];
	/* the impairment stage (impair_port.c): NULL when impair= gives this side nothing */
	struct dpk_impair *impair;
	unsigned int tx_staged;		/* batch frames at the front that went through it */
	unsigned int tx_held;		/* frames its tx stage holds: dpk_port_tx_pending */
	struct dpk_capture *cap;	/* pcap=: the capture ring (capture.h); NULL: off */
};

/* ---- settings (settings.c) ---- */

/**
 * Read the settings in @p p into @p cfg, checking every key against the layer's and the
 * stack's own (@p own, @p n_own): -EINVAL with the key and what was expected in @p err for
 * an unknown key, a malformed value or a port without what it needs (tap: tap_addr=;
 * af_packet: iface=; pci: pci=); -EPERM for tap and af_packet outside a network namespace
 * the run made. Starts nothing. ip= is optional here: a port needs no address.
 */
int dpk_cfg_parse(struct dpk_cfg *cfg, const struct tl_stack_params *p,
		  const struct dpk_opt *own, unsigned int n_own, char *err, size_t len);

/** 0 when @p cfg has this side's address (ip=); else -EINVAL and why, for a stack with IP. */
int dpk_cfg_need_ip(const struct dpk_cfg *cfg, char *err, size_t len);
/** Setting @p key as an integer in [lo, hi], @p dflt when absent; -EINVAL and why. */
int dpk_opt_uint(unsigned int *dst, const struct tl_stack_params *p, const char *key,
		 unsigned int dflt, unsigned int lo, unsigned int hi, char *err, size_t len);
/** "memif", "tap", "af_packet" or "pci". */
const char *dpk_port_kind_name(enum dpk_port_kind kind);

/* ---- EAL (eal.c) ---- */

/** Start DPDK's EAL for @p cfg; -EBUSY when it already runs in this process. It is never
 * stopped: the process's exit ends it (eal.c says why). */
int dpk_eal_start(const struct dpk_cfg *cfg, char *err, size_t len);
/** A stack's tl_ops.cleanup: the empty runtime directories of run @p run_id's sides (a side
 * killed inside rte_eal_init leaves its own; nothing is ever put in them). No EAL needed. */
void dpk_cleanup_run(const char *run_id);
/** A DPDK return code as a negative errno: -1 means "see rte_errno"; >= 0 passes through. */
int dpk_err(int r);

/* ---- the port (port.c) ---- */

/**
 * Open the port @p cfg names, with @p priv_size bytes of private area in every mbuf (where a
 * stack keeps what wraps a received frame). 0, or a negative errno and why in @p err.
 */
int dpk_port_open(struct dpk_port *pt, const struct dpk_cfg *cfg, unsigned int priv_size,
		  char *err, size_t len);
/**
 * Flush and stop; what is still queued is freed and counted; with pcap= the capture is
 * written (a failure is one line on stderr). Safe on a failed open.
 */
void dpk_port_close(struct dpk_port *pt);
/** One receive burst of up to @p max frames. */
unsigned int dpk_port_rx(struct dpk_port *pt, struct rte_mbuf **m, unsigned int max);
/** An mbuf for a frame of @p len bytes (data_len set), or NULL: counted as a drop. */
struct rte_mbuf *dpk_port_tx_alloc(struct dpk_port *pt, unsigned int len);
/** Free a received (or unsent) frame of @p pt's pool: rte_pktmbuf_free by the port's cache. */
void dpk_port_free(struct dpk_port *pt, struct rte_mbuf *m);
/** Put @p m on the TX batch (flushing it when full); -ENOBUFS: dropped and counted. */
int dpk_port_tx_queue(struct dpk_port *pt, struct rte_mbuf *m);
void dpk_port_tx_flush(struct dpk_port *pt);
/** Frames wait in the batch; may be read without the stack's lock (threading rule). */
bool dpk_port_tx_pending(const struct dpk_port *pt);
/** The link's state now; counts a loss of the link once (dpk_port_peer_lost). */
bool dpk_port_link_up(struct dpk_port *pt);
/** True once the link went down after having been up: the peer is gone. */
bool dpk_port_peer_lost(const struct dpk_port *pt);
unsigned int dpk_port_mbufs_in_use(const struct dpk_port *pt);
int dpk_port_mac(const struct dpk_port *pt, uint8_t mac[6]);
/** The MTU the stack is to use: mtu= when set, else the port's. */
unsigned int dpk_port_mtu(const struct dpk_port *pt);
/**
 * The port's counters (enum dpk_counter), then mbufs_in_use and hugepages (1: DPDK runs on
 * hugepages), into @p out from index @p n; returns the new n (it may pass @p max).
 */
unsigned int dpk_port_counters(const struct dpk_port *pt, struct tl_counter *out,
			       unsigned int max, unsigned int n);
/**
 * Counter @p name = @p value into @p out[*n] when there is room (*n < @p max); *n counts it
 * either way, so a stack's counters op returns how many it has (the ABI's rule).
 */
void dpk_counter_put(struct tl_counter *out, unsigned int max, unsigned int *n,
		     const char *name, uint64_t value);

#endif /* DPDK_PORT_H */
