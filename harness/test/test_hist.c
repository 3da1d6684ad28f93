/* SPDX-License-Identifier: MIT */
/* test_hist.c - unit tests of the log-linear histogram (hist.h). */
#include <stdlib.h>

#include "hist.h"
#include "test.h"

/* Every value maps to a bucket that contains it, and buckets tile the range in order. */
static int test_index_roundtrip(void)
{
	int64_t v;
	unsigned int i;

	for (v = 0; v < 100000; v += 7) {
		i = hist_index(v);
		EXPECT_TRUE(hist_bucket_lo(i) <= v && v <= hist_bucket_hi(i));
	}
	for (v = 1; v < HIST_MAX_VALUE / 3; v = v * 3 + 1) {
		i = hist_index(v);
		EXPECT_TRUE(hist_bucket_lo(i) <= v && v <= hist_bucket_hi(i));
		EXPECT_EQ_INT(hist_bucket_lo(i + 1), hist_bucket_hi(i) + 1);
	}
	EXPECT_TRUE(hist_index(HIST_MAX_VALUE) < HIST_COUNTS);
	return 0;
}

/* 3 significant digits: a bucket is never wider than 1/1024 of its lowest value (or 1). */
static int test_resolution(void)
{
	unsigned int i;

	for (i = 0; i < HIST_COUNTS; i++) {
		int64_t lo = hist_bucket_lo(i), w = hist_bucket_hi(i) - lo + 1;

		EXPECT_TRUE(w == 1 || w * 1024 <= lo);
	}
	return 0;
}

static int test_exact_small_values(void)
{
	struct hist *h = hist_create();
	int64_t v;

	EXPECT_TRUE(h != NULL);
	for (v = 1; v <= 1000; v++)
		hist_record(h, v);
	EXPECT_EQ_INT(h->total, 1000);
	EXPECT_EQ_INT(hist_percentile(h, 50), 500);
	EXPECT_EQ_INT(hist_percentile(h, 99), 990);
	EXPECT_EQ_INT(hist_percentile(h, 100), 1000);
	EXPECT_EQ_INT(h->min, 1);
	EXPECT_EQ_INT(h->max, 1000);
	EXPECT_TRUE(hist_mean(h) > 500.49 && hist_mean(h) < 500.51);
	hist_free(h);
	return 0;
}

static int test_empty_and_clamp(void)
{
	struct hist *h = hist_create();

	EXPECT_EQ_INT(hist_percentile(h, 99), 0);
	hist_record(h, -5);
	hist_record(h, HIST_MAX_VALUE + 1000);
	EXPECT_EQ_INT(h->total, 2);
	EXPECT_EQ_INT(h->clamped, 1);
	EXPECT_EQ_INT(h->min, 0);
	EXPECT_EQ_INT(hist_percentile(h, 100), HIST_MAX_VALUE);
	hist_free(h);
	return 0;
}

/* A single huge outlier is the max and p100, and moves no lower percentile. */
static int test_outlier(void)
{
	struct hist *h = hist_create();
	int i;

	for (i = 0; i < 99999; i++)
		hist_record(h, 50000);
	hist_record(h, 3000000000LL);
	EXPECT_EQ_INT(h->max, 3000000000LL);
	EXPECT_EQ_INT(hist_percentile(h, 100), 3000000000LL);
	EXPECT_TRUE(hist_percentile(h, 99.99) <= 50000 + 50000 / 1024);
	EXPECT_TRUE(hist_percentile(h, 99.99) >= 50000);
	hist_free(h);
	return 0;
}

static int test_merge(void)
{
	struct hist *a = hist_create(), *b = hist_create(), *all = hist_create();
	int64_t v;

	for (v = 100; v < 200000; v += 13) {
		hist_record(v % 2 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	EXPECT_EQ_INT(a->total, all->total);
	EXPECT_EQ_INT(a->min, all->min);
	EXPECT_EQ_INT(a->max, all->max);
	EXPECT_TRUE(memcmp(a->counts, all->counts, sizeof(a->counts)) == 0);
	EXPECT_EQ_INT(hist_percentile(a, 99.9), hist_percentile(all, 99.9));
	hist_free(a);
	hist_free(b);
	hist_free(all);
	return 0;
}

static int test_bucket_iteration(void)
{
	struct hist *h = hist_create();
	unsigned int idx = 0;
	uint64_t count, sum = 0;
	int64_t hi, prev = -1;

	hist_record_n(h, 10, 3);
	hist_record_n(h, 123456, 2);
	hist_record_n(h, 987654321, 1);
	while (hist_next_bucket(h, &idx, &hi, &count) == 0) {
		EXPECT_TRUE(hi > prev);
		prev = hi;
		sum += count;
	}
	EXPECT_EQ_INT(sum, 6);
	hist_free(h);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "index_roundtrip", test_index_roundtrip },
		{ "resolution", test_resolution },
		{ "exact_small_values", test_exact_small_values },
		{ "empty_and_clamp", test_empty_and_clamp },
		{ "outlier", test_outlier },
		{ "merge", test_merge },
		{ "bucket_iteration", test_bucket_iteration },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
