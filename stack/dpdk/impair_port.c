/* SPDX-License-Identifier: MIT */
/*
 * impair_port.c - the impairment stage (impair.c) on a port's two paths, when impair= gives
 * a spec for this side (settings.c). port.c calls in at four places, each behind one
 * pt->impair test, so a port with no spec pays one predictable branch a burst:
 *
 *   dpk_port_open      dpk_impair_port_open: a stage per direction the spec names
 *   dpk_port_rx        dpk_impair_port_rx: the burst received goes in, what is due comes out
 *                      to the stack (the rx counters count what the wire brought)
 *   dpk_port_tx_flush  dpk_impair_port_tx: the frames queued since the last flush go in,
 *                      what is due joins the batch before rte_eth_tx_burst
 *   dpk_port_close     dpk_impair_port_close: what the stages still hold is freed, counted
 *
 * Both are called every pass of a stack's loop, so held frames leave on time from there.
 * Frames are the port's mbufs (one segment each); a duplicate is rte_pktmbuf_copy from the
 * port's pool. The clock is the TSC (clock.h). Each direction's generator is seeded from
 * seed= and the side and direction, so the two sides of a run draw different sequences.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_mbuf.h>

#include "clock.h"
#include "dpdk_pvt.h"

struct dpk_impair {
	struct dpk_impair_stage *dir[DPK_IMPAIR__DIRS];
	char names[DPK_IMPAIR__DIRS][DPK_IMPAIR_C__COUNT][32];	/* impair_tx_dropped, ... */
};

static void *mbuf_copy(void *ctx, void *frame)
{
	struct dpk_port *pt = ctx;

	return rte_pktmbuf_copy(frame, pt->pool, 0, UINT32_MAX);
}

static void mbuf_free(void *ctx, void *frame)
{
	dpk_port_free(ctx, frame);
}

static uint8_t *mbuf_bytes(void *ctx, void *frame, uint32_t *len)
{
	struct rte_mbuf *m = frame;

	(void)ctx;
	*len = m->data_len;
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static const struct dpk_impair_frame_ops mbuf_ops = {
	.copy = mbuf_copy, .free = mbuf_free, .bytes = mbuf_bytes,
};

static void name_counters(struct dpk_impair *im, unsigned int d)
{
	unsigned int c;

	for (c = 0; c < DPK_IMPAIR_C__COUNT; c++)
		snprintf(im->names[d][c], sizeof(im->names[d][c]), "impair_%s_%s",
			 d == DPK_IMPAIR_TX ? "tx" : "rx", dpk_impair_counter_name(c));
}

int dpk_impair_port_open(struct dpk_port *pt, const struct dpk_cfg *cfg, char *err, size_t len)
{
	const struct dpk_impair_spec *s = &cfg->impair;
	unsigned int d;

	if (!dpk_impair_on(s))
		return 0;
	pt->impair = calloc(1, sizeof(*pt->impair));
	if (pt->impair == NULL)
		goto err_nomem;
	for (d = 0; d < DPK_IMPAIR__DIRS; d++) {
		if (!s->dir[d].on)
			continue;
		name_counters(pt->impair, d);
		pt->impair->dir[d] = dpk_impair_stage_create(&s->dir[d], s->seed,
							     2u * (unsigned int)cfg->role + d,
							     dpk_clock_hz(), &mbuf_ops, pt);
		if (pt->impair->dir[d] == NULL)
			goto err_nomem;
	}
	return 0;

err_nomem:
	dpk_impair_port_close(pt);
	snprintf(err, len, "impair: no memory for the impairment stage");
	return -ENOMEM;
}

void dpk_impair_port_close(struct dpk_port *pt)
{
	unsigned int d;

	if (pt->impair == NULL)
		return;
	for (d = 0; d < DPK_IMPAIR__DIRS; d++)
		dpk_impair_stage_free(pt->impair->dir[d]);
	free(pt->impair);
	pt->impair = NULL;
	__atomic_store_n(&pt->tx_held, 0, __ATOMIC_RELAXED);
}

unsigned int dpk_impair_port_rx(struct dpk_port *pt, struct rte_mbuf **m, unsigned int n,
				unsigned int max)
{
	struct dpk_impair_stage *st = pt->impair->dir[DPK_IMPAIR_RX];
	uint64_t now;
	unsigned int i, k;

	if (st == NULL || dpk_impair_stage_idle(st))
		return n;
	if (dpk_impair_stage_direct(st)) {	/* a filter, in place, no clock */
		for (i = k = 0; i < n; i++)
			if (dpk_impair_stage_keep(st, m[i]))
				m[k++] = m[i];
		return k;
	}
	if (n == 0 && dpk_impair_stage_held(st) == 0)
		return 0;	/* an empty poll of an empty stage: no clock read */
	now = dpk_clock_cycles();
	for (i = 0; i < n; i++)
		dpk_impair_stage_in(st, m[i], now);
	return dpk_impair_stage_out(st, now, (void **)m, max);
}

/*
 * The batch's frames from tx_staged on were queued since the last flush: they go in; what
 * is due fills the batch behind those that already passed (a short burst's rest).
 */
void dpk_impair_port_tx(struct dpk_port *pt)
{
	struct dpk_impair_stage *st = pt->impair->dir[DPK_IMPAIR_TX];
	uint64_t now;
	unsigned int i, n;

	if (st == NULL || dpk_impair_stage_idle(st))
		return;
	n = pt->tx_staged < pt->n_tx ? pt->tx_staged : pt->n_tx;
	if (dpk_impair_stage_direct(st)) {	/* a filter, in place, no clock */
		for (i = n; i < pt->n_tx; i++)
			if (dpk_impair_stage_keep(st, pt->tx[i]))
				pt->tx[n++] = pt->tx[i];
		__atomic_store_n(&pt->n_tx, n, __ATOMIC_RELAXED);
		return;
	}
	if (n == pt->n_tx && dpk_impair_stage_held(st) == 0)
		return;		/* nothing new, nothing held: no clock read */
	now = dpk_clock_cycles();
	for (i = n; i < pt->n_tx; i++)
		dpk_impair_stage_in(st, pt->tx[i], now);
	n += dpk_impair_stage_out(st, now, (void **)pt->tx + n, pt->tx_cap - n);
	__atomic_store_n(&pt->n_tx, n, __ATOMIC_RELAXED);
	__atomic_store_n(&pt->tx_held, dpk_impair_stage_held(st), __ATOMIC_RELAXED);
}

/* impair_tx_* then impair_rx_*, for the directions the spec names. */
unsigned int dpk_impair_port_counters(const struct dpk_port *pt, struct tl_counter *out,
				      unsigned int max, unsigned int n)
{
	unsigned int d, c;

	if (pt->impair == NULL)
		return n;
	for (d = 0; d < DPK_IMPAIR__DIRS; d++) {
		if (pt->impair->dir[d] == NULL)
			continue;
		for (c = 0; c < DPK_IMPAIR_C__COUNT; c++)
			dpk_counter_put(out, max, &n, pt->impair->names[d][c],
					dpk_impair_stage_count(pt->impair->dir[d], c));
	}
	return n;
}
