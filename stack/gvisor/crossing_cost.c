/* SPDX-License-Identifier: MIT */
/*
 * crossing_cost.c - what one call from C into the gvisor plug-in's Go half costs, from a
 * thread Go did not create: unbound (Go 1.19 borrows an M for each call) and bound
 * (go/bind.c), interleaved in one run, so the ratio holds on a noisy machine.
 *
 *   build/stack/gvisor/crossing_cost [ROUNDS [CALLS]]
 *
 * Prints each round's ns per call both ways and the median ratio. No DPDK, no netstack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bind.h"
#include "libtcplab-gvisor-go.h"

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double per_call(long calls)
{
	double t0 = now_ns();
	int x = 0;
	long i;

	for (i = 0; i < calls; i++)
		x = gvNop(x);
	if (x != (int)calls)
		abort();
	return (now_ns() - t0) / (double)calls;
}

static int cmp(const void *a, const void *b)
{
	double d = *(const double *)a - *(const double *)b;

	return (d > 0) - (d < 0);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5, r;
	long calls = argc > 2 ? atol(argv[2]) : 200000;
	double *ratio;

	if (rounds < 1 || rounds > 1000 || calls < 1) {
		fprintf(stderr, "usage: crossing_cost [ROUNDS (1-1000) [CALLS]]\n");
		return 2;
	}
	ratio = calloc((size_t)rounds, sizeof(*ratio));
	if (ratio == NULL)
		return 1;
	per_call(calls / 10 + 1);	/* the runtime's first extra M */
	for (r = 0; r < rounds; r++) {
		double unbound = per_call(calls), bound;

		if (gv_bind_thread() < 0) {
			fprintf(stderr, "crossing_cost: cannot bind the thread\n");
			return 1;
		}
		bound = per_call(calls);
		gv_unbind_thread();
		ratio[r] = unbound / bound;
		printf("round %d: unbound %.0f ns/call, bound %.0f ns/call, ratio %.1f\n", r + 1,
		       unbound, bound, ratio[r]);
	}
	qsort(ratio, (size_t)rounds, sizeof(*ratio), cmp);
	printf("median unbound/bound: %.1f (%d rounds of %ld calls)\n", ratio[rounds / 2], rounds,
	       calls);
	free(ratio);
	return 0;
}
