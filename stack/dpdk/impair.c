/* SPDX-License-Identifier: MIT */
/*
 * impair.c - the impairment stage of one direction of a port (impair.h). A frame that
 * enters (dpk_impair_stage_in) meets, in this order:
 *
 *   loss       independent, or Gilbert-Elliott: the state's loss, then the state's move
 *   corrupt    one bit flipped past the 14-byte Ethernet header (the receiver's IP or TCP
 *              checksum catches it)
 *   dup        a copy (frame ops) that goes its own way from here, right behind
 *   reorder    held back behind the next N frames that pass, or DPK_IMPAIR_HOLD_NS at most
 *   delay line a ring of DPK_IMPAIR_LINE_SLOTS frames with the time each is due: D plus a
 *              uniform jitter in [-J, J], never before the frame ahead (jitter alone does not
 *              reorder), so the ring is in due order and its head is the next to leave; full:
 *              the frame is dropped (line_dropped). Without delay= a frame is due at once:
 *              the ring is then where the frames a burst could not take wait
 *   rate       token buckets in bits and in frames; a due frame waits in a queue of
 *              DPK_IMPAIR_RATE_SLOTS for its tokens, or is dropped when that is full
 *
 * dpk_impair_stage_out releases what is due. Every random decision is a draw of the
 * stage's own generator (splitmix64), made only for the kinds configured, in the order
 * above: the same seed, spec and frame sequence give the same decisions.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "impair.h"

#define ETHER_HDR 14

struct slot {
	void *f;
	uint64_t due;			/* cycles */
};

struct held {
	void *f;
	unsigned int left;		/* frames still to pass it */
	uint64_t deadline;		/* leaves at this time at the latest */
};

struct dpk_impair_stage {
	struct dpk_impair_dir_spec s;
	const struct dpk_impair_frame_ops *ops;
	void *ctx;
	uint64_t rng;
	bool ge_bad;			/* Gilbert-Elliott: in the bad state */
	bool direct;			/* a filter: nothing it does holds a frame back */
	bool idle;			/* a filter that decides nothing: frames pass untouched */
	uint64_t hz, delay_c, jitter_c, hold_c;
	uint64_t last_due;		/* of the frame last put on the line */
	uint64_t last_fill;		/* the buckets' */
	double bits, frames;		/* tokens */
	struct held held[DPK_IMPAIR_HELD_MAX];
	unsigned int n_held;
	unsigned int line_head, line_n;
	unsigned int rq_head, rq_n, rq_counted;	/* rq_counted: at the head, counted queued */
	uint64_t c[DPK_IMPAIR_C__COUNT];
	struct slot line[DPK_IMPAIR_LINE_SLOTS];
	void *rq[DPK_IMPAIR_RATE_SLOTS];
};

static const char *const counter_names[DPK_IMPAIR_C__COUNT] = {
	[DPK_IMPAIR_C_DROPPED] = "dropped",
	[DPK_IMPAIR_C_DUPLICATED] = "duplicated",
	[DPK_IMPAIR_C_DUP_NO_MBUF] = "dup_no_mbuf",
	[DPK_IMPAIR_C_REORDERED] = "reordered",
	[DPK_IMPAIR_C_DELAYED] = "delayed",
	[DPK_IMPAIR_C_CORRUPTED] = "corrupted",
	[DPK_IMPAIR_C_RATE_QUEUED] = "rate_queued",
	[DPK_IMPAIR_C_RATE_DROPPED] = "rate_dropped",
	[DPK_IMPAIR_C_LINE_DROPPED] = "line_dropped",
	[DPK_IMPAIR_C_TEARDOWN] = "teardown",
};

