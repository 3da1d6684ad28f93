/* SPDX-License-Identifier: MIT */
/*
 * impair.h - the impairment stage of the DPDK layer (dpk_impair_*): loss (independent or
 * Gilbert-Elliott), duplication, reordering, delay with jitter, rate limiting and bit
 * corruption, per direction of a port, seeded and counted. stack/dpdk/README.md ("The
 * impairment stage") has the SPEC grammar.
 *
 * Two halves, neither of which needs DPDK:
 *   impair_spec.c  the setting impair=SPEC -> struct dpk_impair_spec, for one side (role);
 *                  also linked by the harness, which checks `--impair` and the scenario's
 *                  `impair` directive with it before anything starts
 *   impair.c       the stage: frames in (dpk_impair_stage_in), due frames out
 *                  (dpk_impair_stage_out), on an abstract frame (struct dpk_impair_frame_ops)
 *                  and a clock in cycles given by the caller, so a unit test drives it with
 *                  no port and no EAL
 * impair_port.c puts a stage on each configured direction of a dpk_port (mbufs, the TSC).
 *
 * Threading rule: a stage belongs to the thread that owns its direction of the port
 * (dpdk_port.h's rule); nothing here locks.
 */
#ifndef DPK_IMPAIR_H
#define DPK_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcplab/stack.h>

#define DPK_IMPAIR_SPEC_MAX 512	/* a SPEC's length, its end included */
#define DPK_IMPAIR_LINE_SLOTS 4096	/* the delay line: frames in flight per direction */
#define DPK_IMPAIR_RATE_SLOTS 1024	/* frames waiting for the token bucket */
#define DPK_IMPAIR_HELD_MAX 16		/* frames held back for reordering at once */
#define DPK_IMPAIR_HOLD_NS 10000000u	/* a held frame leaves after 10 ms at the latest */
#define DPK_IMPAIR_REORDER_MAX 64	/* N of reorder=P%/N */
#define DPK_IMPAIR_DELAY_MAX_NS 10000000000ull	/* 10 s */

enum dpk_impair_dir {
	DPK_IMPAIR_TX,		/* frames the stack sends: before rte_eth_tx_burst */
	DPK_IMPAIR_RX,		/* frames received: before the stack sees them */
	DPK_IMPAIR__DIRS,
};

/** What one direction does; all zero: nothing (on is false). Probabilities in [0, 1]. */
struct dpk_impair_dir_spec {
	bool on;
	double loss;			/* independent loss */
	bool ge;			/* Gilbert-Elliott loss instead (loss unused) */
	double ge_p, ge_r;		/* good -> bad, bad -> good, per frame */
	double ge_h, ge_k;		/* a frame survives: 1 - loss in bad, in good */
	double corrupt;
	double dup;
	double reorder;
	unsigned int reorder_n;		/* held behind the next N frames */
	uint64_t delay_ns, jitter_ns;	/* D ~ J: uniform in [D - J, D + J], at least 0 */
	double rate_bps, rate_fps;	/* token buckets; 0: none */
	double burst_bits, burst_frames;	/* their depths */
};

/** impair=SPEC as one side (role) takes it. */
struct dpk_impair_spec {
	uint64_t seed;			/* seed=N, default 1 */
	struct dpk_impair_dir_spec dir[DPK_IMPAIR__DIRS];
};

/**
 * Parse @p text for the side of @p role (engine: the client, sut: the server) into @p s.
 * Every part is checked, also those for the other side. 0, or -EINVAL with a one-line
 * message naming the bad part in @p err.
 */
int dpk_impair_parse(struct dpk_impair_spec *s, const char *text, enum tl_role role,
		     char *err, size_t len);
/** True when @p s impairs some direction. */
bool dpk_impair_on(const struct dpk_impair_spec *s);
/**
 * @p text as a message quotes it, into @p buf (@p len bytes, cut short if need be): control
 * characters written as \n, \t or \xHH, so a message stays one line whatever a setting
 * holds. Returns @p buf.
 */
