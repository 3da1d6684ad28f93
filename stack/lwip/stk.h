/* SPDX-License-Identifier: MIT */
/*
 * stk.h - the lwip backend's private glue (stk_*): lwIP 2.1 on a DPDK ethdev port. Shared by
 * the files of stack/lwip/ only; the harness sees this backend through stack/transport.h.
 *
 * Call flow:
 *   tl_stack_create("lwip") -> lwip.c lwip_create
 *     -> stk_cfg_parse (stack options: topology, role, run_id -> addresses, EAL arguments)
 *     -> stk_eal_start (eal.c: --no-pci, --in-memory, --file-prefix, --no-huge, --vdev)
 *     -> stk_port_open (port.c: mempool, one RX and one TX queue, link)
 *     -> stk_tap_configure (tap.c, topology=tap only: address the kernel end, bring it up)
 *     -> stk_netif_start (netif.c: tcpip_init, the netif over the port)
 *   tl_poll / every socket call -> lwIP's socket layer (lwip_*), and stk_loop_once:
 *     flush TX -> rte_eth_rx_burst -> ethernet_input per frame -> lwIP timers -> flush TX
 *
 * Threading rule (the one place it is written): the thread that created the stack is its
 * polling thread. It alone calls the tl_* ops; each stk_loop_once runs under lwIP's core lock
 * (LOCK_TCPIP_CORE), receives a burst, feeds lwIP, runs due timers and flushes the TX batch.
 * lwIP's socket calls take the same lock themselves, so the glue never calls them with the
 * lock held (it is not recursive). With lwIP built from source (stack/lwip/opts) there is no
 * other thread at all: tcplab's port starts no tcpip thread, the loop handles its mailbox
 * (stk_sys_poll) and a wait inside lwIP runs loop passes, so the locks are depth counts. With
 * Debian's packaged lwIP its tcpip thread exists (NO_SYS=0) but only ever runs timers, under
 * the same lock, when the polling thread has not run them first; everything it could emit
 * goes into the TX batch, which only moves under the lock.
 * Nothing on this path sleeps: tl_poll with a timeout spins stk_loop_once until a socket is
 * ready or the time is up (idle_yield_us, off by default, adds a sched_yield per idle pass
 * for a peer that must share the core). lwIP is one global instance per process, so is this backend: a
 * second stack in the same process fails with EBUSY (DPDK's EAL starts once per process).
 */
#ifndef STK_H
#define STK_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../transport.h"

#define STK_TX_BATCH 64
#define STK_RX_BURST 32
#define STK_EAL_MAX_ARGS 32

struct rte_mbuf;
struct rte_mempool;

/* What the stack options and the role decide (stk_cfg_parse). */
struct stk_cfg {
	enum tl_role role;
	char topology[16];
	char run_id[48];
	char vdev[256];			/* the --vdev argument; empty for pci */
	char ip[16], netmask[16], gw[16];
	char pci[32];			/* a PCI device the user named: the only way off --no-pci */
	char huge[8];			/* auto | yes | no */
	char cpu[16];			/* auto | any | N: the polling lcore's CPU */
	int cpu_auto;			/* cpu=auto: the harness's pick (tl_stack_params.cpu) */
	char eal_extra[256];		/* eal=...: more EAL arguments, space separated */
	char log_level[32];
	char tap_addr[24];		/* topology=tap: the kernel end's ADDRESS/BITS, or none */
	char tap_name[16];		/* topology=tap: the netdev's name (IFNAMSIZ) */
	char veth_if[16];		/* topology=veth: the veth end af_packet takes */
	unsigned int n_mbufs;
	unsigned int link_timeout_ms;
	unsigned int tw_max;		/* TIME_WAIT pcbs kept before the oldest are recycled */
	unsigned int idle_yield_us;	/* tl_poll idle this long: sched_yield per pass (0: never) */
	unsigned int mtu;		/* the netif's MTU; 0: the port's */
	bool checksum;			/* lwIP computes and checks IP/TCP checksums */
};

/* Counters: every drop has its reason. Reported by the counters op in this order. */
enum stk_counter {
	STK_C_RX_PACKETS,
	STK_C_RX_BYTES,
	STK_C_RX_BURSTS,
	STK_C_TX_PACKETS,
	STK_C_TX_BYTES,
	STK_C_TX_BURSTS,
	STK_C_TX_BURST_SHORT,		/* tx_burst took fewer than offered; the rest waited */
	STK_C_TX_LINK_DOWN,		/* a burst took none, the link being down; they waited */
	STK_C_DROP_RX_BAD_FRAME,	/* runt or chained mbuf */
	STK_C_DROP_RX_INPUT,		/* lwIP's ethernet_input refused the frame */
	STK_C_DROP_RX_IP_PROTO,		/* an IPv4 protocol other than TCP, UDP, ICMP */
	STK_C_DROP_TX_NO_MBUF,
	STK_C_DROP_TX_TOO_BIG,		/* frame longer than one mbuf */
	STK_C_DROP_TX_RING_FULL,	/* batch still full after a flush: the peer is not reading */
	STK_C_DROP_TX_TEARDOWN,		/* still queued when the port closed */
	STK_C_LINK_DOWN,		/* link went down after having been up */
	STK_C_TW_RECYCLED,		/* TIME_WAIT pcbs freed beyond tw_max */
	STK_C_PORT_VANISHED,		/* memif unmapped its rings during a burst (guard.c) */
	STK_C__COUNT,
};

