/* SPDX-License-Identifier: MIT */
/*
 * http.c - the HTTP/1.1 client under the http source and sink: one keep-alive connection
 * over the transport API, one request at a time.
 *
 * Flow of a GET: abandon the previous response (drain a short rest, or close the connection
 * when more than HTTP_DRAIN_MAX is left) -> connect if needed -> send the request -> read
 * the head with MSG_PEEK, feeding the parser and consuming exactly the head's bytes -> the
 * body is then received by the caller's reads straight into its memory. A reused connection
 * that the server closed while idle is reopened and the request sent once more.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio_http.h"

#define HTTP_DRAIN_MAX (256u * 1024u)
#define HTTP_PEEK 4096u

struct bio_http {
	struct tl_stack *st;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char host[128];
	int s;			/* -1: not connected */
	bool reused;		/* the connection carried a request before */
	uint64_t body_left;	/* bytes of the current response not yet read */
	bool close_after;	/* the current response ends the connection */
	bool head_pending;	/* a request was sent whose response head was not read */
	char reason[160];
	int timeout_ms;		/* a wait's limit: BIO_HTTP_TIMEOUT_MS */
	struct bio_http_stats st_counters;
	char scratch[HTTP_PEEK];	/* peeked heads and drained bodies: never returned */
};

struct bio_http *bio_http_create(struct tl_stack *st, const struct sockaddr *addr,
				 socklen_t addr_len, const char *host)
{
	struct bio_http *h;

	if (st == NULL || addr_len > sizeof(h->addr) || strlen(host) >= sizeof(h->host)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->st = st;
	memcpy(&h->addr, addr, addr_len);
	h->addr_len = addr_len;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->s = -1;
	h->timeout_ms = BIO_HTTP_TIMEOUT_MS;
	return h;
}

void bio_http_set_timeout(struct bio_http *h, int ms)
{
	if (ms > 0)
		h->timeout_ms = ms;
}

static void disconnect(struct bio_http *h)
{
	if (h->s >= 0)
		tl_close(h->st, h->s);
	h->s = -1;
	h->body_left = 0;
}

void bio_http_free(struct bio_http *h)
{
	if (h == NULL)
		return;
	disconnect(h);
	free(h);
}

const char *bio_http_error(const struct bio_http *h)
{
	return h->reason;
}

const struct bio_http_stats *bio_http_stats(const struct bio_http *h)
{
	return &h->st_counters;
}

static int fail(struct bio_http *h, int err, const char *why)
{
	snprintf(h->reason, sizeof(h->reason), "%s", why);
	return err;
}

/* Wait for the server, at most timeout_ms: then -ETIMEDOUT, with the reason. */
static int wait_for(struct bio_http *h, short events)
{
	struct pollfd p = { .fd = h->s, .events = events };
	int rc = tl_poll(h->st, &p, 1, h->timeout_ms);
	char why[96];

	if (rc == 0) {
		snprintf(why, sizeof(why), "the server %s for %d ms", events & POLLIN
			 ? "sent nothing" : "took nothing", h->timeout_ms);
		return fail(h, -ETIMEDOUT, why);
	}
	return rc < 0 ? rc : 0;
}

static ssize_t recv_some(struct bio_http *h, void *buf, size_t len, int flags)
{
	ssize_t n;
	int rc;

	while ((n = tl_recv(h->st, h->s, buf, len, flags)) == -EAGAIN)
		if ((rc = wait_for(h, POLLIN)) < 0)
			return rc;
	return n;
}

static int send_all(struct bio_http *h, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int rc;

	while (done < len) {
		n = tl_send(h->st, h->s, (const char *)buf + done, len - done, 0);
		if (n == -EAGAIN && (rc = wait_for(h, POLLOUT)) < 0)
			return rc;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		if (n > 0)
			done += (size_t)n;
	}
	return 0;
}

/* A non-blocking connect in progress: its outcome, within the timeout. */
static int connect_done(struct bio_http *h)
{
	socklen_t len = sizeof(int);
	int err = 0, rc = wait_for(h, POLLOUT);

	if (rc < 0)
		return rc == -ETIMEDOUT ? fail(h, rc, "the server did not accept the connection "
					       "in time") : rc;
	rc = tl_getsockopt(h->st, h->s, SOL_SOCKET, SO_ERROR, &err, &len);
	return rc < 0 ? rc : -err;
}

static int connect_once(struct bio_http *h)
{
	int s, rc;

	if (h->s >= 0)
		return 0;
	s = tl_socket(h->st);
	if (s < 0)
		return s;
	/* a PUT's head and its body go in separate sends: without this, Nagle holds the body
	 * until the head's delayed ACK (40 ms on Linux) */
	tl_setsockopt_int(h->st, s, IPPROTO_TCP, TCP_NODELAY, 1);
	/* non-blocking, so that every wait, the connect's too, has the timeout */
	rc = tl_set_nonblock(h->st, s, true);
	h->s = s;
	if (rc == 0)
		rc = tl_connect(h->st, s, (const struct sockaddr *)&h->addr, h->addr_len);
	if (rc == -EINPROGRESS || rc == -EAGAIN)
		rc = connect_done(h);
	if (rc < 0) {
		tl_close(h->st, s);
		h->s = -1;
		return rc;
	}
	h->reused = false;
	h->st_counters.connects++;
	return 0;
}

/* Give up the rest of the current response: drain it when short, else drop the connection. */
static void abandon(struct bio_http *h)
{
	ssize_t n;

	if (h->head_pending) {
		h->head_pending = false;
		disconnect(h);	/* an unfinished PUT: the connection's state is unknown */
	}
	if (h->body_left > HTTP_DRAIN_MAX) {
		h->st_counters.abandoned++;
		disconnect(h);
	}
	while (h->body_left > 0) {
		n = recv_some(h, h->scratch, h->body_left < HTTP_PEEK ? h->body_left : HTTP_PEEK, 0);
		if (n <= 0) {
			disconnect(h);
			break;
		}
		h->body_left -= (uint64_t)n;
		h->st_counters.drained += (uint64_t)n;
	}
	if (h->close_after)
		disconnect(h);
	h->close_after = false;
}

/* Read one response head; the body is left in the socket. 1 when the connection closed
 * before any byte of it (the caller may retry on a fresh one), 0, or -errno. */
static int read_head(struct bio_http *h, struct bio_http_resp *r)
{
	size_t used, total = 0;
	ssize_t n;
	int rc;

	bio_http_resp_init(r);
	h->head_pending = false;
	do {
		n = recv_some(h, h->scratch, sizeof(h->scratch), MSG_PEEK);
		if (n == 0 || (n == -ECONNRESET && total == 0))
			return total == 0 ? 1 : fail(h, -EPROTO, "connection closed in the head");
		if (n < 0)
			return (int)n;
		rc = bio_http_resp_parse(r, h->scratch, (size_t)n, &used);
		if (rc < 0)
			return fail(h, rc, r->reason);
		n = recv_some(h, h->scratch, used, 0);	/* consume exactly the head's bytes */
		if (n != (ssize_t)used)
			return n < 0 ? (int)n : fail(h, -EPROTO, "head bytes vanished");
		total += used;
	} while (rc == 0);
	h->body_left = r->status == 204 || r->status == 304 ? 0 : r->content_length;
	h->close_after = !r->keep_alive;
	return 0;
}

/* Send a request head and read the response head, reconnecting once when a reused
 * connection turns out closed. @want_head false (PUT): the caller sends the body first and
 * reads the head itself. */
static int exchange(struct bio_http *h, const char *req, size_t len, struct bio_http_resp *r,
		    bool want_head)
{
	int attempt, rc = 0;

	abandon(h);
	for (attempt = 0; attempt < 2; attempt++) {
		rc = connect_once(h);
		if (rc < 0)
			return rc;
		rc = send_all(h, req, len);
		if (rc == 0 && !want_head) {
			h->head_pending = true;
			break;
		}
		if (rc == 0)
			rc = read_head(h, r);
		if (rc <= 0 && !(rc == -EPIPE || rc == -ECONNRESET))
			break;
		if (!h->reused)
			return rc == 1 ? fail(h, -EPROTO, "connection closed before a response") : rc;
		disconnect(h);	/* the server closed an idle connection: once more */
	}
	if (rc == 1)
		return fail(h, -EPROTO, "connection closed before a response");
	h->st_counters.requests++;
	h->reused = true;
	return rc;
}

struct http_source {
	struct bio_source base;
	struct bio_http *h;
	bool size_known;
	uint64_t size;
	bool open;
	bool eof;		/* the open range lies past the end */
	char path[];
};

static int range_response(struct http_source *hs, struct bio_http_resp *r, uint64_t off)
{
	struct bio_http *h = hs->h;

	if (r->has_range && r->range_total != UINT64_MAX) {
		hs->size = r->range_total;
		hs->size_known = true;
	}
	if (r->status == 206) {
		if (!r->has_range || r->range_unsatisfied || r->range_first != off)
			return fail(h, -EPROTO, "206 without a Content-Range starting at the offset");
		return 0;
	}
	if (r->status == 200 && off == 0) {
		hs->size = r->content_length;
		hs->size_known = true;
		return 0;
	}
	if (r->status == 200)
		return fail(h, -EPROTO, "200 to a Range request: the server ignored Range");
	if (r->status == 416 && hs->size_known && off >= hs->size) {
		hs->eof = true;
		return 0;
	}
	if (r->status == 404)
		return fail(h, -ENOENT, "404 Not Found");
	snprintf(h->reason, sizeof(h->reason), "unexpected status %d to a range GET", r->status);
	return -EPROTO;
}

static int http_open(struct bio_source *src, uint64_t off, uint64_t len)
{
	struct http_source *hs = (struct http_source *)src;
	struct bio_http_resp r;
	char req[512];
	int n, rc;

	hs->open = false;
	hs->eof = false;
	if (hs->size_known && off >= hs->size) {
		hs->open = hs->eof = true;	/* nothing to ask: the range is empty */
		return 0;
	}
	if (len == BIO_TO_END || len > UINT64_MAX - off)
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nRange: bytes=%llu-"
			     "\r\n\r\n", hs->path, hs->h->host, (unsigned long long)off);
	else
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nRange: bytes=%llu-"
			     "%llu\r\n\r\n", hs->path, hs->h->host, (unsigned long long)off,
			     (unsigned long long)(off + len - 1));
	if (n < 0 || (size_t)n >= sizeof(req))
		return fail(hs->h, -ENAMETOOLONG, "request line too long");
	rc = exchange(hs->h, req, (size_t)n, &r, true);
	if (rc < 0)
		return rc;
	rc = range_response(hs, &r, off);
	if (rc < 0 || hs->eof)
		abandon(hs->h);
	hs->open = rc == 0;
	return rc;
}

