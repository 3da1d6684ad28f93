/* SPDX-License-Identifier: MIT */
/*
 * policy.c - the page cache's eviction policies, one ops table each, in one list:
 *  lru     least recently used: a doubly linked list over frames, hits move to the front.
 *  s3fifo  S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10% of frames) that new pages
 *          enter, a main FIFO, 2-bit access counters, and a ghost FIFO of evicted keys:
 *          a page hit again while in the small FIFO, or whose key is a ghost, goes to main;
 *          one-hit wonders (scans) leave from the small FIFO quickly.
 * The ghost FIFO is a ring of key hashes plus a direct-mapped table of the ring position
 * each key entered at (a collision forgets a ghost: approximate, allocation-free).
 * A victim the cache refuses (pinned, dirty, loading) is passed over and kept.
 */
#include <stdlib.h>
#include <string.h>

#include "bio_cache.h"

#define NIL UINT32_MAX

/* LRU */

struct lru {
	uint32_t head, tail;
	uint32_t *prev, *next;
};

static void *lru_create(unsigned int cap)
{
	struct lru *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->prev = malloc(cap * sizeof(uint32_t));
	l->next = malloc(cap * sizeof(uint32_t));
	if (l->prev == NULL || l->next == NULL) {
		free(l->prev);
		free(l->next);
		free(l);
		return NULL;
	}
	l->head = l->tail = NIL;
	return l;
}

static void lru_free(void *pol)
{
	struct lru *l = pol;

	if (l == NULL)
		return;
	free(l->prev);
	free(l->next);
	free(l);
}

static void lru_unlink(struct lru *l, uint32_t f)
{
	if (l->prev[f] != NIL)
		l->next[l->prev[f]] = l->next[f];
	else
		l->head = l->next[f];
	if (l->next[f] != NIL)
		l->prev[l->next[f]] = l->prev[f];
	else
		l->tail = l->prev[f];
}

static void lru_push_front(struct lru *l, uint32_t f)
{
	l->prev[f] = NIL;
	l->next[f] = l->head;
	if (l->head != NIL)
		l->prev[l->head] = f;
	l->head = f;
	if (l->tail == NIL)
		l->tail = f;
}

static void lru_insert(void *pol, unsigned int frame, uint64_t key)
{
	(void)key;
	lru_push_front(pol, frame);
}

static void lru_hit(void *pol, unsigned int frame)
{
	lru_unlink(pol, frame);
	lru_push_front(pol, frame);
}

static int lru_victim(void *pol, bool (*ok)(void *arg, unsigned int frame), void *arg)
{
	struct lru *l = pol;
	uint32_t f;

	for (f = l->tail; f != NIL; f = l->prev[f])
		if (ok(arg, f)) {
			lru_unlink(l, f);
			return (int)f;
		}
	return -1;
}

static void lru_remove(void *pol, unsigned int frame)
{
	lru_unlink(pol, frame);
}

static const struct bio_policy_ops lru_ops = {
	.name = "lru",
	.description = "least recently used",
	.create = lru_create,
	.free = lru_free,
	.insert = lru_insert,
	.hit = lru_hit,
	.victim = lru_victim,
	.remove = lru_remove,
};

/* S3-FIFO */

enum { Q_NONE, Q_SMALL, Q_MAIN };

struct fifo {
	uint32_t *ring;
	uint32_t cap, head, len;
};

struct s3fifo {
	unsigned int cap;
	unsigned int small_target;
	struct fifo small, main;
	uint8_t *freq;		/* 0..3 */
	uint8_t *queue;		/* Q_* of each frame */
	uint64_t *key;
	uint64_t *ghost_ring;	/* key hashes, oldest first */
	uint64_t *ghost_pos;	/* hash-indexed: ring sequence + 1 when entered, 0 none */
	uint32_t ghost_cap, ghost_slots;
	uint64_t ghost_seq;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k | 1;
}

static void fifo_push(struct fifo *q, uint32_t f)
{
	q->ring[(q->head + q->len++) % q->cap] = f;
}

