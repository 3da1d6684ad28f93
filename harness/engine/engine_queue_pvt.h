/* SPDX-License-Identifier: MIT */
/*
 * engine_queue_pvt.h - the engine's queues of connections (engine.c), so that a pass of its
 * loop costs what is due rather than what is open: a FIFO of connection indices (those to
 * step now, those waiting for a place among the connects in flight), and timers, a min-heap
 * with at most one wake time per connection, which a connection's new time moves.
 *
 * Connections are indices in [0, n). Threading rule: the engine's thread only.
 */
#ifndef HX_ENGINE_QUEUE_PVT_H
#define HX_ENGINE_QUEUE_PVT_H

#include <errno.h>
#include <stdint.h>

/** A ring of up to cap indices, first in first out. */
struct hx_fifo {
	unsigned int *ids;
	unsigned int cap;
	unsigned int head;
	unsigned int n;
};

/** An empty FIFO of room @p cap (> 0): 0, or -ENOMEM. */
int hx_fifo_init(struct hx_fifo *q, unsigned int cap);
/** Free what init took; accepts a FIFO init failed on, or never ran on (zeroed). */
void hx_fifo_fini(struct hx_fifo *q);

/** Append @p id: 0, or -ENOSPC when full. */
static inline int hx_fifo_push(struct hx_fifo *q, unsigned int id)
{
	unsigned int at = q->head + q->n;

	if (q->n == q->cap)
		return -ENOSPC;
	q->ids[at < q->cap ? at : at - q->cap] = id;
	q->n++;
	return 0;
}

/** Take the first index; the FIFO must not be empty (n > 0). */
static inline unsigned int hx_fifo_pop(struct hx_fifo *q)
{
	unsigned int id = q->ids[q->head];

	q->head = q->head + 1 < q->cap ? q->head + 1 : 0;
	q->n--;
	return id;
}

/** One connection's wake time, in the heap. */
struct hx_timer {
	int64_t at;
	unsigned int id;
};

/** Wake times of connections 0..n_ids-1, at most one each, the earliest first. */
struct hx_timers {
	struct hx_timer *heap;
	unsigned int *pos;	/* [id]: its place in heap, plus one; 0: no timer */
	unsigned int n;
};

/** No timers, for ids below @p n_ids (> 0): 0, or -ENOMEM. */
int hx_timers_init(struct hx_timers *t, unsigned int n_ids);
/** Free what init took; accepts timers init failed on, or never ran on (zeroed). */
void hx_timers_fini(struct hx_timers *t);
/** Wake @p id at @p at: its timer added, or moved if it had one. */
void hx_timers_set(struct hx_timers *t, unsigned int id, int64_t at);
/** Take @p id's timer out, if it has one. */
void hx_timers_cancel(struct hx_timers *t, unsigned int id);
/** Take the earliest timer out and return its id; there must be one (n > 0). */
unsigned int hx_timers_pop(struct hx_timers *t);

/** The earliest wake time, INT64_MAX when there is none. */
static inline int64_t hx_timers_next(const struct hx_timers *t)
{
	return t->n > 0 ? t->heap[0].at : INT64_MAX;
}

#endif /* HX_ENGINE_QUEUE_PVT_H */
