/* SPDX-License-Identifier: MIT */
/*
 * hist.h - log-linear latency histogram (HdrHistogram-style): 3 significant digits, 1 ns
 * resolution, values up to 2^42 ns (about 73 minutes; larger values are clamped and counted).
 *
 * Layout: values below 2048 each have their own counter; above that, every power-of-two range
 * [2^k, 2^(k+1)) is split into 1024 equal sub-buckets, so a bucket is never wider than 1/1024
 * of its value. Recording is O(1) and allocation-free; histograms of the same layout merge by
 * adding counters. Percentiles are exact to the bucket: the reported value is the highest
 * value of the bucket holding the nearest-rank sample, clamped to the recorded maximum.
 *
 * Threading rule: a histogram is owned by one thread; merge copies after the owners stop.
 */
#ifndef HX_HIST_H
#define HX_HIST_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BITS 10				/* 1024 sub-buckets per range */
#define HIST_MAX_BITS 42				/* values < 2^42 ns */
#define HIST_COUNTS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) << HIST_SUB_BITS)
#define HIST_MAX_VALUE ((INT64_C(1) << HIST_MAX_BITS) - 1)

struct hist {
	uint64_t total;
	uint64_t clamped;	/* values above HIST_MAX_VALUE, recorded as HIST_MAX_VALUE */
	int64_t min;
	int64_t max;
	double sum;
	uint64_t counts[HIST_COUNTS];
};

/** A new, empty histogram; NULL and errno ENOMEM on failure. */
struct hist *hist_create(void);
/** Accepts NULL. */
void hist_free(struct hist *h);
void hist_reset(struct hist *h);

/** Record one value in ns; negative values count as 0. */
void hist_record(struct hist *h, int64_t value);
/** Record @p n samples of one value. */
void hist_record_n(struct hist *h, int64_t value, uint64_t n);
/** Add @p src's samples into @p dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/** Nearest-rank percentile, 0 < p <= 100; 0 for an empty histogram. */
int64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);

/** Index of the counter for @p value, and the value range [lo, hi] a counter covers. */
unsigned int hist_index(int64_t value);
int64_t hist_bucket_lo(unsigned int index);
int64_t hist_bucket_hi(unsigned int index);

/**
 * Iterate the non-empty buckets: start with *index = 0; returns 0 with *index, *hi and
 * *count set and *index advanced past it, or -ENOENT at the end.
 */
int hist_next_bucket(const struct hist *h, unsigned int *index, int64_t *hi, uint64_t *count);

/** Print a summary and the non-empty buckets, for debugging. */
void hist_dump(const struct hist *h, FILE *f);

#endif /* HX_HIST_H */
