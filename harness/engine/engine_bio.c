/* SPDX-License-Identifier: MIT */
/*
 * engine_bio.c - the object steps, run for engine.c against the `objects` SUT program over
 * HTTP/1.1 (stack/bio): get and put through the bio reader and writer, raw_get (a plain recv
 * loop: the reference), seek_read (random or in-buffer seeks), cache_read (the page cache
 * under a Zipf workload) and verify.
 *
 * Flow of one step: engine.c exec() -> op_object() -> hx_bio_step() -> the step function,
 * which runs to completion (the bio layer waits inside blocking calls and tl_poll; see
 * engine_bio_pvt.h); then engine.c reads its clock once and hx_bio_account() adds the step's
 * counters to metrics.bio when that reading is inside the window.
 *
 * Every byte read is checked against the pattern: seek_read and cache_read inline (a few KiB
 * each), get and raw_get by the verify step that follows them, outside the measure section,
 * so the time of a whole-object read is the transfer's alone.
 *
 * "One request per miss": a read misses when the source had to give it bytes; each read may
 * open at most one request then, none on a hit. Requests beyond that are extra_requests.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "bio_cache.h"
#include "bio_http.h"
#include "engine_bio_pvt.h"
#include "harness.h"

#define MISMATCH 1		/* a step's return: bytes differ from the pattern */
#define PAGE 4096u
#define RAW_HEAD_ROOM 4096u	/* raw_get: room for the response head before the body */
#define PUT_CHUNK HX_PATTERN_CHUNK	/* put: the application's write size */
#define INBUF_READS 16		/* seek_read inbuffer: reads inside the buffer per step */
#define MAX_MESSAGES 5

struct hx_bio_conn {
	struct bio_http *http;
	struct bio_source *src;		/* the object the reader reads */
	struct bio_reader *rd;
	uint64_t rd_obj;
	uint64_t rd_buf;
	uint8_t *dst;			/* the reused destination of every read */
	size_t dst_cap;
	const uint8_t *last;		/* what verify checks: last_len bytes at object 0 */
	uint64_t last_len;
	int raw_s;			/* raw_get's own connection; -1: none */
	size_t raw_hlen;		/* the last response head's length (0: none yet) */
	struct bio_cache *cache;
	struct bio_source *cache_src;
	uint64_t cache_obj;
	uint64_t cache_pages;
	uint64_t cache_alpha;
	double *cdf;			/* Zipf over the object's pages */
	unsigned int cdf_n;
	uint64_t rng;
	struct tl_stack *st;		/* for raw_s */
	struct hx_bio_metrics d;	/* this step's counts */
};

/* ---- helpers ---- */

