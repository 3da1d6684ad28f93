/* SPDX-License-Identifier: MIT */
/*
 * result_bio.c - the summary line of what the object steps counted (bio_metrics.h); the
 * result JSON's metrics.bio is written from the metric table (result_metrics.c).
 */
#include <math.h>

#include "result_bio_pvt.h"

void hx_bio_metrics_summary(const struct hx_bio_metrics *b, FILE *f)
{
	fprintf(f, "  objects: requests %llu  extra %llu  reads %llu  hit_ratio %.4f  "
		"seeks_in_buffer %llu  copied %llu B  bypass_reads %llu  puts_acked %llu%s\n",
		(unsigned long long)b->requests, (unsigned long long)b->extra_requests,
		(unsigned long long)b->reads,
		b->reads ? (double)b->hits / (double)b->reads : NAN,
		(unsigned long long)b->seeks_in_buffer, (unsigned long long)b->bytes_copied,
		(unsigned long long)b->bypass_reads, (unsigned long long)b->puts,
		b->put_acked ? " (put time includes the server's 201)" : "");
}
