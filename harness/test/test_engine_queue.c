/* SPDX-License-Identifier: MIT */
/*
 * test_engine_queue.c - unit tests of the engine's FIFO and timer heap (engine_queue_pvt.h):
 * the order things come out in, a timer moved or cancelled where it is, and the heap against
 * a plain scan over many random operations.
 */
#include <stdlib.h>

#include "engine_queue_pvt.h"
#include "test.h"

#define N_IDS 200
#define N_OPS 100000

static int test_fifo_order_and_wrap(void)
{
	struct hx_fifo q;
	unsigned int i;

	EXPECT_EQ_INT(hx_fifo_init(&q, 3), 0);
	for (i = 0; i < 10; i++) {
		EXPECT_EQ_INT(hx_fifo_push(&q, i), 0);
		EXPECT_EQ_INT(hx_fifo_push(&q, i + 100), 0);
		EXPECT_EQ_INT(hx_fifo_pop(&q), i);
		EXPECT_EQ_INT(hx_fifo_pop(&q), i + 100);
		EXPECT_EQ_INT(q.n, 0);
	}
	EXPECT_EQ_INT(hx_fifo_push(&q, 1), 0);
	EXPECT_EQ_INT(hx_fifo_push(&q, 2), 0);
	EXPECT_EQ_INT(hx_fifo_push(&q, 3), 0);
	EXPECT_EQ_INT(hx_fifo_push(&q, 4), -ENOSPC);
	EXPECT_EQ_INT(hx_fifo_pop(&q), 1);
	EXPECT_EQ_INT(hx_fifo_pop(&q), 2);
	EXPECT_EQ_INT(hx_fifo_pop(&q), 3);
	hx_fifo_fini(&q);
	hx_fifo_fini(&q);	/* twice: a no-op */
	return 0;
}

static int test_timers_basic(void)
{
	struct hx_timers t;

	EXPECT_EQ_INT(hx_timers_init(&t, 4), 0);
	EXPECT_TRUE(hx_timers_next(&t) == INT64_MAX);
	hx_timers_set(&t, 0, 30);
	hx_timers_set(&t, 1, 10);
	hx_timers_set(&t, 2, 20);
	EXPECT_EQ_INT(hx_timers_next(&t), 10);
	hx_timers_set(&t, 1, 40);	/* moved later */
	EXPECT_EQ_INT(hx_timers_next(&t), 20);
	hx_timers_cancel(&t, 2);
	hx_timers_cancel(&t, 2);	/* twice: a no-op */
	hx_timers_set(&t, 3, 5);
	EXPECT_EQ_INT(hx_timers_pop(&t), 3);
	EXPECT_EQ_INT(hx_timers_pop(&t), 0);
	EXPECT_EQ_INT(hx_timers_pop(&t), 1);
	EXPECT_EQ_INT(t.n, 0);
	hx_timers_fini(&t);
	return 0;
}

/* The earliest of a reference array, by scan: the id, or -1 when none is set. */
static int earliest(const int64_t *at, const int *set)
{
	int i, best = -1;

	for (i = 0; i < N_IDS; i++)
		if (set[i] && (best < 0 || at[i] < at[best]))
			best = i;
	return best;
}

/* Random sets, moves, cancels and pops: the heap agrees with a scan at every step. */
static int test_timers_random(void)
{
	static int64_t at[N_IDS];
	static int set[N_IDS];
	struct hx_timers t;
	unsigned int seed = 7, i;
	int id, best;

	EXPECT_EQ_INT(hx_timers_init(&t, N_IDS), 0);
	for (i = 0; i < N_OPS; i++) {
		id = rand_r(&seed) % N_IDS;
		switch (rand_r(&seed) % 4) {
		case 0:
		case 1:
			at[id] = rand_r(&seed) % 1000;
			set[id] = 1;
			hx_timers_set(&t, (unsigned int)id, at[id]);
			break;
		case 2:
			set[id] = 0;
			hx_timers_cancel(&t, (unsigned int)id);
			break;
		default:
			best = earliest(at, set);
			if (best < 0) {
				EXPECT_EQ_INT(t.n, 0);
				break;
			}
			id = (int)hx_timers_pop(&t);
			EXPECT_EQ_INT(at[id], at[best]);	/* ties: either */
			EXPECT_TRUE(set[id]);
			set[id] = 0;
		}
		best = earliest(at, set);
		EXPECT_TRUE(hx_timers_next(&t) == (best < 0 ? INT64_MAX : at[best]));
	}
	hx_timers_fini(&t);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "fifo_order_and_wrap", test_fifo_order_and_wrap },
		{ "timers_basic", test_timers_basic },
		{ "timers_random", test_timers_random },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
