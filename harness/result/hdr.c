/* SPDX-License-Identifier: MIT */
/*
 * hdr.c - HdrHistogram's formats (hdr.h), written from their published description: the
 * .hgrm percentile text, the V2 encoding (a 40-byte big-endian header, then the counts as
 * ZigZag LEB128 words with runs of zeros as one negative word), its compressed form (a
 * cookie, a length and the zlib stream) and the interval log, format 1.3.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "hdr.h"

#define COOKIE_V2 0x1c849313u		/* V2 encoding, LEB128 words */
#define COOKIE_V2_COMPRESSED 0x1c849314u
#define HEADER_LEN 40
#define SIG_DIGITS 3
#define SUB_BUCKETS 2048		/* hist.h: 2 << HIST_SUB_BITS */
#define BUCKETS (HIST_MAX_BITS - HIST_SUB_BITS)	/* HdrHistogram's bucket count: 32 */
#define TICKS_PER_HALF 5		/* percentile levels: outputPercentileDistribution's */
#define US 1000.0

/* ---- the .hgrm text ---- */

static void hgrm_line(FILE *f, const struct hist *h, unsigned int i, double level,
		      uint64_t seen)
{
	int64_t v = hist_bucket_hi(i) > h->max ? h->max : hist_bucket_hi(i);

	if (level >= 100.0)
		fprintf(f, "%12.3f %2.12f %10llu\n", (double)v / US, 1.0,
			(unsigned long long)seen);
	else
		fprintf(f, "%12.3f %2.12f %10llu %14.2f\n", (double)v / US, level / 100.0,
			(unsigned long long)seen, 1.0 / (1.0 - level / 100.0));
}

/* The next level: the step halves each time the distance to 100% halves. */
static double next_level(double level)
{
	double ticks = TICKS_PER_HALF * pow(2.0, floor(log2(100.0 / (100.0 - level))) + 1);

	return level + 100.0 / ticks;
}

static double stddev(const struct hist *h)
{
	double mean = hist_mean(h), sum = 0.0, mid;
	unsigned int i;

	for (i = 0; i < HIST_COUNTS; i++) {
		if (h->counts[i] == 0)
			continue;
		mid = ((double)hist_bucket_lo(i) + (double)hist_bucket_hi(i)) / 2.0;
		sum += (mid - mean) * (mid - mean) * (double)h->counts[i];
	}
	return h->total ? sqrt(sum / (double)h->total) : 0.0;
}

void hx_hdr_percentiles(const struct hist *h, FILE *f)
{
	double level = 0.0;
	uint64_t seen = 0;
	unsigned int i, last = 0;

	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		"1/(1-Percentile)");
	for (i = 0; i < HIST_COUNTS && seen < h->total; i++) {
		if (h->counts[i] == 0)
			continue;
		seen += h->counts[i];
		last = i;
		/* every level this bucket reaches; in the last bucket only the first of them,
		 * then 100% (outputPercentileDistribution's iteration) */
		while (level <= 100.0 * (double)seen / (double)h->total) {
			hgrm_line(f, h, i, level, seen);
			level = next_level(level);
			if (seen == h->total)
				break;
		}
	}
	if (h->total > 0)
		hgrm_line(f, h, last, 100.0, seen);
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / US,
		stddev(h) / US);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n", (double)h->max / US,
		(unsigned long long)h->total);
	fprintf(f, "#[Buckets = %12d, SubBuckets     = %12d]\n", BUCKETS, SUB_BUCKETS);
}

/* ---- the V2 encoding ---- */

static uint8_t *put_be(uint8_t *p, uint64_t v, unsigned int bytes)
{
	while (bytes-- > 0)
		*p++ = (uint8_t)(v >> (8 * bytes));
	return p;
}