const char *dpk_quote(char *buf, size_t len, const char *text);

/* ---- the stage (impair.c) ---- */

/** Why a frame left the plain path; every decision is counted, by direction. */
enum dpk_impair_counter {
	DPK_IMPAIR_C_DROPPED,		/* loss (independent or Gilbert-Elliott) */
	DPK_IMPAIR_C_DUPLICATED,	/* a copy sent behind it */
	DPK_IMPAIR_C_DUP_NO_MBUF,	/* a copy chosen, no buffer for it */
	DPK_IMPAIR_C_REORDERED,		/* held behind the next N */
	DPK_IMPAIR_C_DELAYED,		/* through the delay line with delay= set */
	DPK_IMPAIR_C_CORRUPTED,		/* one bit flipped past the Ethernet header */
	DPK_IMPAIR_C_RATE_QUEUED,	/* waited for the token bucket */
	DPK_IMPAIR_C_RATE_DROPPED,	/* the rate queue was full */
	DPK_IMPAIR_C_LINE_DROPPED,	/* the delay line was full */
	DPK_IMPAIR_C_TEARDOWN,		/* still held when the port closed: freed */
	DPK_IMPAIR_C__COUNT,
};

/** How the stage handles a frame it does not own the type of. */
struct dpk_impair_frame_ops {
	void *(*copy)(void *ctx, void *frame);		/* NULL: no room for a copy */
	void (*free)(void *ctx, void *frame);
	uint8_t *(*bytes)(void *ctx, void *frame, uint32_t *len);
};

struct dpk_impair_stage;

/**
 * A stage for one direction: @p seed (mixed with @p stream: the side and the direction),
 * @p hz cycles per second of the clock the caller passes as now. NULL and errno on failure.
 */
struct dpk_impair_stage *dpk_impair_stage_create(const struct dpk_impair_dir_spec *s,
						 uint64_t seed, uint64_t stream, uint64_t hz,
						 const struct dpk_impair_frame_ops *ops, void *ctx);
/** Free what it holds (counted as teardown), then the stage. Accepts NULL. */
void dpk_impair_stage_free(struct dpk_impair_stage *st);
/** A frame enters at @p now; the stage owns it from here (dropped, held, or out later). */
void dpk_impair_stage_in(struct dpk_impair_stage *st, void *frame, uint64_t now);
/** Up to @p max frames due at @p now, in the order they leave; the rest stay. */
unsigned int dpk_impair_stage_out(struct dpk_impair_stage *st, uint64_t now, void **out,
				  unsigned int max);
/**
 * Whether the stage is a filter: its spec holds nothing back (no delay, rate, reorder or
 * duplicates), so a frame either goes on at once, in place, or is lost (stage_keep).
 */
bool dpk_impair_stage_direct(const struct dpk_impair_stage *st);
/**
 * Whether the stage is a filter that decides nothing (loss 0, no Gilbert-Elliott, no
 * corruption): every frame would go on untouched and no random number would be drawn, so
 * the port skips it; it is there, with its counters at zero.
 */
bool dpk_impair_stage_idle(const struct dpk_impair_stage *st);
/**
 * A direct stage's decisions for @p frame, the same as stage_in's in the same order (the
 * same seed gives the same frames lost and corrupted): true, it goes on; false, it was lost
 * (freed and counted). No clock: nothing waits.
 */
bool dpk_impair_stage_keep(struct dpk_impair_stage *st, void *frame);
/** Frames the stage holds now (held, delayed, waiting for tokens). */
unsigned int dpk_impair_stage_held(const struct dpk_impair_stage *st);
/** Counter @p c (enum dpk_impair_counter). */
uint64_t dpk_impair_stage_count(const struct dpk_impair_stage *st, enum dpk_impair_counter c);
/** "dropped", "duplicated", ...: the counter's name after impair_tx_ / impair_rx_. */
const char *dpk_impair_counter_name(enum dpk_impair_counter c);

#endif /* DPK_IMPAIR_H */
