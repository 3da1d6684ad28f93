/* SPDX-License-Identifier: MIT */
/*
 * result_bio.c - metrics.bio in the result JSON and its summary line: what the object steps
 * counted (bio_metrics.h; results/README.md documents the fields).
 */
#include <math.h>
#include <string.h>

#include "result_bio_pvt.h"

void hx_bio_metrics_write(struct hx_json *j, const struct hx_bio_metrics *b)
{
	hx_json_obj_begin(j, "bio");
	hx_json_uint(j, "requests", b->requests);
	hx_json_uint(j, "extra_requests", b->extra_requests);
	hx_json_uint(j, "reads", b->reads);
	hx_json_uint(j, "hits", b->hits);
	hx_json_uint(j, "misses", b->misses);
	if (b->reads)
		hx_json_double(j, "hit_ratio", (double)b->hits / (double)b->reads);
	else
		hx_json_null(j, "hit_ratio");
	hx_json_uint(j, "seeks_in_buffer", b->seeks_in_buffer);
	hx_json_uint(j, "seeks_dropped", b->seeks_dropped);
	hx_json_uint(j, "bytes_copied", b->bytes_copied);
	hx_json_uint(j, "bypass_reads", b->bypass_reads);
	hx_json_uint(j, "connects", b->connects);
	hx_json_uint(j, "puts_acked", b->puts);
	hx_json_uint(j, "acked_bytes", b->acked_bytes);
	hx_json_bool(j, "put_time_includes_ack", b->put_acked);
	hx_json_obj_end(j);
}

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

bool hx_bio_metric_value(const struct hx_bio_metrics *b, const char *name, double *v)
{
	if (strcmp(name, "requests") == 0)
		*v = (double)b->requests;
	else if (strcmp(name, "extra_requests") == 0)
		*v = (double)b->extra_requests;
	else if (strcmp(name, "hit_ratio") == 0)
		*v = b->reads ? (double)b->hits / (double)b->reads : NAN;
	else if (strcmp(name, "seeks_in_buffer") == 0)
		*v = (double)b->seeks_in_buffer;
	else if (strcmp(name, "acked_bytes") == 0)
		*v = (double)b->acked_bytes;
	else
		return false;
	return true;
}
