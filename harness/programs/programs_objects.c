/* SPDX-License-Identifier: MIT */
/*
 * programs_objects.c - the `objects` SUT program: a small HTTP/1.1 object server over the
 * transport API, non-blocking like the other programs (serve.c polls, calls ready()).
 *
 *   GET|HEAD /obj/<bytes>   an object of that many bytes holding the tcplab pattern (byte at
 *                           offset o is o mod 251, engine/pattern.h), so a reader verifies
 *                           every byte without either side storing it. Range: bytes=a-b,
 *                           a- and -n (one range, RFC 9110 14.1.2) answer 206 with
 *                           Content-Range; a first byte past the end answers 416.
 *   PUT /obj/<name>         Content-Length bytes, each checked against the pattern; 201 only
 *                           once the last byte arrived (a writer's close means acknowledged),
 *                           422 when a byte differed (counted in stats.mismatches).
 *
 * Keep-alive (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive"), and
 * pipelined requests are answered in order. A malformed request is answered 400 (431 for a
 * head over OBJ_HEAD_MAX, 411 a PUT without length, 501 Transfer-Encoding, 405 another method)
 * and the connection is closed after the server's side is shut and the peer's rest drained,
 * so the peer reads the answer instead of a reset.
 *
 * Per-connection state lives in the connection's c->buf (HX_SERVE_BUF bytes, allocated and
 * freed by serve.c). serve.c zeroes struct hx_sconn for every new connection, so
 * c->pend_off == 0 marks state not yet set up.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "programs.h"

#define OBJ_HEAD_MAX 8192		/* longest request head accepted */
#define OBJ_SIZE_MAX (UINT64_C(1) << 40)	/* largest object served: 1 TiB */
#define OBJ_NAME_MAX 64
#define OBJ_DRAIN_MAX (1u << 20)	/* bytes read from a peer being closed before a reset */

enum phase {
	PH_HEAD,	/* reading a request head */
	PH_PUT_BODY,	/* reading (and checking) a PUT body */
	PH_SEND,	/* sending a response head and body */
	PH_DRAIN,	/* our side shut; discarding the peer's rest until EOF */
};

struct obj_conn {
	enum phase phase;
	bool close_after;	/* close once the response is out */
	bool put_bad;		/* a PUT body byte differed from the pattern */
	size_t head_len;	/* bytes in head[] */
	size_t out_len;		/* response head bytes in out[] */
	size_t out_off;
	uint64_t body_off;	/* GET: next object byte to send ... */
	uint64_t body_end;	/* ... up to here */
	uint64_t put_off;	/* PUT: object offset of the next body byte */
	uint64_t put_left;
	uint64_t drained;
	char out[512];
	char head[OBJ_HEAD_MAX];
};

_Static_assert(sizeof(struct obj_conn) <= HX_SERVE_BUF, "objects state must fit c->buf");

/* A parsed request head. */
struct request {
	char method[8];
	char target[OBJ_NAME_MAX + 16];
	int minor;		/* HTTP/1.minor */
	bool has_length;
	uint64_t length;
	bool has_range;
	char range[96];
	bool conn_close;
	bool conn_keep;
	bool chunked;
};

static struct obj_conn *state(struct hx_sconn *c)
{
	struct obj_conn *o = (struct obj_conn *)c->buf;

	if (c->pend_off == 0) {
		memset(o, 0, offsetof(struct obj_conn, out));
		c->pend_off = 1;
	}
	return o;
}

static short objects_events(const struct hx_sconn *c)
{
	const struct obj_conn *o = (const struct obj_conn *)c->buf;

	if (c->pend_off == 0)
		return POLLIN;
	return o->phase == PH_SEND ? POLLOUT : POLLIN;
}

/* ---- parsing ---- */

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

static bool token_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* Whether a comma-separated header value lists @word (Connection: keep-alive, Upgrade). */
static bool lists(const char *v, size_t len, const char *word)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (token_is(v + start, i - start, word))
			return true;
	}
	return false;
}