static uint32_t fifo_pop(struct fifo *q)
{
	uint32_t f = q->ring[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return f;
}

static void s3_free(void *pol)
{
	struct s3fifo *s = pol;

	if (s == NULL)
		return;
	free(s->small.ring);
	free(s->main.ring);
	free(s->freq);
	free(s->queue);
	free(s->key);
	free(s->ghost_ring);
	free(s->ghost_pos);
	free(s);
}

static void *s3_create(unsigned int cap)
{
	struct s3fifo *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cap = cap;
	s->small_target = cap / 10 ? cap / 10 : 1;
	s->small.cap = s->main.cap = cap;
	s->ghost_cap = cap - s->small_target > 0 ? cap - s->small_target : 1;
	s->ghost_slots = 4 * s->ghost_cap;
	s->small.ring = malloc(cap * sizeof(uint32_t));
	s->main.ring = malloc(cap * sizeof(uint32_t));
	s->freq = calloc(cap, 1);
	s->queue = calloc(cap, 1);
	s->key = calloc(cap, sizeof(uint64_t));
	s->ghost_ring = calloc(s->ghost_cap, sizeof(uint64_t));
	s->ghost_pos = calloc(s->ghost_slots, sizeof(uint64_t));
	if (!s->small.ring || !s->main.ring || !s->freq || !s->queue || !s->key ||
	    !s->ghost_ring || !s->ghost_pos) {
		s3_free(s);
		return NULL;
	}
	return s;
}

static bool ghost_has(struct s3fifo *s, uint64_t key)
{
	uint64_t h = mix(key), pos = s->ghost_pos[h % s->ghost_slots];

	return pos != 0 && pos + s->ghost_cap > s->ghost_seq &&
	       s->ghost_ring[(pos - 1) % s->ghost_cap] == h;
}

static void ghost_add(struct s3fifo *s, uint64_t key)
{
	uint64_t h = mix(key);

	s->ghost_ring[s->ghost_seq % s->ghost_cap] = h;
	s->ghost_pos[h % s->ghost_slots] = ++s->ghost_seq;
}

static void s3_insert(void *pol, unsigned int frame, uint64_t key)
{
	struct s3fifo *s = pol;
	bool main = ghost_has(s, key);

	s->key[frame] = key;
	s->freq[frame] = 0;
	s->queue[frame] = main ? Q_MAIN : Q_SMALL;
	fifo_push(main ? &s->main : &s->small, frame);
}

static void s3_hit(void *pol, unsigned int frame)
{
	struct s3fifo *s = pol;

	if (s->freq[frame] < 3)
		s->freq[frame]++;
}

static int evict_main(struct s3fifo *s, bool (*ok)(void *, unsigned int), void *arg)
{
	uint32_t n = s->main.len, f;

	while (n-- > 0) {
		f = fifo_pop(&s->main);
		if (s->freq[f] > 0 || !ok(arg, f)) {
			s->freq[f] -= s->freq[f] > 0;
			fifo_push(&s->main, f);
			continue;
		}
		s->queue[f] = Q_NONE;
		return (int)f;
	}
	return -1;
}

static int evict_small(struct s3fifo *s, bool (*ok)(void *, unsigned int), void *arg)
{
	uint32_t n = s->small.len, f;

	while (n-- > 0) {
		f = fifo_pop(&s->small);
		if (s->freq[f] > 0) {	/* seen again while small: promote */
			s->freq[f] = 0;
			s->queue[f] = Q_MAIN;
			fifo_push(&s->main, f);
			continue;
		}
		if (!ok(arg, f)) {
			fifo_push(&s->small, f);
			continue;
		}
		s->queue[f] = Q_NONE;
		ghost_add(s, s->key[f]);
		return (int)f;
	}
	return -1;
}

static int s3_victim(void *pol, bool (*ok)(void *arg, unsigned int frame), void *arg)
{
	struct s3fifo *s = pol;
	int f = -1;

	if (s->small.len >= s->small_target || s->main.len == 0)
		f = evict_small(s, ok, arg);
	if (f < 0)
		f = evict_main(s, ok, arg);
	if (f < 0)
		f = evict_small(s, ok, arg);
	return f;
}

/* Rare (a failed load): a linear pass that keeps the ring's order. */
static void fifo_delete(struct fifo *q, uint32_t frame)
{
	uint32_t n = q->len, f;

	while (n-- > 0) {
		f = fifo_pop(q);
		if (f != frame)
			fifo_push(q, f);
	}
}

static void s3_remove(void *pol, unsigned int frame)
{
	struct s3fifo *s = pol;

	fifo_delete(s->queue[frame] == Q_MAIN ? &s->main : &s->small, frame);
	s->queue[frame] = Q_NONE;
}

static const struct bio_policy_ops s3fifo_ops = {
	.name = "s3fifo",
	.description = "S3-FIFO: small + main FIFOs, 2-bit counters, ghost keys",
	.create = s3_create,
	.free = s3_free,
	.insert = s3_insert,
	.hit = s3_hit,
	.victim = s3_victim,
	.remove = s3_remove,
};

static const struct bio_policy_ops *const policies[] = { &lru_ops, &s3fifo_ops, NULL };

const struct bio_policy_ops *const *bio_policies(void)
{
	return policies;
}

const struct bio_policy_ops *bio_policy_find(const char *name)
{
	unsigned int i;

	for (i = 0; policies[i] != NULL; i++)
		if (strcmp(policies[i]->name, name) == 0)
			return policies[i];
	return NULL;
}