/* splitmix64 (Steele, Lea, Flood 2014): a 64-bit counter through a mixing function */
static uint64_t draw(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* True with probability @p p: one draw, its top 53 bits as a uniform double in [0, 1). */
static bool chance(struct dpk_impair_stage *st, double p)
{
	return (double)(draw(&st->rng) >> 11) * 0x1.0p-53 < p;
}

static uint64_t cycles_of_ns(const struct dpk_impair_stage *st, uint64_t ns)
{
	return (uint64_t)((double)ns * (double)st->hz / 1e9);
}

struct dpk_impair_stage *dpk_impair_stage_create(const struct dpk_impair_dir_spec *s,
						 uint64_t seed, uint64_t stream, uint64_t hz,
						 const struct dpk_impair_frame_ops *ops, void *ctx)
{
	struct dpk_impair_stage *st = calloc(1, sizeof(*st));
	uint64_t mix = seed ^ (stream * 0xd1b54a32d192ed03ull);

	if (st == NULL)
		return NULL;
	st->s = *s;
	st->ops = ops;
	st->ctx = ctx;
	st->rng = draw(&mix);
	st->hz = hz;
	st->delay_c = cycles_of_ns(st, s->delay_ns);
	st->jitter_c = cycles_of_ns(st, s->jitter_ns);
	st->hold_c = cycles_of_ns(st, DPK_IMPAIR_HOLD_NS);
	st->bits = s->burst_bits;
	st->frames = s->burst_frames;
	st->direct = s->delay_ns == 0 && s->jitter_ns == 0 && s->rate_bps == 0 &&
		     s->rate_fps == 0 && s->reorder == 0 && s->dup == 0;
	st->idle = st->direct && !s->ge && s->loss == 0 && s->corrupt == 0;
	return st;
}

static bool lost(struct dpk_impair_stage *st)
{
	bool drop;

	if (!st->s.ge)
		return st->s.loss > 0 && chance(st, st->s.loss);
	drop = chance(st, st->ge_bad ? 1 - st->s.ge_h : 1 - st->s.ge_k);
	st->ge_bad = st->ge_bad ? !chance(st, st->s.ge_r) : chance(st, st->s.ge_p);
	return drop;
}

static void corrupt(struct dpk_impair_stage *st, void *f)
{
	uint32_t len;
	uint8_t *b = st->ops->bytes(st->ctx, f, &len);
	uint64_t bit;

	if (len <= ETHER_HDR)
		return;
	bit = draw(&st->rng) % ((uint64_t)(len - ETHER_HDR) * 8);
	b[ETHER_HDR + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	st->c[DPK_IMPAIR_C_CORRUPTED]++;
}

/* Onto the delay line, due after the delay and never before the frame ahead. */
static void line_push(struct dpk_impair_stage *st, void *f, uint64_t now)
{
	uint64_t due = now;
	int64_t d;

	if (st->line_n == DPK_IMPAIR_LINE_SLOTS) {
		st->ops->free(st->ctx, f);
		st->c[DPK_IMPAIR_C_LINE_DROPPED]++;
		return;
	}
	if (st->delay_c != 0 || st->jitter_c != 0) {
		d = (int64_t)st->delay_c;
		if (st->jitter_c != 0)
			d += (int64_t)(draw(&st->rng) % (2 * st->jitter_c + 1)) -
			     (int64_t)st->jitter_c;
		due = now + (uint64_t)(d > 0 ? d : 0);
		st->c[DPK_IMPAIR_C_DELAYED]++;
	}
	if (due < st->last_due)
		due = st->last_due;
	st->last_due = due;
	st->line[(st->line_head + st->line_n) % DPK_IMPAIR_LINE_SLOTS] =
		(struct slot){ .f = f, .due = due };
	st->line_n++;
}

static void unhold(struct dpk_impair_stage *st, unsigned int i, uint64_t now)
{
	line_push(st, st->held[i].f, now);
	st->n_held--;
	memmove(&st->held[i], &st->held[i + 1], (st->n_held - i) * sizeof(st->held[0]));
}

/* A frame that passes: onto the line, then the held frames it was the last of go behind. */
static void pass(struct dpk_impair_stage *st, void *f, uint64_t now)
{
	unsigned int i = 0;

	line_push(st, f, now);
	while (i < st->n_held) {
		if (--st->held[i].left == 0)
			unhold(st, i, now);
		else
			i++;
	}
}

static void enter(struct dpk_impair_stage *st, void *f, uint64_t now)
{
	if (st->s.reorder > 0 && chance(st, st->s.reorder) && st->n_held < DPK_IMPAIR_HELD_MAX) {
		st->held[st->n_held++] = (struct held){ .f = f, .left = st->s.reorder_n,
							.deadline = now + st->hold_c };
		st->c[DPK_IMPAIR_C_REORDERED]++;
		return;
	}
	pass(st, f, now);
}

bool dpk_impair_stage_direct(const struct dpk_impair_stage *st)
{
	return st->direct;
}

bool dpk_impair_stage_idle(const struct dpk_impair_stage *st)
{
	return st->idle;
}

/* The decisions stage_in makes, in its order, for a stage that holds nothing back. */
bool dpk_impair_stage_keep(struct dpk_impair_stage *st, void *f)
{
	if (lost(st)) {
		st->ops->free(st->ctx, f);
		st->c[DPK_IMPAIR_C_DROPPED]++;
		return false;
	}
	if (st->s.corrupt > 0 && chance(st, st->s.corrupt))
		corrupt(st, f);
	return true;
}

void dpk_impair_stage_in(struct dpk_impair_stage *st, void *f, uint64_t now)
{
	void *copy = NULL;

	if (lost(st)) {
		st->ops->free(st->ctx, f);
		st->c[DPK_IMPAIR_C_DROPPED]++;
		return;
	}
	if (st->s.corrupt > 0 && chance(st, st->s.corrupt))
		corrupt(st, f);
	if (st->s.dup > 0 && chance(st, st->s.dup)) {
		copy = st->ops->copy(st->ctx, f);
		st->c[copy != NULL ? DPK_IMPAIR_C_DUPLICATED : DPK_IMPAIR_C_DUP_NO_MBUF]++;
	}
	enter(st, f, now);
	if (copy != NULL)
		enter(st, copy, now);
}

static void *line_pop(struct dpk_impair_stage *st)
{
	void *f = st->line[st->line_head].f;

	st->line_head = (st->line_head + 1) % DPK_IMPAIR_LINE_SLOTS;
	st->line_n--;
	return f;
}

static bool line_due(const struct dpk_impair_stage *st, uint64_t now)
{
	return st->line_n > 0 && st->line[st->line_head].due <= now;
}

static void refill(struct dpk_impair_stage *st, uint64_t now)
{
	double dt = (double)(now - st->last_fill) / (double)st->hz;

	st->last_fill = now;
	if (st->s.rate_bps > 0)
		st->bits = fmin(st->s.burst_bits, st->bits + dt * st->s.rate_bps);
	if (st->s.rate_fps > 0)
		st->frames = fmin(st->s.burst_frames, st->frames + dt * st->s.rate_fps);
}

/* Whether @p f may leave now; takes its tokens. A frame larger than the bucket leaves
 * when the bucket is full, leaving it in debt. */
static bool take_tokens(struct dpk_impair_stage *st, void *f)
{
	uint32_t len;
	double need;

	st->ops->bytes(st->ctx, f, &len);
	need = 8.0 * len;
	if (st->s.rate_bps > 0 && st->bits < need && st->bits < st->s.burst_bits)
		return false;
	if (st->s.rate_fps > 0 && st->frames < 1)
		return false;
	st->bits -= st->s.rate_bps > 0 ? need : 0;
	st->frames -= st->s.rate_fps > 0 ? 1 : 0;
	return true;
}

/* Due frames from the line into the rate queue, then out as the tokens allow. */
static unsigned int rate_out(struct dpk_impair_stage *st, uint64_t now, void **out,
			     unsigned int max)
{
	unsigned int k = 0;
	void *f;

	while (line_due(st, now)) {
		f = line_pop(st);
		if (st->rq_n == DPK_IMPAIR_RATE_SLOTS) {
			st->ops->free(st->ctx, f);
			st->c[DPK_IMPAIR_C_RATE_DROPPED]++;
			continue;
		}
		st->rq[(st->rq_head + st->rq_n++) % DPK_IMPAIR_RATE_SLOTS] = f;
	}
	refill(st, now);
	while (k < max && st->rq_n > 0 && take_tokens(st, st->rq[st->rq_head])) {
		out[k++] = st->rq[st->rq_head];
		st->rq_head = (st->rq_head + 1) % DPK_IMPAIR_RATE_SLOTS;
		st->rq_n--;
	}
	/* what is still here waited for its tokens: counted once */
	st->rq_counted = st->rq_counted > k ? st->rq_counted - k : 0;
	st->c[DPK_IMPAIR_C_RATE_QUEUED] += st->rq_n - st->rq_counted;
	st->rq_counted = st->rq_n;
	return k;
}

unsigned int dpk_impair_stage_out(struct dpk_impair_stage *st, uint64_t now, void **out,
				  unsigned int max)
{
	unsigned int i = 0, k = 0;

	while (i < st->n_held) {
		if (st->held[i].deadline <= now)
			unhold(st, i, now);
		else
			i++;
	}
	if (st->s.rate_bps > 0 || st->s.rate_fps > 0)
		return rate_out(st, now, out, max);
	while (k < max && line_due(st, now))
		out[k++] = line_pop(st);
	return k;
}

unsigned int dpk_impair_stage_held(const struct dpk_impair_stage *st)
{
	return st->n_held + st->line_n + st->rq_n;
}

uint64_t dpk_impair_stage_count(const struct dpk_impair_stage *st, enum dpk_impair_counter c)
{
	return st->c[c];
}

const char *dpk_impair_counter_name(enum dpk_impair_counter c)
{
	return counter_names[c];
}

void dpk_impair_stage_free(struct dpk_impair_stage *st)
{
	if (st == NULL)
		return;
	st->c[DPK_IMPAIR_C_TEARDOWN] += dpk_impair_stage_held(st);
	while (st->n_held > 0)
		st->ops->free(st->ctx, st->held[--st->n_held].f);
	while (st->line_n > 0)
		st->ops->free(st->ctx, line_pop(st));
	for (; st->rq_n > 0; st->rq_n--, st->rq_head = (st->rq_head + 1) % DPK_IMPAIR_RATE_SLOTS)
		st->ops->free(st->ctx, st->rq[st->rq_head]);
	free(st);
}