static int parse_request_line(struct request *rq, const char *l, size_t len)
{
	const char *sp1 = memchr(l, ' ', len), *sp2;
	size_t mlen, tlen;

	if (sp1 == NULL)
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - l));
	if (sp2 == NULL)
		return -EINVAL;
	mlen = (size_t)(sp1 - l);
	tlen = (size_t)(sp2 - sp1 - 1);
	if (mlen == 0 || mlen >= sizeof(rq->method) || tlen == 0 || tlen >= sizeof(rq->target))
		return -EINVAL;
	if (l + len - (sp2 + 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return -EINVAL;
	memcpy(rq->method, l, mlen);
	rq->method[mlen] = '\0';
	memcpy(rq->target, sp1 + 1, tlen);
	rq->target[tlen] = '\0';
	rq->minor = sp2[8] - '0';
	return 0;
}

static int parse_header(struct request *rq, const char *l, size_t len)
{
	const char *colon = memchr(l, ':', len), *v;
	size_t nlen, vlen;

	if (colon == NULL || colon == l || l[0] == ' ' || l[0] == '\t')
		return -EINVAL;	/* no name, or obsolete line folding (RFC 9112 5.2) */
	nlen = (size_t)(colon - l);
	if (memchr(l, ' ', nlen) != NULL || memchr(l, '\t', nlen) != NULL)
		return -EINVAL;
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (token_is(l, nlen, "content-length")) {
		uint64_t n;

		if (parse_u64(v, vlen, &n) < 0 || (rq->has_length && n != rq->length))
			return -EINVAL;
		rq->has_length = true;
		rq->length = n;
	} else if (token_is(l, nlen, "range")) {
		if (rq->has_range || vlen >= sizeof(rq->range))
			return -EINVAL;
		memcpy(rq->range, v, vlen);
		rq->range[vlen] = '\0';
		rq->has_range = true;
	} else if (token_is(l, nlen, "connection")) {
		rq->conn_close |= lists(v, vlen, "close");
		rq->conn_keep |= lists(v, vlen, "keep-alive");
	} else if (token_is(l, nlen, "transfer-encoding")) {
		rq->chunked = true;
	}
	return 0;
}

/* Parse head[0, len) (it ends with CRLF CRLF). 0 or -EINVAL. */
static int parse_head(struct request *rq, const char *head, size_t len)
{
	const char *l = head, *end = head + len - 2, *eol;
	bool first = true;

	memset(rq, 0, sizeof(*rq));
	while (l < end) {
		eol = memchr(l, '\r', (size_t)(end - l) + 1);
		if (eol == NULL || eol[1] != '\n')
			return -EINVAL;	/* a bare CR or LF */
		if (memchr(l, '\n', (size_t)(eol - l)) != NULL)
			return -EINVAL;
		if (first ? parse_request_line(rq, l, (size_t)(eol - l)) < 0
			  : parse_header(rq, l, (size_t)(eol - l)) < 0)
			return -EINVAL;
		first = false;
		l = eol + 2;
	}
	return first ? -EINVAL : 0;
}

/* "/obj/<bytes>" -> size; -ENOENT for another path. */
static int object_size(const char *target, uint64_t *size)
{
	if (strncmp(target, "/obj/", 5) != 0)
		return -ENOENT;
	if (parse_u64(target + 5, strlen(target + 5), size) < 0 || *size > OBJ_SIZE_MAX)
		return -ENOENT;
	return 0;
}

static bool valid_name(const char *target)
{
	const char *s = target + 5;
	size_t n = strlen(s), i;

	if (strncmp(target, "/obj/", 5) != 0 || n == 0 || n > OBJ_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/*
 * "bytes=a-b", "bytes=a-", "bytes=-n" against an object of @size bytes. 1: satisfiable,
 * [*first, *last]; 0: not satisfiable (416); -EINVAL: not a single byte range.
 */
static int parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *dash;
	uint64_t a, b;

	if (strncasecmp(v, "bytes=", 6) != 0)
		return -EINVAL;
	v += 6;
	dash = strchr(v, '-');
	if (dash == NULL)
		return -EINVAL;
	if (dash == v) {	/* suffix: the last n bytes */
		if (parse_u64(dash + 1, strlen(dash + 1), &b) < 0)
			return -EINVAL;
		if (b == 0 || size == 0)
			return 0;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (parse_u64(v, (size_t)(dash - v), &a) < 0)
		return -EINVAL;
	if (dash[1] == '\0')
		b = UINT64_MAX;
	else if (parse_u64(dash + 1, strlen(dash + 1), &b) < 0 || b < a)
		return -EINVAL;
	if (a >= size)
		return 0;
	*first = a;
	*last = b < size - 1 ? b : size - 1;
	return 1;
}

/* ---- responses ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	default: return "Unknown";
	}
}

/* Queue a response head; @extra: more header lines (each ending CRLF) or "". */
static void respond(struct obj_conn *o, int status, uint64_t length, const char *extra)
{
	int n = snprintf(o->out, sizeof(o->out), "HTTP/1.1 %d %s\r\nContent-Length: %llu\r\n%s%s"
			 "\r\n", status, reason(status), (unsigned long long)length, extra,
			 o->close_after ? "Connection: close\r\n" : "");

	o->out_len = n > 0 && (size_t)n < sizeof(o->out) ? (size_t)n : 0;
	o->out_off = 0;
	o->phase = PH_SEND;
}

static void respond_error(struct obj_conn *o, int status)
{
	o->close_after = true;
	o->body_off = o->body_end = 0;
	respond(o, status, 0, status == 405 ? "Allow: GET, HEAD, PUT\r\n" : "");
}

static void answer_get(struct obj_conn *o, const struct request *rq, bool head_only)
{
	char extra[160];
	uint64_t size, first = 0, last = 0;
	int r = 1;

	if (object_size(rq->target, &size) < 0) {
		o->body_off = o->body_end = 0;
		respond(o, 404, 0, "");
		return;
	}
	if (rq->has_range && (r = parse_range(rq->range, size, &first, &last)) < 0) {
		respond_error(o, 400);
		return;
	}
	if (r == 0) {
		snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
			 (unsigned long long)size);
		o->body_off = o->body_end = 0;
		respond(o, 416, 0, extra);
		return;
	}
	if (!rq->has_range) {
		o->body_off = 0;
		o->body_end = size;
		respond(o, 200, size, "Accept-Ranges: bytes\r\n");
	} else {
		snprintf(extra, sizeof(extra), "Content-Range: bytes %llu-%llu/%llu\r\n",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)size);
		o->body_off = first;
		o->body_end = last + 1;
		respond(o, 206, last + 1 - first, extra);
	}
	if (head_only)
		o->body_end = o->body_off;
}

static void start_put(struct obj_conn *o, const struct request *rq)
{
	if (!valid_name(rq->target)) {
		respond_error(o, 400);
		return;
	}
	if (!rq->has_length) {
		respond_error(o, 411);
		return;
	}
	o->put_off = 0;
	o->put_left = rq->length;
	o->put_bad = false;
	o->phase = PH_PUT_BODY;
}

static void finish_put(struct hx_serve *sv, struct obj_conn *o)
{
	o->body_off = o->body_end = 0;
	if (o->put_bad)
		sv->stats.mismatches++;
	respond(o, o->put_bad ? 422 : 201, 0, "");
}

/* Take in PUT body bytes at @data; returns how many belonged to the body. */
static size_t put_bytes(struct hx_serve *sv, struct obj_conn *o, const uint8_t *data, size_t len)
{
	size_t n = len < o->put_left ? len : (size_t)o->put_left;

	if (!o->put_bad && !hx_pattern_check(&sv->pattern, data, n, o->put_off))
		o->put_bad = true;
	o->put_off += n;
	o->put_left -= n;
	if (o->put_left == 0)
		finish_put(sv, o);
	return n;
}

/* A complete head of @hlen bytes is in head[]: answer it, then keep what follows. */
static void dispatch(struct hx_serve *sv, struct obj_conn *o, size_t hlen)
{
	struct request rq;
	size_t used = hlen;

	if (parse_head(&rq, o->head, hlen) < 0) {
		respond_error(o, 400);
		o->head_len = 0;
		return;
	}
	o->close_after = rq.conn_close || (rq.minor == 0 && !rq.conn_keep);
	if (rq.chunked)
		respond_error(o, 501);
	else if (strcmp(rq.method, "GET") == 0 || strcmp(rq.method, "HEAD") == 0)
		answer_get(o, &rq, rq.method[0] == 'H');
	else if (strcmp(rq.method, "PUT") == 0)
		start_put(o, &rq);
	else
		respond_error(o, 405);
	if (o->phase == PH_PUT_BODY && o->head_len > hlen)
		used += put_bytes(sv, o, (const uint8_t *)o->head + hlen, o->head_len - hlen);
	if (o->close_after && o->phase == PH_SEND)
		used = o->head_len;	/* nothing after this request will be answered */
	memmove(o->head, o->head + used, o->head_len - used);
	o->head_len -= used;
}

/* The end of the head in head[0, len): its length, or 0 when not complete. */
static size_t head_end(const char *h, size_t len)
{
	size_t i;

	for (i = 3; i < len; i++)
		if (h[i] == '\n' && h[i - 1] == '\r' && h[i - 2] == '\n' && h[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* ---- the phases ---- */

/* 1: went on to another phase; 0: would block; <0 error. */
static int read_head(struct hx_serve *sv, struct hx_sconn *c, struct obj_conn *o)
{
	size_t hlen = head_end(o->head, o->head_len);
	ssize_t n;

	while (hlen == 0) {
		if (o->head_len == sizeof(o->head)) {
			respond_error(o, 431);
			o->head_len = 0;
			return 1;
		}
		n = tl_recv(sv->st, c->s, o->head + o->head_len, sizeof(o->head) - o->head_len, 0);
		if (n == -EAGAIN)
			return 0;
		if (n == 0)
			return o->head_len == 0 ? 2 : -EPROTO;	/* EOF between requests: done */
		if (n < 0)
			return (int)n;
		sv->stats.bytes_in += (uint64_t)n;
		o->head_len += (size_t)n;
		hlen = head_end(o->head, o->head_len);
	}
	dispatch(sv, o, hlen);
	return 1;
}

static int read_put_body(struct hx_serve *sv, struct hx_sconn *c, struct obj_conn *o)
{
	ssize_t n;

	while (o->phase == PH_PUT_BODY) {
		size_t want = o->put_left < sizeof(sv->scratch) ? (size_t)o->put_left
								 : sizeof(sv->scratch);

		n = tl_recv(sv->st, c->s, sv->scratch, want, 0);
		if (n == -EAGAIN)
			return 0;
		if (n == 0)
			return -EPROTO;	/* the PUT ended early: no answer, no acknowledgement */
		if (n < 0)
			return (int)n;
		sv->stats.bytes_in += (uint64_t)n;
		put_bytes(sv, o, sv->scratch, (size_t)n);
	}
	return 1;
}

static ssize_t send_some(struct hx_serve *sv, struct hx_sconn *c, struct obj_conn *o)
{
	uint64_t left = o->body_end - o->body_off;
	size_t blen = left < HX_PATTERN_CHUNK ? (size_t)left : HX_PATTERN_CHUNK;
	struct iovec iov[2];
	int n = 0;

	if (o->out_off < o->out_len)
		iov[n++] = (struct iovec){ o->out + o->out_off, o->out_len - o->out_off };
	if (blen > 0)
		iov[n++] = (struct iovec){ (void *)hx_pattern_at(&sv->pattern, o->body_off), blen };
	return n == 1 ? tl_send(sv->st, c->s, iov[0].iov_base, iov[0].iov_len, 0)
		      : tl_sendv(sv->st, c->s, iov, n);
}

/* Send the response; then the next request, or shut down when the response ends it. */
static int send_response(struct hx_serve *sv, struct hx_sconn *c, struct obj_conn *o)
{
	size_t head;
	ssize_t n;

	while (o->out_off < o->out_len || o->body_off < o->body_end) {
		n = send_some(sv, c, o);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		sv->stats.bytes_out += (uint64_t)n;
		head = o->out_len - o->out_off;
		if ((size_t)n <= head) {
			o->out_off += (size_t)n;
		} else {
			o->out_off = o->out_len;
			o->body_off += (uint64_t)n - head;
		}
	}
	if (!o->close_after) {
		o->phase = PH_HEAD;
		return 1;
	}
	tl_shutdown(sv->st, c->s, SHUT_WR);
	o->phase = PH_DRAIN;
	return 1;
}

static int drain(struct hx_serve *sv, struct hx_sconn *c, struct obj_conn *o)
{
	ssize_t n;

	for (;;) {
		n = tl_recv(sv->st, c->s, sv->scratch, sizeof(sv->scratch), 0);
		if (n == -EAGAIN)
			return 0;
		if (n == 0)
			return 2;
		if (n < 0)
			return (int)n;
		sv->stats.bytes_in += (uint64_t)n;
		o->drained += (uint64_t)n;
		if (o->drained > OBJ_DRAIN_MAX)
			return -EPROTO;
	}
}

static int objects_ready(struct hx_serve *sv, struct hx_sconn *c, short revents)
{
	struct obj_conn *o = state(c);
	int r;

	(void)revents;
	do {
		switch (o->phase) {
		case PH_HEAD: r = read_head(sv, c, o); break;
		case PH_PUT_BODY: r = read_put_body(sv, c, o); break;
		case PH_SEND: r = send_response(sv, c, o); break;
		case PH_DRAIN: r = drain(sv, c, o); break;
		default: r = -EINVAL; break;
		}
	} while (r == 1);
	return r == 2 ? 1 : r;
}

const struct hx_program hx_program_objects = {
	.name = "objects",
	.description = "HTTP/1.1 objects: GET /obj/<bytes> (Range) of the pattern, PUT verified",
	.events = objects_events,
	.ready = objects_ready,
};