static uint64_t rand64(struct hx_bio_conn *bc)
{
	uint64_t z = (bc->rng += UINT64_C(0x9e3779b97f4a7c15));	/* splitmix64 */

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int ensure_http(const struct hx_bio_ctx *x, struct hx_bio_conn *bc)
{
	if (bc->http != NULL)
		return 0;
	bc->http = bio_http_create(x->st, (const struct sockaddr *)x->addr, x->addrlen, "tcplab");
	return bc->http != NULL ? 0 : -errno;
}

static int ensure_dst(struct hx_bio_conn *bc, size_t len)
{
	uint8_t *p;

	if (bc->dst_cap >= len)
		return 0;
	p = realloc(bc->dst, len);	/* never zero-filled: every byte is written first */
	if (p == NULL)
		return -ENOMEM;
	bc->dst = p;
	bc->dst_cap = len;
	return 0;
}

static struct bio_source *object_source(struct hx_bio_conn *bc, uint64_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/obj/%llu", (unsigned long long)size);
	return bio_http_source_create(bc->http, path);
}

/* A reader over /obj/<obj> with @buf bytes of buffer, kept while steps ask the same. */
static int ensure_reader(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, uint64_t obj,
			 uint64_t buf)
{
	int rc = ensure_http(x, bc);

	if (rc < 0)
		return rc;
	if (bc->rd != NULL && bc->rd_obj == obj && bc->rd_buf == buf)
		return 0;
	bio_reader_free(bc->rd);
	bio_source_free(bc->src);
	bc->rd = NULL;
	bc->src = object_source(bc, obj);
	if (bc->src == NULL || (bc->rd = bio_reader_create(bc->src, (size_t)buf)) == NULL)
		return -errno;
	bc->rd_obj = obj;
	bc->rd_buf = buf;
	return 0;
}

static uint64_t http_requests(const struct hx_bio_conn *bc)
{
	return bc->http != NULL ? bio_http_stats(bc->http)->requests : 0;
}

static uint64_t http_connects(const struct hx_bio_conn *bc)
{
	return bc->http != NULL ? bio_http_stats(bc->http)->connects : 0;
}

/* One read of a seek/cache step: @dreq requests it opened, @miss whether it needed the
 * server. */
static void count_read(struct hx_bio_conn *bc, uint64_t dreq, bool miss)
{
	bc->d.reads++;
	if (miss)
		bc->d.misses++;
	else
		bc->d.hits++;
	if (dreq > (miss ? 1u : 0u))
		bc->d.extra_requests += dreq - (miss ? 1u : 0u);
}

/* ---- get, put ---- */

/* The application's reads: one of @len bytes, or @chunk bytes at a time (0: one). */
static int read_chunks(struct bio_reader *r, uint8_t *dst, size_t len, size_t chunk)
{
	size_t off = 0, n;
	int rc = 0;

	if (chunk == 0)
		chunk = len;
	while (off < len && rc == 0) {
		n = len - off < chunk ? len - off : chunk;
		rc = bio_reader_read_exact(r, dst + off, n);
		off += n;
	}
	return rc;
}

static int step_get(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, const struct hx_op *op)
{
	const struct bio_reader_stats *s;
	uint64_t copied, bypass;
	int64_t pos;
	int rc;

	if ((rc = ensure_reader(x, bc, op->arg, op->arg2)) < 0 ||
	    (rc = ensure_dst(bc, (size_t)op->arg)) < 0)
		return rc;
	s = bio_reader_stats(bc->rd);
	copied = s->bytes_copied;
	bypass = s->bypass_reads;
	bc->last = NULL;
	bio_reader_drop(bc->rd);	/* every get fetches the object, never the buffer's copy */
	pos = bio_reader_seek(bc->rd, 0, SEEK_SET);
	if (pos < 0)
		return (int)pos;
	rc = read_chunks(bc->rd, bc->dst, (size_t)op->arg, (size_t)op->arg3);
	if (rc < 0)
		return rc;
	bc->last = bc->dst;
	bc->last_len = op->arg;
	bc->d.bytes_copied += s->bytes_copied - copied;
	bc->d.bypass_reads += s->bypass_reads - bypass;
	return 0;
}

static int put_body(struct bio_writer *w, const struct hx_pattern *pat, uint64_t size)
{
	uint64_t off = 0;
	ssize_t n;

	while (off < size) {
		size_t len = size - off < PUT_CHUNK ? (size_t)(size - off) : PUT_CHUNK;

		n = bio_writer_write(w, hx_pattern_at(pat, off), len);
		if (n < 0)
			return (int)n;
		off += (uint64_t)n;
		if ((size_t)n < len)
			return bio_writer_flush(w) ?: -EIO;	/* the sink failed part way */
	}
	return 0;
}

/* PUT /obj/w of op->arg bytes through a writer; done when the server acknowledged them. */
static int step_put(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, const struct hx_op *op)
{
	struct bio_writer_stats ws = { 0 };
	struct bio_writer *w = NULL;
	struct bio_sink *snk;
	int rc;

	if ((rc = ensure_http(x, bc)) < 0)
		return rc;
	snk = bio_http_sink_create(bc->http, "/obj/w", op->arg);
	if (snk == NULL || (w = bio_writer_create(snk, (size_t)op->arg2, &ws)) == NULL) {
		rc = -errno;
		goto out_free;
	}
	rc = put_body(w, x->pattern, op->arg);
	if (rc == 0)
		rc = bio_writer_close(w);
	if (rc == 0) {
		bc->d.puts++;
		bc->d.acked_bytes += bio_writer_acked(w);
	}
	bc->d.bytes_copied += ws.bytes_copied;
out_free:
	bio_writer_free(w);	/* not closed after a failure: reported as dropped */
	bio_sink_free(snk);
	return rc;
}

/* ---- raw_get: the reference, a plain recv loop into the same destination ---- */

/* As the bio client's waits: at most BIO_HTTP_TIMEOUT_MS for the server. */
static int raw_wait(const struct hx_bio_ctx *x, int s, short events)
{
	struct pollfd p = { .fd = s, .events = events };
	int rc = tl_poll(x->st, &p, 1, BIO_HTTP_TIMEOUT_MS);

	return rc == 0 ? -ETIMEDOUT : rc < 0 ? rc : 0;
}

static int raw_connect(const struct hx_bio_ctx *x, struct hx_bio_conn *bc)
{
	int s, rc;

	if (bc->raw_s >= 0)
		return 0;
	s = tl_socket(x->st);
	if (s < 0)
		return s;
	tl_setsockopt_int(x->st, s, IPPROTO_TCP, TCP_NODELAY, 1);
	rc = tl_connect(x->st, s, (const struct sockaddr *)x->addr, x->addrlen);
	if (rc < 0) {
		tl_close(x->st, s);
		return rc;
	}
	bc->raw_s = s;
	bc->d.connects++;
	return 0;
}

static int raw_send(const struct hx_bio_ctx *x, int s, const char *req, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = tl_send(x->st, s, req + done, len - done, 0);
		if (n == -EAGAIN && raw_wait(x, s, POLLOUT) == 0)
			continue;
		if (n < 0)
			return (int)n;
		done += (size_t)n;
	}
	return 0;
}

