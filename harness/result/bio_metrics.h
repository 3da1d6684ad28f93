/* SPDX-License-Identifier: MIT */
/*
 * bio_metrics.h - what the object steps (engine_bio.c) count, kept in struct hx_metrics and
 * written as metrics.bio in the result (result_bio.c). Counted for steps that end inside the
 * measured window, like transactions.
 */
#ifndef HX_BIO_METRICS_H
#define HX_BIO_METRICS_H

#include <stdbool.h>
#include <stdint.h>

struct hx_bio_metrics {
	bool used;		/* an object step ran: the result gets metrics.bio */
	bool put_acked;		/* a put step ran: its time includes the server's answer */
	uint64_t requests;	/* HTTP requests sent (GET, HEAD, PUT; raw_get's too) */
	uint64_t extra_requests;	/* requests beyond one per read that missed the buffer */
	uint64_t reads;		/* object reads (seek_read, cache_read) */
	uint64_t hits;		/* of them: served from the reader's buffer or the cache */
	uint64_t misses;	/* of them: bytes had to come from the server */
	uint64_t seeks_in_buffer;
	uint64_t seeks_dropped;
	uint64_t bytes_copied;	/* reader: memcpy'd from its buffer to the step's memory */
	uint64_t bypass_reads;	/* reader: reads straight into the step's memory */
	uint64_t connects;	/* HTTP connections opened */
	uint64_t puts;		/* PUTs the server acknowledged */
	uint64_t acked_bytes;	/* their bytes */
	unsigned int messages;	/* failure lines printed so far (bounded) */
};

#endif /* HX_BIO_METRICS_H */
