/* SPDX-License-Identifier: MIT */
/*
 * writer.c - the buffered writer: user writes -> buffer (or straight from the caller's
 * memory when large) -> sink writes; flush and close -> sink flush/close.
 *
 * Error rule: a sink error is kept in err and returned exactly once, by the first flush or
 * close after it; until then writes that cannot take anything return -ECANCELED. Bytes the
 * sink did not take stay in the buffer (a bypassed write reports how much was taken), so a
 * later flush retries them and nothing the caller was told was taken is dropped.
 * acked counts the bytes covered by the last successful flush or close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"

struct bio_writer {
	struct bio_sink *snk;
	uint8_t *buf;
	size_t cap;
	size_t len;		/* bytes buffered, not yet taken by the sink */
	uint64_t taken;		/* bytes accepted from callers */
	uint64_t acked;
	int err;		/* pending sink error, not yet reported */
	bool closed;
	struct bio_writer_stats *st;
	struct bio_writer_stats own;
};

struct bio_writer *bio_writer_create(struct bio_sink *snk, size_t buf_size,
				     struct bio_writer_stats *stats)
{
	struct bio_writer *w;

	if (snk == NULL) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->cap = buf_size ? buf_size : BIO_DEFAULT_BUF_SIZE;
	w->buf = malloc(w->cap);
	if (w->buf == NULL)
		goto err_free_writer;
	w->snk = snk;
	w->st = stats ? stats : &w->own;
	return w;

err_free_writer:
	free(w);
	return NULL;
}

/* Hand [buf, buf + len) to the sink. Returns how much it took; sets err on a failure. */
static size_t sink_write_all(struct bio_writer *w, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len && w->err == 0) {
		n = w->snk->ops->write(w->snk, buf + done, len - done);
		if (n <= 0) {
			w->err = n < 0 ? (int)n : -EIO;
			w->st->errors++;
			break;
		}
		done += (size_t)n;
		w->st->sink_writes++;
		w->st->sink_bytes += (uint64_t)n;
	}
	return done;
}

/* Send the buffer; what the sink did not take moves to the front and stays. */
static void spill(struct bio_writer *w)
{
	size_t n = sink_write_all(w, w->buf, w->len);

	if (n > 0 && n < w->len)
		memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
}

static size_t buffer_in(struct bio_writer *w, const void *buf, size_t len)
{
	size_t n = w->cap - w->len < len ? w->cap - w->len : len;

	memcpy(w->buf + w->len, buf, n);
	w->len += n;
	w->st->bytes_copied += n;
	return n;
}

ssize_t bio_writer_write(struct bio_writer *w, const void *buf, size_t len)
{
	size_t done = 0;

	if (w->closed)
		return -EBADF;
	while (done < len && w->err == 0) {
		if (len - done >= w->cap) {
			if (w->len > 0) {
				spill(w);	/* keep order; then the big one skips the buffer */
				continue;
			}
			w->st->bypass_writes++;
			done += sink_write_all(w, (const uint8_t *)buf + done, len - done);
			break;
		}
		done += buffer_in(w, (const uint8_t *)buf + done, len - done);
		if (w->len == w->cap)
			spill(w);
	}
	w->taken += done;
	if (done == 0 && len > 0)
		return -ECANCELED;
	return (ssize_t)done;
}

/* The pending error, once: reporting it clears it. */
static int report(struct bio_writer *w)
{
	int err = w->err;

	w->err = 0;
	return err;
}

int bio_writer_flush(struct bio_writer *w)
{
	int rc;

	if (w->closed)
		return -EBADF;
	if (w->err)
		return report(w);
	spill(w);
	if (w->err)
		return report(w);
	rc = w->snk->ops->flush(w->snk);
	if (rc < 0) {
		w->st->errors++;
		return rc;
	}
	w->acked = w->taken;
	return 0;
}

int bio_writer_close(struct bio_writer *w)
{
	int rc;

	rc = bio_writer_flush(w);
	if (rc < 0)
		return rc;
	w->closed = true;
	rc = w->snk->ops->close(w->snk);
	if (rc < 0) {
		w->st->errors++;
		return rc;
	}
	return 0;
}

void bio_writer_free(struct bio_writer *w)
{
	size_t pending;
	int rc = 0;

	if (w == NULL)
		return;
	if (!w->closed) {
		pending = w->len;
		if (w->err == 0)
			rc = bio_writer_flush(w);
		else
			rc = report(w);
		w->st->dropped++;
		fprintf(stderr, "bio: writer on sink %s freed without close: %llu bytes taken, "
			"%zu were still buffered, last flush %s (%d)\n", w->snk->ops->name,
			(unsigned long long)w->taken, pending, rc == 0 ? "ok" : "failed", rc);
	}
	free(w->buf);
	free(w);
}

uint64_t bio_writer_acked(const struct bio_writer *w)
{
	return w->acked;
}

const struct bio_writer_stats *bio_writer_stats(const struct bio_writer *w)
{
	return w->st;
}

void bio_writer_dump(const struct bio_writer *w, FILE *f)
{
	fprintf(f, "bio_writer sink=%s cap=%zu buffered=%zu taken=%llu acked=%llu err=%d "
		"closed=%d sink_writes=%llu bypass=%llu\n", w->snk->ops->name, w->cap, w->len,
		(unsigned long long)w->taken, (unsigned long long)w->acked, w->err, w->closed,
		(unsigned long long)w->st->sink_writes, (unsigned long long)w->st->bypass_writes);
}