static ssize_t raw_recv(const struct hx_bio_ctx *x, int s, uint8_t *buf, size_t len)
{
	ssize_t n;
	int rc;

	while ((n = tl_recv(x->st, s, buf, len, 0)) == -EAGAIN)
		if ((rc = raw_wait(x, s, POLLIN)) < 0)
			return rc;
	return n == 0 ? -EPROTO : n;	/* the server closed before the body's end */
}

/* Receive into @buf until the head is whole; its length in *hlen. */
static int raw_head(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, uint8_t *buf,
		    size_t cap, uint64_t size, size_t *got, size_t *hlen)
{
	struct bio_http_resp r;
	size_t used = 0;
	ssize_t n;
	int rc = 0;

	bio_http_resp_init(&r);
	*got = 0;
	while (rc == 0) {
		n = raw_recv(x, bc->raw_s, buf + *got, cap - *got);
		if (n < 0)
			return (int)n;
		rc = bio_http_resp_parse(&r, (const char *)buf + *got, (size_t)n, &used);
		*got += (size_t)n;
		if (rc == 0 && *got >= RAW_HEAD_ROOM)
			return -EPROTO;
	}
	if (rc < 0)
		return rc;
	*hlen = *got - ((size_t)n - used);
	if (r.status != 200 || r.content_length != size || !r.keep_alive)
		return -EPROTO;
	return 0;
}

/*
 * The body lands at dst + start + hlen. The head's length repeats from one response to the
 * next, so start is chosen to put the body at dst + RAW_HEAD_ROOM: aligned as the reader's
 * destination dst is (a misaligned one makes the kernel's copy slower).
 */
static int step_raw_get(const struct hx_bio_ctx *x, struct hx_bio_conn *bc,
			const struct hx_op *op)
{
	size_t got = 0, hlen = 0, end, start;
	uint8_t *buf;
	char req[128];
	ssize_t n;
	int len, rc;

	bc->last = NULL;
	if ((rc = ensure_dst(bc, (size_t)op->arg + RAW_HEAD_ROOM)) < 0 ||
	    (rc = raw_connect(x, bc)) < 0)
		return rc;
	len = snprintf(req, sizeof(req), "GET /obj/%llu HTTP/1.1\r\nHost: tcplab\r\n\r\n",
		       (unsigned long long)op->arg);
	if ((rc = raw_send(x, bc->raw_s, req, (size_t)len)) < 0)
		return rc;
	bc->d.requests++;
	start = bc->raw_hlen > 0 && bc->raw_hlen < RAW_HEAD_ROOM ? RAW_HEAD_ROOM - bc->raw_hlen : 0;
	buf = bc->dst + start;
	rc = raw_head(x, bc, buf, bc->dst_cap - start, op->arg, &got, &hlen);
	if (rc < 0)
		return rc;
	bc->raw_hlen = hlen;
	end = hlen + (size_t)op->arg;
	while (got < end) {
		n = raw_recv(x, bc->raw_s, buf + got, end - got);
		if (n < 0)
			return (int)n;
		got += (size_t)n;
	}
	if (got != end)
		return -EPROTO;	/* bytes past the body: the server answered more than asked */
	bc->last = buf + hlen;
	bc->last_len = op->arg;
	return 0;
}