/* ZigZag, then LEB128 over at most 9 bytes (the ninth keeps all its 8 bits). */
static uint8_t *put_word(uint8_t *p, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	unsigned int n;

	for (n = 0; n < 8 && z >= 0x80; n++, z >>= 7)
		*p++ = (uint8_t)(z | 0x80);
	*p++ = (uint8_t)z;
	return p;
}

/* The counts up to the last non-zero one, runs of zeros as one negative word. */
static size_t put_counts(const struct hist *h, uint8_t *p)
{
	uint8_t *start = p;
	unsigned int i = 0, end = h->total ? hist_index(h->max) + 1 : 0;
	uint64_t zeros;

	while (i < end) {
		if (h->counts[i] != 0) {
			p = put_word(p, (int64_t)h->counts[i++]);
			continue;
		}
		for (zeros = 0; i < end && h->counts[i] == 0; i++)
			zeros++;
		p = put_word(p, zeros > 1 ? -(int64_t)zeros : 0);
	}
	return (size_t)(p - start);
}

static size_t encode(const struct hist *h, uint8_t *buf)
{
	size_t n = put_counts(h, buf + HEADER_LEN);
	double ratio = 1.0;
	uint64_t bits;
	uint8_t *p = buf;

	memcpy(&bits, &ratio, sizeof(bits));
	p = put_be(p, COOKIE_V2, 4);
	p = put_be(p, n, 4);
	p = put_be(p, 0, 4);			/* normalizing index offset */
	p = put_be(p, SIG_DIGITS, 4);
	p = put_be(p, 1, 8);			/* lowest discernible value: 1 ns */
	p = put_be(p, (uint64_t)HIST_MAX_VALUE, 8);
	put_be(p, bits, 8);			/* integer to double conversion ratio */
	return HEADER_LEN + n;
}

static size_t base64(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

int hx_hdr_encode(const struct hist *h, char *out, size_t len)
{
	size_t raw_max = HEADER_LEN + (size_t)HIST_COUNTS * 9;
	uint8_t *raw = malloc(raw_max), *z = NULL;
	uLongf zlen;
	size_t n;
	int r = -ENOMEM;

	if (raw == NULL)
		return -ENOMEM;
	n = encode(h, raw);
	zlen = compressBound((uLong)n);
	z = malloc(8 + zlen);
	if (z == NULL)
		goto out;
	r = -EIO;
	if (compress2(z + 8, &zlen, raw, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK)
		goto out;
	put_be(put_be(z, COOKIE_V2_COMPRESSED, 4), zlen, 4);
	r = -ENOSPC;
	if ((8 + zlen + 2) / 3 * 4 + 1 > len)
		goto out;
	r = (int)base64(z, 8 + zlen, out);
out:
	free(z);
	free(raw);
	return r;
}

/* ---- the interval log ---- */

void hx_hdr_log_header(FILE *f, double start_s)
{
	time_t t = (time_t)start_s;
	char when[64];

	strftime(when, sizeof(when), "%a %b %d %H:%M:%S UTC %Y", gmtime(&t));
	fprintf(f, "#[Logged with tcplab: the engine's latencies, one histogram a second, ns]\n");
	fprintf(f, "#[Histogram log format version 1.3]\n");
	fprintf(f, "#[StartTime: %.3f (seconds since epoch), %s]\n", start_s, when);
	fprintf(f, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
		"\"Interval_Compressed_Histogram\"\n");
}

int hx_hdr_log_interval(FILE *f, const struct hist *h, double offset_s, double len_s)
{
	size_t len = 64 + (size_t)HIST_COUNTS * 12;
	char *b64 = malloc(len);
	int r;

	if (b64 == NULL)
		return -ENOMEM;
	r = hx_hdr_encode(h, b64, len);
	if (r >= 0)	/* the interval's max in ms, as the log processor's default unit */
		fprintf(f, "%.3f,%.3f,%.3f,%s\n", offset_s, len_s, (double)h->max / 1e6, b64);
	free(b64);
	return r < 0 ? r : 0;
}
