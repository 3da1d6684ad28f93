/* SPDX-License-Identifier: MIT */
/* dpdk_pvt.h - what the files of stack/dpdk share and no stack calls (dpdk_port.h is theirs). */
#ifndef DPDK_PVT_H
#define DPDK_PVT_H

#include <setjmp.h>

#include "dpdk_port.h"

#define DPK_EAL_MAX_ARGS 32

/* tap.c: port=tap and port=af_packet take kernel interfaces */
/** 0 when this process is in a named network namespace, not the initial one; else -EPERM. */
int dpk_netns_check(const char *what, char *err, size_t len);
/** The default tap netdev name for @p run_id and @p role: at most 15 characters. */
void dpk_tap_name(char *buf, size_t len, const char *run_id, enum tl_role role);
/** Address the tap's kernel end (cfg->tap_addr) and bring it up; "none" leaves it alone. */
int dpk_tap_configure(const struct dpk_cfg *cfg, char *err, size_t len);
/** True when @p spec is ADDRESS/BITS (BITS 1..30). */
bool dpk_tap_addr_valid(const char *spec);

/* port.c */
/** The data room of a pool's mbuf for frames of @p mtu (port.c). */
uint16_t dpk_mbuf_buf_size(unsigned int mtu);

/* guard.c: memif bursts against the PMD's asynchronous teardown (see there) */
int dpk_guard_install(void);
void dpk_guard_remove(void);
void dpk_guard_arm(sigjmp_buf *jb);
void dpk_guard_disarm(void);

/* impair_port.c: the impairment stage on the port's paths (port.c calls these only when
 * pt->impair is set, except open and close) */
int dpk_impair_port_open(struct dpk_port *pt, const struct dpk_cfg *cfg, char *err, size_t len);
void dpk_impair_port_close(struct dpk_port *pt);
unsigned int dpk_impair_port_rx(struct dpk_port *pt, struct rte_mbuf **m, unsigned int n,
				unsigned int max);
void dpk_impair_port_tx(struct dpk_port *pt);
unsigned int dpk_impair_port_counters(const struct dpk_port *pt, struct tl_counter *out,
				      unsigned int max, unsigned int n);

#endif /* DPDK_PVT_H */
