/* SPDX-License-Identifier: MIT */
/*
 * bio_http.h - remote objects over HTTP/1.1 (bio_http_*): a keep-alive client connection
 * over the transport API, a source that reads an object with range GETs and a sink that
 * writes one with a PUT and Content-Length, and the response-head parser they use.
 *
 * Call flow: reader -> http source open (one GET with Range) / read (the body, received
 * straight into the caller's memory) -> tl_send / tl_recv. The response head is read with
 * MSG_PEEK and consumed exactly, so no body byte is copied out of a header buffer.
 *
 * The parser is incremental (feed any split of the bytes) and allocation-free: one struct
 * holds its whole state. Malformed responses fail with -EBADMSG (syntax) or -EPROTO (a
 * valid message this client cannot use), with a reason string.
 *
 * Threading rule: a client and its sources/sinks belong to the thread owning the stack.
 */
#ifndef BIO_HTTP_H
#define BIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"

#define BIO_HTTP_LINE_MAX 256	/* longest status or header line kept */
#define BIO_HTTP_HEAD_MAX 65536	/* longest response head accepted */

/** A response head, parsed. Fields are valid once bio_http_resp_parse returned 1. */
struct bio_http_resp {
	int status;
	bool has_length;
	uint64_t content_length;
	bool has_range;		/* Content-Range: bytes first-last/total (or star/total) */
	bool range_unsatisfied;	/* the star form, as in a 416 */
	uint64_t range_first;
	uint64_t range_last;
	uint64_t range_total;	/* UINT64_MAX when the server wrote a star */
	bool keep_alive;	/* the connection may carry the next request */
	bool chunked;		/* Transfer-Encoding present (not supported: -EPROTO) */
	const char *reason;	/* why parsing failed; NULL while it has not */

	/* parser state */
	int state;
	int minor;		/* HTTP/1.minor */
	bool conn_close;
	bool conn_keep;
	bool overflow;		/* the current line was longer than line[] */
	size_t line_len;
	size_t head_len;
	char line[BIO_HTTP_LINE_MAX];
};

/** Start (or restart) a parse. */
void bio_http_resp_init(struct bio_http_resp *r);
/**
 * Feed @p len bytes. *used: how many belong to the head (the rest is body). Returns 1 when
 * the head is complete, 0 when it needs more bytes, -EBADMSG or -EPROTO with r->reason set.
 */
int bio_http_resp_parse(struct bio_http_resp *r, const char *data, size_t len, size_t *used);

/** Counters of one client connection. */
struct bio_http_stats {
	uint64_t requests;	/* GET, HEAD and PUT sent */
	uint64_t connects;	/* connections opened (the first and every reconnect) */
	uint64_t drained;	/* body bytes read and discarded to keep a connection */
	uint64_t abandoned;	/* responses cut by closing the connection instead */
};

struct bio_http;

/**
 * A client for the server at @p addr (127.0.0.0/8 in tests), sending Host: @p host. It
 * connects on first use. Returns NULL and sets errno.
 */
struct bio_http *bio_http_create(struct tl_stack *st, const struct sockaddr *addr,
				 socklen_t addr_len, const char *host);
/** Free the client (closing its connection). Its sources and sinks must be freed first. */
void bio_http_free(struct bio_http *h);

/*
 * How long a wait for the server may last (connect, each byte of a head or a body, room to
 * send) before the call fails with -ETIMEDOUT: a stuck or silent server fails the run in
 * bounded time instead of hanging it.
 */
#define BIO_HTTP_TIMEOUT_MS 10000
/** Set that limit to @p ms (> 0). */
void bio_http_set_timeout(struct bio_http *h, int ms);
/** Why the last call failed (parser or protocol reason), or "" if it has not. */
const char *bio_http_error(const struct bio_http *h);
const struct bio_http_stats *bio_http_stats(const struct bio_http *h);

/**
 * The object at @p path read with range GETs. size() uses what a response told (the total
 * of a Content-Range) or asks with HEAD. Errors: -ENOENT (404), -EPROTO/-EBADMSG (a
 * response not usable, see bio_http_error), the transport's errno.
 */
struct bio_source *bio_http_source_create(struct bio_http *h, const char *path);
/**
 * The object at @p path written with one PUT of @p length bytes (Content-Length). flush
 * means the bytes went to the transport; close's 0 means the server answered 2xx. A write
 * past @p length is -EFBIG; a close before it is -EPIPE.
 */
struct bio_sink *bio_http_sink_create(struct bio_http *h, const char *path, uint64_t length);

#endif /* BIO_HTTP_H */
