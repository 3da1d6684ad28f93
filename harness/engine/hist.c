/* SPDX-License-Identifier: MIT */
/*
 * hist.c - the log-linear histogram of hist.h. The index of a value v is
 *     shift = msb(v | 2047) - 10;  index = shift * 1024 + (v >> shift)
 * so values below 2048 map to themselves and every later power-of-two range takes 1024
 * consecutive counters of width 2^shift.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define SUB_COUNT (1u << HIST_SUB_BITS)
#define LOW_MASK ((int64_t)(2 * SUB_COUNT - 1))

struct hist *hist_create(void)
{
	struct hist *h = malloc(sizeof(*h));

	if (h == NULL)
		return NULL;
	hist_reset(h);
	return h;
}

void hist_free(struct hist *h)
{
	free(h);
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = INT64_MAX;
}

unsigned int hist_index(int64_t value)
{
	unsigned int shift = 63u - (unsigned int)__builtin_clzll((uint64_t)(value | LOW_MASK));

	shift -= HIST_SUB_BITS;
	return (shift << HIST_SUB_BITS) + (unsigned int)(value >> shift);
}

static unsigned int index_shift(unsigned int index)
{
	return index < 2 * SUB_COUNT ? 0 : (index >> HIST_SUB_BITS) - 1;
}

int64_t hist_bucket_lo(unsigned int index)
{
	unsigned int shift = index_shift(index);

	return (int64_t)(index - (shift << HIST_SUB_BITS)) << shift;
}

int64_t hist_bucket_hi(unsigned int index)
{
	return hist_bucket_lo(index) + (INT64_C(1) << index_shift(index)) - 1;
}

void hist_record_n(struct hist *h, int64_t value, uint64_t n)
{
	if (value < 0)
		value = 0;
	if (value > HIST_MAX_VALUE) {
		value = HIST_MAX_VALUE;
		h->clamped += n;
	}
	h->counts[hist_index(value)] += n;
	h->total += n;
	h->sum += (double)value * (double)n;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hist_record(struct hist *h, int64_t value)
{
	hist_record_n(h, value, 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int i;

	if (src->total == 0)
		return;
	for (i = 0; i < HIST_COUNTS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->clamped += src->clamped;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

int64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	unsigned int i;
	int64_t v;

	if (h->total == 0)
		return 0;
	/* nearest rank ceil(p/100 * total), in integers: in floating point 99.9% of 1000
	 * comes out as 999.0000000000001 and the rank one too high */
	rank = (uint64_t)(((unsigned __int128)llround(p * 10000.0) * h->total + 999999) / 1000000);
	if (rank < 1)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	for (i = 0; i < HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			break;
	}
	v = hist_bucket_hi(i);
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

int hist_next_bucket(const struct hist *h, unsigned int *index, int64_t *hi, uint64_t *count)
{
	unsigned int i;

	for (i = *index; i < HIST_COUNTS; i++) {
		if (h->counts[i] == 0)
			continue;
		*hi = hist_bucket_hi(i);
		*count = h->counts[i];
		*index = i + 1;
		return 0;
	}
	*index = HIST_COUNTS;
	return -ENOENT;
}

void hist_dump(const struct hist *h, FILE *f)
{
	unsigned int i = 0;
	uint64_t count;
	int64_t hi;

	fprintf(f, "hist: total %llu min %lld max %lld mean %.1f clamped %llu\n",
		(unsigned long long)h->total, (long long)(h->total ? h->min : 0),
		(long long)h->max, hist_mean(h), (unsigned long long)h->clamped);
	while (hist_next_bucket(h, &i, &hi, &count) == 0)
		fprintf(f, "  <= %lld: %llu\n", (long long)hi, (unsigned long long)count);
}