static ssize_t http_read(struct bio_source *src, void *buf, size_t len)
{
	struct http_source *hs = (struct http_source *)src;
	struct bio_http *h = hs->h;
	ssize_t n;

	if (!hs->open)
		return -EINVAL;
	if (hs->eof || h->body_left == 0) {
		abandon(h);	/* closes the connection when the response asked for it */
		return 0;
	}
	n = recv_some(h, buf, len < h->body_left ? len : (size_t)h->body_left, 0);
	if (n == 0) {
		disconnect(h);
		return fail(h, -EPROTO, "connection closed in the body");
	}
	if (n < 0) {
		disconnect(h);
		return n;
	}
	h->body_left -= (uint64_t)n;
	return n;
}

static int http_size(struct bio_source *src, uint64_t *size)
{
	struct http_source *hs = (struct http_source *)src;
	struct bio_http_resp r;
	char req[512];
	int n, rc;

	if (!hs->size_known) {
		n = snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: %s\r\n\r\n", hs->path,
			     hs->h->host);
		if (n < 0 || (size_t)n >= sizeof(req))
			return fail(hs->h, -ENAMETOOLONG, "request line too long");
		hs->open = false;
		rc = exchange(hs->h, req, (size_t)n, &r, true);
		hs->h->body_left = 0;	/* a HEAD response has no body */
		if (rc < 0)
			return rc;
		if (r.status != 200)
			return r.status == 404 ? fail(hs->h, -ENOENT, "404 Not Found")
					       : fail(hs->h, -EPROTO, "HEAD did not answer 200");
		hs->size = r.content_length;
		hs->size_known = true;
	}
	*size = hs->size;
	return 0;
}

