/* SPDX-License-Identifier: MIT */
/*
 * engine_queue.c - the engine's FIFO of connections and its timer heap
 * (engine_queue_pvt.h). The heap keeps each entry's place in pos[], so a connection's timer
 * is moved or taken out where it is, in O(log n), and never left behind stale.
 */
#include <errno.h>
#include <stdlib.h>

#include "engine_queue_pvt.h"

int hx_fifo_init(struct hx_fifo *q, unsigned int cap)
{
	q->ids = calloc(cap, sizeof(*q->ids));
	q->cap = cap;
	q->head = 0;
	q->n = 0;
	return q->ids != NULL ? 0 : -ENOMEM;
}

void hx_fifo_fini(struct hx_fifo *q)
{
	free(q->ids);
	q->ids = NULL;
}

int hx_timers_init(struct hx_timers *t, unsigned int n_ids)
{
	t->heap = calloc(n_ids, sizeof(*t->heap));
	t->pos = calloc(n_ids, sizeof(*t->pos));
	t->n = 0;
	return t->heap != NULL && t->pos != NULL ? 0 : -ENOMEM;
}

void hx_timers_fini(struct hx_timers *t)
{
	free(t->heap);
	free(t->pos);
	t->heap = NULL;
	t->pos = NULL;
}

static void place(struct hx_timers *t, unsigned int i, struct hx_timer e)
{
	t->heap[i] = e;
	t->pos[e.id] = i + 1;
}

static void sift_up(struct hx_timers *t, unsigned int i)
{
	struct hx_timer e = t->heap[i];

	while (i > 0 && t->heap[(i - 1) / 2].at > e.at) {
		place(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(t, i, e);
}

static void sift_down(struct hx_timers *t, unsigned int i)
{
	struct hx_timer e = t->heap[i];
	unsigned int c;

	while ((c = 2 * i + 1) < t->n) {
		if (c + 1 < t->n && t->heap[c + 1].at < t->heap[c].at)
			c++;
		if (t->heap[c].at >= e.at)
			break;
		place(t, i, t->heap[c]);
		i = c;
	}
	place(t, i, e);
}

/* Take the entry at @p i out: the last one takes its place and goes up or down from there. */
static void remove_at(struct hx_timers *t, unsigned int i)
{
	struct hx_timer last;

	t->pos[t->heap[i].id] = 0;
	if (--t->n == i)
		return;
	last = t->heap[t->n];
	place(t, i, last);
	sift_up(t, i);
	sift_down(t, t->pos[last.id] - 1);
}

void hx_timers_set(struct hx_timers *t, unsigned int id, int64_t at)
{
	unsigned int i;

	if (t->pos[id] == 0) {
		place(t, t->n++, (struct hx_timer){ .at = at, .id = id });
		sift_up(t, t->n - 1);
		return;
	}
	i = t->pos[id] - 1;
	t->heap[i].at = at;
	sift_up(t, i);
	sift_down(t, t->pos[id] - 1);
}

void hx_timers_cancel(struct hx_timers *t, unsigned int id)
{
	if (t->pos[id] != 0)
		remove_at(t, t->pos[id] - 1);
}

unsigned int hx_timers_pop(struct hx_timers *t)
{
	unsigned int id = t->heap[0].id;

	remove_at(t, 0);
	return id;
}
