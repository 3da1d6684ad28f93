/* SPDX-License-Identifier: MIT */
/*
 * clock.c - the calibration of the engine's clock (clock.h): the TSC's rate against
 * CLOCK_MONOTONIC, measured before a run starts.
 */
#include "clock.h"

#define CALIBRATE_NS (10 * 1000 * 1000)
#define PAIR_TRIES 8

/* A TSC reading and the CLOCK_MONOTONIC time it was taken at, the tightest of @p tries. */
static void clock_pair(uint64_t *tsc, int64_t *ns, int tries)
{
	int64_t best = INT64_MAX;

	while (tries-- > 0) {
		int64_t a = hx_clock_monotonic_ns();
		uint64_t t = hx_clock_ticks();
		int64_t b = hx_clock_monotonic_ns();

		if (b - a < best) {
			best = b - a;
			*tsc = t;
			*ns = a + (b - a) / 2;
		}
	}
}

void hx_clock_init(struct hx_clock *c)
{
	uint64_t t0 = 0, t1 = 0;
	int64_t n0 = 0, n1 = 0;

	*c = (struct hx_clock){ .tsc = false };
	if (!hx_clock_tsc_safe())
		return;
	clock_pair(&t0, &n0, PAIR_TRIES);
	while (hx_clock_monotonic_ns() - n0 < CALIBRATE_NS)
		;
	clock_pair(&t1, &n1, PAIR_TRIES);
	if (t1 <= t0 || n1 <= n0)
		return;
	c->ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
	c->base = t1;
	c->base_ns = n1;
	c->tsc = true;
}