static void http_source_free(struct bio_source *src)
{
	free(src);
}

static const struct bio_source_ops http_source_ops = {
	.name = "http",
	.open = http_open,
	.read = http_read,
	.size = http_size,
	.free = http_source_free,
};

struct bio_source *bio_http_source_create(struct bio_http *h, const char *path)
{
	size_t len = strlen(path);
	struct http_source *hs;

	if (h == NULL || path[0] != '/' || len > 256) {
		errno = EINVAL;
		return NULL;
	}
	hs = calloc(1, sizeof(*hs) + len + 1);
	if (hs == NULL)
		return NULL;
	hs->base.ops = &http_source_ops;
	hs->h = h;
	memcpy(hs->path, path, len + 1);
	return &hs->base;
}

struct http_sink {
	struct bio_sink base;
	struct bio_http *h;
	uint64_t length;
	uint64_t sent;
	bool started;
	char path[];
};

static int put_start(struct http_sink *hk)
{
	char req[512];
	int n;

	n = snprintf(req, sizeof(req), "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %llu\r\n"
		     "\r\n", hk->path, hk->h->host, (unsigned long long)hk->length);
	if (n < 0 || (size_t)n >= sizeof(req))
		return fail(hk->h, -ENAMETOOLONG, "request line too long");
	hk->started = true;
	return exchange(hk->h, req, (size_t)n, NULL, false);
}

