/* SPDX-License-Identifier: MIT */
/*
 * test_clock.c - unit tests of the engine's clock (clock.h): on CLOCK_MONOTONIC's scale
 * whichever counter it reads, unpinned and pinned to one CPU (where an invariant TSC is
 * taken even when the kernel keeps time on another clocksource).
 */
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "test.h"

#define SLEEP_NS (20 * 1000 * 1000)
#define SLACK_NS (200 * 1000 * 1000)	/* a shared machine may run us late, never early */

/* A 20 ms sleep reads as 20 ms and a little, and the clock stays within a millisecond of
 * CLOCK_MONOTONIC (calibration error is parts per million). */
static int check_clock(const struct hx_clock *c)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = SLEEP_NS };
	int64_t t0, t1, prev, now, i, mono;

	t0 = hx_clock_now(c);
	nanosleep(&ts, NULL);
	t1 = hx_clock_now(c);
	EXPECT_TRUE(t1 - t0 >= SLEEP_NS - 1000);
	EXPECT_TRUE(t1 - t0 < SLEEP_NS + SLACK_NS);
	mono = hx_clock_monotonic_ns();
	now = hx_clock_now(c);
	EXPECT_TRUE(llabs(now - mono) < 1000 * 1000);
	for (i = 0, prev = now; i < 100000; i++, prev = now) {
		now = hx_clock_now(c);
		EXPECT_TRUE(now >= prev);
	}
	return 0;
}

static int test_unpinned(void)
{
	struct hx_clock c;

	hx_clock_init(&c);
	printf("     unpinned: %s\n", c.tsc ? "tsc" : "CLOCK_MONOTONIC");
	return check_clock(&c);
}

static int test_pinned(void)
{
	cpu_set_t old, one;
	struct hx_clock c;
	int r;

	EXPECT_EQ_INT(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	for (r = 0; r < CPU_SETSIZE && !CPU_ISSET(r, &old); r++)
		;
	CPU_SET(r, &one);
	EXPECT_EQ_INT(sched_setaffinity(0, sizeof(one), &one), 0);
	hx_clock_init(&c);
	printf("     pinned to cpu %d: %s\n", r, c.tsc ? "tsc" : "CLOCK_MONOTONIC");
	r = check_clock(&c);
	sched_setaffinity(0, sizeof(old), &old);
	return r;
}

/* The generic part (no TSC) never claims one; on x86-64 a safe TSC is a running one. */
static int test_ticks_agree_with_safety(void)
{
	uint64_t a = hx_clock_ticks(), b = hx_clock_ticks();

	if (hx_clock_tsc_safe())
		EXPECT_TRUE(b > a);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "unpinned", test_unpinned },
		{ "pinned", test_pinned },
		{ "ticks_agree_with_safety", test_ticks_agree_with_safety },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
