/* SPDX-License-Identifier: MIT */
/*
 * hdr.h - a latency histogram (hist.h) in HdrHistogram's own formats, for its tools (the
 * HistogramLogProcessor, HdrHistogram plotters, wrk2-style .hgrm readers):
 *   - the percentile distribution text (.hgrm) of outputPercentileDistribution;
 *   - the V2 compressed encoding, base64: one histogram as a string;
 *   - the interval log (.hlog, log format 1.3): one encoded histogram per interval.
 *
 * hist.h's layout is HdrHistogram's for lowest value 1, highest 2^42 - 1 and 3 significant
 * digits (2048 sub-buckets; counts index i is the same value range in both), so the counts
 * are written as they are. Values are ns; the .hgrm shows them in microseconds.
 */
#ifndef HX_HDR_H
#define HX_HDR_H

#include <stdio.h>

#include "hist.h"

/**
 * Write @p h's percentile distribution to @p f in HdrHistogram's .hgrm text (values in us,
 * 5 ticks per half distance), each value clamped to the recorded maximum as
 * hist_percentile's are. Nothing but the header and footer for an empty histogram.
 */
void hx_hdr_percentiles(const struct hist *h, FILE *f);

/**
 * @p h in the V2 compressed encoding, base64, into @p out (NUL-terminated). Its length, or
 * -ENOSPC when @p len is too small, -ENOMEM, -EIO (zlib).
 */
int hx_hdr_encode(const struct hist *h, char *out, size_t len);

/** The interval log's header: format version, start time @p start_s (seconds since epoch). */
void hx_hdr_log_header(FILE *f, double start_s);

/**
 * One interval: @p h's samples recorded from @p offset_s (after the start) for @p len_s.
 * 0, or the -errno of hx_hdr_encode.
 */
int hx_hdr_log_interval(FILE *f, const struct hist *h, double offset_s, double len_s);

#endif /* HX_HDR_H */