/* The DPDK side: one port, one queue pair, the TX batch. */
struct stk_port {
	uint16_t port_id;
	bool started;
	bool guarded;			/* memif: bursts run under guard.c */
	bool vanished;			/* a guarded burst faulted: the port is never used again */
	bool link_was_up;
	struct rte_mempool *pool;
	unsigned int mtu;		/* what a frame's payload may reach; mbufs hold a frame */
	unsigned int n_tx;		/* written under the core lock; see stk_port_tx_pending */
	struct rte_mbuf *tx[STK_TX_BATCH];
	uint64_t *c;			/* the stack's counters */
};

/* eal.c */
int stk_cfg_parse(struct stk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len);
int stk_eal_start(const struct stk_cfg *cfg, char *err, size_t len);
void stk_eal_stop(void);

/* tap.c: topology=tap */
/** 0 when this process is outside the initial network namespace, else -EPERM and why. */
int stk_tap_check_netns(char *err, size_t len);
/** The default netdev name for @p run_id and @p role: at most 15 characters. */
void stk_tap_name(char *buf, size_t len, const char *run_id, enum tl_role role);
/** Address the tap's kernel end (cfg->tap_addr) and bring it up; "none" leaves it alone. */
int stk_tap_configure(const struct stk_cfg *cfg, char *err, size_t len);

/* guard.c: memif bursts against the PMD's asynchronous teardown (see there) */
int stk_guard_install(void);
void stk_guard_remove(void);
void stk_guard_arm(sigjmp_buf *jb);
void stk_guard_disarm(void);

/* port.c */
int stk_port_open(struct stk_port *pt, const struct stk_cfg *cfg, unsigned int priv_size,
		  char *err, size_t len);
void stk_port_close(struct stk_port *pt);
unsigned int stk_port_rx(struct stk_port *pt, struct rte_mbuf **m, unsigned int max);
int stk_port_tx_queue(struct stk_port *pt, struct rte_mbuf *m);
void stk_port_tx_flush(struct stk_port *pt);
bool stk_port_tx_pending(const struct stk_port *pt);
bool stk_port_link_up(struct stk_port *pt);
unsigned int stk_port_mbufs_in_use(const struct stk_port *pt);
int stk_port_mac(const struct stk_port *pt, uint8_t mac[6]);
unsigned int stk_port_mtu(const struct stk_port *pt);

/* netif.c: opaque to lwip.c beyond these calls */
struct stk_netif;
/** Bytes each mbuf's private area needs for the pbuf that wraps it. */
unsigned int stk_netif_priv_size(void);
/** tcpip_init, then the netif over @p pt. NULL on failure, with the reason in @p err. */
struct stk_netif *stk_netif_start(struct stk_port *pt, const struct stk_cfg *cfg, char *err,
				  size_t len);
/** Abort what connections remain (RST), remove the netif, flush. Accepts NULL. */
void stk_netif_stop(struct stk_netif *nf);
/**
 * One pass of the poll loop (see netif.c); takes the core lock only when there is work.
 * Returns the frames received; sets @p changed when lwIP ran (socket state may differ).
 */
unsigned int stk_loop_once(struct stk_netif *nf, bool *changed);
/** Connections lwIP still holds: returns those not in TIME_WAIT, sets @p time_wait. */
unsigned int stk_netif_pcbs(struct stk_netif *nf, unsigned int *time_wait);
/** The netif's MTU (stack option mtu, else the port's). */
unsigned int stk_netif_mtu(const struct stk_netif *nf);
/** True when lwIP computes and checks TCP checksums on the netif (stack option checksum). */
bool stk_netif_checksum(struct stk_netif *nf);
/* sys_source.c or sys_debian.c, as lwIP is built (meson): the glue's side of lwIP's port */
/** Let lwIP's waits run loop passes of @p nf (NULL: no more). */
void stk_sys_attach(struct stk_netif *nf);
/** Handle what lwIP posted for its tcpip thread (none runs with the source build). */
void stk_sys_poll(void);
/** True once the link went down after having been up: the peer is gone. */
bool stk_netif_peer_lost(const struct stk_netif *nf);

#endif /* STK_H */