/* ---- seek_read ---- */

/* Seek to @off and read @len bytes there, checking them; count the read. */
static int seek_and_read(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, uint64_t off,
			 size_t len)
{
	const struct bio_reader_stats *s = bio_reader_stats(bc->rd);
	uint64_t req = http_requests(bc), src = s->source_bytes;
	int64_t pos;
	int rc;

	pos = bio_reader_seek(bc->rd, (int64_t)off, SEEK_SET);
	if (pos < 0)
		return (int)pos;
	rc = bio_reader_read_exact(bc->rd, bc->dst, len);
	if (rc < 0)
		return rc;
	count_read(bc, http_requests(bc) - req, s->source_bytes != src);
	return hx_pattern_check(x->pattern, bc->dst, len, off) ? 0 : MISMATCH;
}

/* A seek that drops the buffer, one fill (the step's one miss), then reads at random places
 * inside what the fill buffered, forward and backward: hits with no request. */
static int seek_inbuffer(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, uint64_t obj,
			 size_t rsz)
{
	uint64_t cap = bc->rd_buf ? bc->rd_buf : BIO_DEFAULT_BUF_SIZE;
	uint64_t slots = obj > cap ? (obj - cap) / cap + 1 : 1, base = rand64(bc) % slots * cap;
	uint64_t req = http_requests(bc), src;
	const uint8_t *data;
	unsigned int i;
	ssize_t n;
	int rc;

	src = bio_reader_stats(bc->rd)->source_bytes;
	if (bio_reader_seek(bc->rd, (int64_t)base, SEEK_SET) < 0)
		return -EINVAL;
	n = bio_reader_fill(bc->rd, &data);
	if (n <= 0)
		return n < 0 ? (int)n : -ENODATA;
	count_read(bc, http_requests(bc) - req, bio_reader_stats(bc->rd)->source_bytes != src);
	if ((size_t)n < rsz)
		rsz = (size_t)n;
	for (i = 0; i < INBUF_READS; i++) {
		uint64_t off = base + rand64(bc) % ((uint64_t)n - rsz + 1);

		rc = seek_and_read(x, bc, off, rsz);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int step_seek(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, const struct hx_op *op)
{
	uint64_t buf = op->arg3 & ~(UINT64_C(1) << 62), rsz = op->arg2, slots;
	const struct bio_reader_stats *s;
	uint64_t in_buf, dropped, copied;
	int rc;

	if ((rc = ensure_reader(x, bc, op->arg, buf)) < 0 ||
	    (rc = ensure_dst(bc, (size_t)rsz)) < 0)
		return rc;
	s = bio_reader_stats(bc->rd);
	in_buf = s->seeks_in_buffer;
	dropped = s->seeks_dropped;
	copied = s->bytes_copied;
	if (op->arg3 >> 62) {
		rc = seek_inbuffer(x, bc, op->arg, (size_t)rsz);
	} else {
		/* offsets 2 x READSIZE apart: a read never starts where the last one ended */
		slots = (op->arg - rsz) / (2 * rsz) + 1;
		rc = seek_and_read(x, bc, rand64(bc) % slots * 2 * rsz, (size_t)rsz);
	}
	bc->d.seeks_in_buffer += s->seeks_in_buffer - in_buf;
	bc->d.seeks_dropped += s->seeks_dropped - dropped;
	bc->d.bytes_copied += s->bytes_copied - copied;
	return rc;
}

/* ---- cache_read ---- */

static int cache_load(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		      uint64_t pgno, uint8_t *data, size_t len)
{
	struct hx_bio_conn *bc = ctx;
	const struct bio_source_ops *ops = bc->cache_src->ops;
	size_t got = 0;
	ssize_t n = 0;
	int rc;

	(void)c;
	(void)p;
	(void)obj;
	rc = ops->open(bc->cache_src, pgno * PAGE, len);
	while (rc == 0 && got < len) {
		n = ops->read(bc->cache_src, data + got, len - got);
		if (n <= 0)
			break;	/* the object ends inside this page */
		got += (size_t)n;
	}
	if (n < 0)
		return (int)n;
	return rc;
}

static int cache_store(void *ctx, struct bio_cache *c, struct bio_page *p, uint64_t obj,
		       uint64_t pgno, const uint8_t *data, size_t len)
{
	(void)ctx, (void)c, (void)p, (void)obj, (void)pgno, (void)data, (void)len;
	return -EROFS;	/* cache_read never dirties a page */
}

static const struct bio_cache_store_ops http_store = {
	.name = "http",
	.load = cache_load,
	.store = cache_store,
};

static int zipf_init(struct hx_bio_conn *bc, unsigned int n, double alpha)
{
	double sum = 0;
	unsigned int i;

	free(bc->cdf);
	bc->cdf = malloc(n * sizeof(*bc->cdf));
	if (bc->cdf == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		bc->cdf[i] = (sum += 1.0 / pow((double)(i + 1), alpha));
	for (i = 0; i < n; i++)
		bc->cdf[i] /= sum;
	bc->cdf_n = n;
	return 0;
}

static uint64_t zipf_page(struct hx_bio_conn *bc)
{
	double u = (double)(rand64(bc) >> 11) * 0x1.0p-53;
	unsigned int lo = 0, hi = bc->cdf_n - 1;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (bc->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ensure_cache(const struct hx_bio_ctx *x, struct hx_bio_conn *bc,
			const struct hx_op *op)
{
	struct bio_cache_params p = { .page_size = PAGE, .pages = (unsigned int)op->arg2,
				      .store = &http_store, .store_ctx = bc };
	int rc = ensure_http(x, bc);

	if (rc < 0)
		return rc;
	if (bc->cache != NULL && bc->cache_obj == op->arg && bc->cache_pages == op->arg2 &&
	    bc->cache_alpha == op->arg3)
		return 0;
	bio_cache_free(bc->cache);
	bio_source_free(bc->cache_src);
	bc->cache = NULL;
	bc->cache_src = object_source(bc, op->arg);
	if (bc->cache_src == NULL || (bc->cache = bio_cache_create(&p)) == NULL)
		return -errno;
	bc->cache_obj = op->arg;
	bc->cache_pages = op->arg2;
	bc->cache_alpha = op->arg3;
	return zipf_init(bc, (unsigned int)((op->arg + PAGE - 1) / PAGE),
			 (double)op->arg3 / 1000.0);
}

/* One page-sized read at a Zipf-chosen page through the page cache. */
static int step_cache(const struct hx_bio_ctx *x, struct hx_bio_conn *bc, const struct hx_op *op)
{
	const struct bio_cache_stats *cs;
	uint64_t pg, misses, req;
	size_t len;
	int rc;

	if ((rc = ensure_cache(x, bc, op)) < 0 || (rc = ensure_dst(bc, PAGE)) < 0)
		return rc;
	cs = bio_cache_stats(bc->cache);
	pg = zipf_page(bc);
	len = op->arg - pg * PAGE < PAGE ? (size_t)(op->arg - pg * PAGE) : PAGE;
	misses = cs->misses;
	req = http_requests(bc);
	rc = bio_cache_read(bc->cache, 0, pg, 0, bc->dst, len);
	if (rc < 0)
		return rc;
	count_read(bc, http_requests(bc) - req, cs->misses != misses);
	return hx_pattern_check(x->pattern, bc->dst, len, pg * PAGE) ? 0 : MISMATCH;
}

/* ---- the step ---- */

static int step_verify(const struct hx_bio_ctx *x, struct hx_bio_conn *bc)
{
	if (bc->last == NULL)
		return -ENODATA;	/* no whole object was read just before */
	return hx_pattern_check(x->pattern, bc->last, (size_t)bc->last_len, 0) ? 0 : MISMATCH;
}

static uint64_t app_bytes(const struct hx_op *op)
{
	switch (op->code) {
	case HX_OP_OBJ_GET:
	case HX_OP_OBJ_RAW_GET:
	case HX_OP_OBJ_PUT: return op->arg;
	case HX_OP_OBJ_SEEK: return op->arg2 * (op->arg3 >> 62 ? INBUF_READS : 1);
	case HX_OP_OBJ_CACHE: return PAGE;
	default: return 0;
	}
}

void hx_bio_account(struct hx_metrics *m, const struct hx_bio_conn *bc, const struct hx_op *op,
		    bool in_window)
{
	struct hx_bio_metrics *b = &m->bio;
	const struct hx_bio_metrics *d = &bc->d;
	uint64_t bytes = app_bytes(op);
	bool put = op->code == HX_OP_OBJ_PUT;

	b->used = true;
	b->put_acked |= put;
	*(put ? &m->total_bytes_sent : &m->total_bytes_received) += bytes;
	if (!in_window)
		return;
	*(put ? &m->bytes_sent : &m->bytes_received) += bytes;
	b->requests += d->requests;
	b->extra_requests += d->extra_requests;
	b->reads += d->reads;
	b->hits += d->hits;
	b->misses += d->misses;
	b->seeks_in_buffer += d->seeks_in_buffer;
	b->seeks_dropped += d->seeks_dropped;
	b->bytes_copied += d->bytes_copied;
	b->bypass_reads += d->bypass_reads;
	b->connects += d->connects;
	b->puts += d->puts;
	b->acked_bytes += d->acked_bytes;
}

static enum hx_error error_of(int rc)
{
	switch (rc) {
	case MISMATCH: return HX_ERR_DATA_MISMATCH;
	case -ECONNRESET:
	case -EPIPE: return HX_ERR_RESET;
	case -ECONNREFUSED: return HX_ERR_CONNECT_REFUSED;
	case -ETIMEDOUT: return HX_ERR_TIMEOUT;
	default: return HX_ERR_OBJECT;
	}
}

static void report_failure(const struct hx_bio_ctx *x, struct hx_bio_conn *bc,
			   const struct hx_op *op, int rc)
{
	const char *why = bc->http != NULL ? bio_http_error(bc->http) : "";

	if (x->m->bio.messages++ >= MAX_MESSAGES)
		return;
	fprintf(stderr, "tcplab: object step at line %u failed: %s%s%s\n", op->line,
		rc == MISMATCH ? "bytes differ from the pattern" : strerror(-rc),
		*why ? ": " : "", why);
}

static struct hx_bio_conn *conn_create(void)
{
	struct hx_bio_conn *bc = calloc(1, sizeof(*bc));

	if (bc == NULL)
		return NULL;
	bc->raw_s = -1;
	bc->rng = UINT64_C(0x7463706c6162);	/* "tcplab": the same sequence every run */
	return bc;
}

int hx_bio_step(const struct hx_bio_ctx *x, struct hx_bio_conn **bcp, const struct hx_op *op,
		enum hx_error *why)
{
	struct hx_bio_conn *bc = *bcp;
	uint64_t req, conn;
	int rc;

	if (bc == NULL && (bc = *bcp = conn_create()) == NULL) {
		*why = HX_ERR_OBJECT;
		return -1;
	}
	memset(&bc->d, 0, sizeof(bc->d));
	bc->st = x->st;
	req = http_requests(bc);
	conn = http_connects(bc);
	switch (op->code) {
	case HX_OP_OBJ_GET: rc = step_get(x, bc, op); break;
	case HX_OP_OBJ_PUT: rc = step_put(x, bc, op); break;
	case HX_OP_OBJ_RAW_GET: rc = step_raw_get(x, bc, op); break;
	case HX_OP_OBJ_SEEK: rc = step_seek(x, bc, op); break;
	case HX_OP_OBJ_CACHE: rc = step_cache(x, bc, op); break;
	case HX_OP_OBJ_VERIFY: rc = step_verify(x, bc); break;
	default: rc = -EINVAL; break;
	}
	bc->d.requests += http_requests(bc) - req;
	bc->d.connects += http_connects(bc) - conn;
	if (rc != 0) {
		report_failure(x, bc, op, rc);
		*why = error_of(rc);
		return -1;
	}
	return 0;
}

void hx_bio_conn_free(struct hx_bio_conn *bc)
{
	if (bc == NULL)
		return;
	bio_cache_free(bc->cache);
	bio_source_free(bc->cache_src);
	bio_reader_free(bc->rd);
	bio_source_free(bc->src);
	bio_http_free(bc->http);
	if (bc->raw_s >= 0)
		tl_close(bc->st, bc->raw_s);
	free(bc->cdf);
	free(bc->dst);
	free(bc);
}