static ssize_t http_write(struct bio_sink *snk, const void *buf, size_t len)
{
	struct http_sink *hk = (struct http_sink *)snk;
	ssize_t n;
	int rc;

	if (!hk->started && (rc = put_start(hk)) < 0)
		return rc;
	if (len > hk->length - hk->sent)
		return fail(hk->h, -EFBIG, "write past the PUT's Content-Length");
	while ((n = tl_send(hk->h->st, hk->h->s, buf, len, 0)) == -EAGAIN)
		if ((rc = wait_for(hk->h, POLLOUT)) < 0)
			return rc;
	if (n > 0)
		hk->sent += (uint64_t)n;
	else
		disconnect(hk->h);
	return n;
}

static int http_flush(struct bio_sink *snk)
{
	(void)snk;
	return 0;	/* the bytes are with the transport; only close hears the server */
}

static int http_close(struct bio_sink *snk)
{
	struct http_sink *hk = (struct http_sink *)snk;
	struct bio_http_resp r;
	int rc;

	if (!hk->started && (rc = put_start(hk)) < 0)
		return rc;
	if (hk->sent != hk->length) {
		disconnect(hk->h);
		return fail(hk->h, -EPIPE, "PUT closed before Content-Length bytes were sent");
	}
	rc = read_head(hk->h, &r);
	if (rc != 0) {
		disconnect(hk->h);
		return rc < 0 ? rc : fail(hk->h, -EPROTO, "connection closed before a response");
	}
	abandon(hk->h);
	if (r.status < 200 || r.status > 299) {
		snprintf(hk->h->reason, sizeof(hk->h->reason), "PUT answered %d", r.status);
		return -EPROTO;
	}
	return 0;
}

static void http_sink_free(struct bio_sink *snk)
{
	free(snk);
}

static const struct bio_sink_ops http_sink_ops = {
	.name = "http",
	.write = http_write,
	.flush = http_flush,
	.close = http_close,
	.free = http_sink_free,
};

struct bio_sink *bio_http_sink_create(struct bio_http *h, const char *path, uint64_t length)
{
	size_t len = strlen(path);
	struct http_sink *hk;

	if (h == NULL || path[0] != '/' || len > 256) {
		errno = EINVAL;
		return NULL;
	}
	hk = calloc(1, sizeof(*hk) + len + 1);
	if (hk == NULL)
		return NULL;
	hk->base.ops = &http_sink_ops;
	hk->h = h;
	hk->length = length;
	memcpy(hk->path, path, len + 1);
	return &hk->base;
}
