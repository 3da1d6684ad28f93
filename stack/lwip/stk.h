/* SPDX-License-Identifier: MIT */
/*
 * stk.h - the lwip plug-in's private glue (stk_*): lwIP 2.1 over the DPDK layer
 * (stack/dpdk/dpdk_port.h). Shared by the files of stack/lwip/ only; the harness sees this
 * stack through its one exported symbol, tcplab_stack_entry (<tcplab/stack.h>).
 *
 * Call flow:
 *   tcplab_stack_entry -> the ops table; create -> lwip.c lwip_create
 *     -> stk_cfg_parse (dpk_cfg_parse with lwIP's own settings: tw_max, idle_yield_us)
 *     -> dpk_eal_start, dpk_port_open (the DPDK layer: EAL, the port, a tap's kernel end)
 *     -> stk_netif_start (netif.c: tcpip_init, the netif over the port)
 *   tl_poll / every socket call -> lwIP's socket layer (lwip_*), and stk_loop_once:
 *     flush TX -> dpk_port_rx -> ethernet_input per frame -> lwIP timers -> flush TX
 *
 * Threading rule (the one place it is written for lwIP; the port's is in dpdk_port.h): the
 * thread that created the stack is its polling thread. It alone calls the tl_* ops; each
 * stk_loop_once runs under lwIP's core lock (LOCK_TCPIP_CORE), receives a burst, feeds lwIP,
 * runs due timers and flushes the TX batch. lwIP's socket calls take the same lock
 * themselves, so the glue never calls them with the lock held (it is not recursive). With
 * lwIP built from source (stack/lwip/opts) there is no other thread at all: tcplab's port
 * starts no tcpip thread, the loop handles its mailbox (stk_sys_poll) and a wait inside lwIP
 * runs loop passes, so the locks are depth counts. With Debian's packaged lwIP its tcpip
 * thread exists (NO_SYS=0) but only ever runs timers, under the same lock, when the polling
 * thread has not run them first; everything it could emit goes into the TX batch, which only
 * moves under the lock.
 * Nothing on this path sleeps: tl_poll with a timeout spins stk_loop_once until a socket is
 * ready or the time is up (idle_yield_us, off by default, adds a sched_yield per idle pass
 * for a peer that must share the core). lwIP is one global instance per process, so is this
 * stack: a second one in the same process fails with EBUSY (DPDK's EAL starts once).
 */
#ifndef STK_H
#define STK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcplab/stack.h>

#include "dpdk_port.h"

/* What the settings and the role decide (stk_cfg_parse). */
struct stk_cfg {
	struct dpk_cfg dpdk;		/* the port's: the DPDK layer reads them */
	unsigned int tw_max;		/* TIME_WAIT pcbs kept before the oldest are recycled */
	unsigned int idle_yield_us;	/* tl_poll idle this long: sched_yield per pass (0: never) */
};

/* lwIP's counters, after the port's (dpk_counter): every drop has its reason. */
enum stk_counter {
	STK_C_DROP_RX_BAD_FRAME,	/* runt or chained mbuf */
	STK_C_DROP_RX_INPUT,		/* lwIP's ethernet_input refused the frame */
	STK_C_DROP_RX_IP_PROTO,		/* an IPv4 protocol other than TCP, UDP, ICMP */
	STK_C_TW_RECYCLED,		/* TIME_WAIT pcbs freed beyond tw_max */
	STK_C__COUNT,
};

/* lwip.c */
int stk_cfg_parse(struct stk_cfg *cfg, const struct tl_stack_params *p, char *err, size_t len);

/* netif.c: opaque to lwip.c beyond these calls */
struct stk_netif;
/** Bytes each mbuf's private area needs for the pbuf that wraps it. */
unsigned int stk_netif_priv_size(void);
/**
 * tcpip_init, then the netif over @p pt, counting into @p c (STK_C__COUNT). NULL on failure,
 * with the reason in @p err.
 */
struct stk_netif *stk_netif_start(struct dpk_port *pt, const struct stk_cfg *cfg, uint64_t *c,
				  char *err, size_t len);
/** Abort what connections remain (RST), remove the netif, flush. Accepts NULL. */
void stk_netif_stop(struct stk_netif *nf);
/**
 * One pass of the poll loop (see netif.c); takes the core lock only when there is work.
 * Returns the frames received; sets @p changed when lwIP ran (socket state may differ).
 */
unsigned int stk_loop_once(struct stk_netif *nf, bool *changed);
/** Connections lwIP still holds: returns those not in TIME_WAIT, sets @p time_wait. */
unsigned int stk_netif_pcbs(struct stk_netif *nf, unsigned int *time_wait);
/** The netif's MTU (setting mtu=, else the port's). */
unsigned int stk_netif_mtu(const struct stk_netif *nf);
/** True when lwIP computes and checks TCP checksums on the netif (setting checksum=). */
bool stk_netif_checksum(struct stk_netif *nf);
/* sys_source.c or sys_debian.c, as lwIP is built (meson): the glue's side of lwIP's port */
/** Let lwIP's waits run loop passes of @p nf (NULL: no more). */
void stk_sys_attach(struct stk_netif *nf);
/** Handle what lwIP posted for its tcpip thread (none runs with the source build). */
void stk_sys_poll(void);

#endif /* STK_H */
