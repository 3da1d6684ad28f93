/* SPDX-License-Identifier: MIT */
/*
 * stream.c - the transport-stream source and sink: a connected tl_* socket read or written
 * as one stream. The only request a stream can serve is the one at its current offset, so
 * open anywhere else is -ESPIPE (a reader over a stream still seeks inside its buffer).
 * A non-blocking socket is waited on with tl_poll, so both backends behave alike.
 */
#include <errno.h>
#include <stdlib.h>

#include "bio.h"
#include "bio_http.h"

struct stream {
	struct tl_stack *st;
	int s;
	uint64_t off;		/* bytes moved so far */
};

struct stream_source {
	struct bio_source base;
	struct stream io;
	uint64_t end;
};

struct stream_sink {
	struct bio_sink base;
	struct stream io;
};

/* At most BIO_HTTP_TIMEOUT_MS for the peer: a silent one fails the call, -ETIMEDOUT. */
static int wait_for(struct stream *io, short events)
{
	struct pollfd p = { .fd = io->s, .events = events };
	int rc = tl_poll(io->st, &p, 1, BIO_HTTP_TIMEOUT_MS);

	return rc == 0 ? -ETIMEDOUT : rc < 0 ? rc : 0;
}

static int stream_open(struct bio_source *src, uint64_t off, uint64_t len)
{
	struct stream_source *ss = (struct stream_source *)src;

	if (off != ss->io.off)
		return -ESPIPE;
	ss->end = len == BIO_TO_END ? BIO_TO_END : off + len;
	return 0;
}

static ssize_t stream_read(struct bio_source *src, void *buf, size_t len)
{
	struct stream_source *ss = (struct stream_source *)src;
	ssize_t n;
	int rc;

	if (ss->end != BIO_TO_END && ss->end - ss->io.off < len)
		len = (size_t)(ss->end - ss->io.off);
	if (len == 0)
		return 0;
	while ((n = tl_recv(ss->io.st, ss->io.s, buf, len, 0)) == -EAGAIN)
		if ((rc = wait_for(&ss->io, POLLIN)) < 0)
			return rc;
	if (n > 0)
		ss->io.off += (uint64_t)n;
	return n;
}

static int stream_size(struct bio_source *src, uint64_t *size)
{
	(void)src;
	(void)size;
	return -ESPIPE;
}

static void stream_source_free(struct bio_source *src)
{
	free(src);
}

static const struct bio_source_ops stream_source_ops = {
	.name = "stream",
	.open = stream_open,
	.read = stream_read,
	.size = stream_size,
	.free = stream_source_free,
};

struct bio_source *bio_stream_source_create(struct tl_stack *st, int s)
{
	struct stream_source *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return NULL;
	ss->base.ops = &stream_source_ops;
	ss->io.st = st;
	ss->io.s = s;
	ss->end = BIO_TO_END;
	return &ss->base;
}

static ssize_t stream_write(struct bio_sink *snk, const void *buf, size_t len)
{
	struct stream_sink *ss = (struct stream_sink *)snk;
	ssize_t n;
	int rc;

	while ((n = tl_send(ss->io.st, ss->io.s, buf, len, 0)) == -EAGAIN)
		if ((rc = wait_for(&ss->io, POLLOUT)) < 0)
			return rc;
	if (n > 0)
		ss->io.off += (uint64_t)n;
	return n;
}

static int stream_flush(struct bio_sink *snk)
{
	(void)snk;
	return 0;	/* send already handed the bytes to the stack */
}

static int stream_close(struct bio_sink *snk)
{
	struct stream_sink *ss = (struct stream_sink *)snk;

	return tl_shutdown(ss->io.st, ss->io.s, SHUT_WR);
}

static void stream_sink_free(struct bio_sink *snk)
{
	free(snk);
}

static const struct bio_sink_ops stream_sink_ops = {
	.name = "stream",
	.write = stream_write,
	.flush = stream_flush,
	.close = stream_close,
	.free = stream_sink_free,
};

struct bio_sink *bio_stream_sink_create(struct tl_stack *st, int s)
{
	struct stream_sink *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return NULL;
	ss->base.ops = &stream_sink_ops;
	ss->io.st = st;
	ss->io.s = s;
	return &ss->base;
}
