/* SPDX-License-Identifier: MIT */
/*
 * reader.c - the buffered reader: user reads -> buffer (or straight into the caller) ->
 * source requests.
 *
 * The buffer holds the object bytes [boff, boff + blen); the position pos lies in
 * [boff, boff + blen] while the buffer is kept. The source has at most one request open,
 * which next returns the byte at req_next.
 *
 * Request sizing (what makes "one request per miss" and "one request per full read" both
 * hold): a request opened after a seek that dropped the buffer is bounded to what that read
 * asked for; reading on past its end opens the next one with a doubled window
 * (readahead-like), so an abandoned response is never much longer than what was read. Until
 * the first such seek, requests run to the end of the object (a whole read is one request).
 *
 * Copies: bytes come from the source into the buffer or the caller, and are memcpy'd at most
 * once, from the buffer to the caller. Nothing is zero-filled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"

#define NO_REQUEST UINT64_MAX

struct bio_reader {
	struct bio_source *src;
	uint8_t *buf;
	size_t cap;
	size_t blen;		/* valid bytes in buf */
	uint64_t boff;		/* object offset of buf[0] */
	uint64_t pos;
	uint64_t req_next;	/* NO_REQUEST: none open */
	uint64_t req_end;	/* end of the open request's range (BIO_TO_END) */
	uint64_t req_len;	/* its length as asked */
	bool req_done;		/* the open request returned 0 */
	bool sequential;	/* no seek has dropped the buffer: requests run to the end */
	struct bio_reader_stats st;
};

struct bio_reader *bio_reader_create(struct bio_source *src, size_t buf_size)
{
	struct bio_reader *r;

	if (src == NULL) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->cap = buf_size ? buf_size : BIO_DEFAULT_BUF_SIZE;
	r->buf = malloc(r->cap);
	if (r->buf == NULL)
		goto err_free_reader;
	r->src = src;
	r->req_next = NO_REQUEST;
	r->sequential = true;
	return r;

err_free_reader:
	free(r);
	return NULL;
}

void bio_reader_free(struct bio_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

static size_t buffered(const struct bio_reader *r)
{
	return (size_t)(r->boff + r->blen - r->pos);
}

/* Open a request at pos unless the open one already continues there. @want: bytes the
 * caller asked for, the bound of a request after a seek (a 4 KiB random read moves 4 KiB,
 * not a buffer). */
static int ensure_request(struct bio_reader *r, size_t want)
{
	uint64_t len = r->sequential ? BIO_TO_END : want;
	int rc;

	if (r->req_next == r->pos) {
		if (r->req_end == BIO_TO_END || r->pos < r->req_end)
			return 0;	/* continues here (or ended short: the object did) */
		/* a bounded request read to its end: read on, with a window that doubles */
		len = r->req_len * 2 > want ? r->req_len * 2 : want;
		len = len > r->cap ? len : r->cap;
	}
	rc = r->src->ops->open(r->src, r->pos, len);
	if (rc < 0)
		return rc;
	r->st.requests++;
	r->req_next = r->pos;
	r->req_len = len;
	r->req_end = len == BIO_TO_END || len > UINT64_MAX - r->pos ? BIO_TO_END : r->pos + len;
	r->req_done = false;
	return 0;
}

/* One source read of up to @len bytes at pos into @dst; @want bounds a new request. Never
 * reads past the open request's range, so a bounded request moves only what it asked. */
static ssize_t source_read(struct bio_reader *r, void *dst, size_t len, size_t want)
{
	ssize_t n;
	int rc;

	rc = ensure_request(r, want);
	if (rc < 0)
		return rc;
	if (r->req_done)
		return 0;
	if (r->req_end != BIO_TO_END && r->req_end - r->req_next < len)
		len = (size_t)(r->req_end - r->req_next);
	n = r->src->ops->read(r->src, dst, len);
	if (n <= 0) {
		r->req_done = n == 0;
		return n;
	}
	r->req_next += (uint64_t)n;
	r->st.source_reads++;
	r->st.source_bytes += (uint64_t)n;
	return n;
}

/* Refill the (exhausted) buffer at pos. Returns the bytes now buffered, 0 at the end. */
static ssize_t refill(struct bio_reader *r, size_t want)
{
	ssize_t n;

	r->boff = r->pos;
	r->blen = 0;
	n = source_read(r, r->buf, r->cap, want);
	if (n <= 0)
		return n;
	r->blen = (size_t)n;
	r->st.fills++;
	return n;
}

static size_t copy_out(struct bio_reader *r, void *dst, size_t len)
{
	size_t avail = buffered(r);
	size_t n = len < avail ? len : avail;

	memcpy(dst, r->buf + (r->pos - r->boff), n);
	r->pos += n;
	r->st.bytes_copied += n;
	return n;
}

ssize_t bio_reader_read(struct bio_reader *r, void *dst, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	if (buffered(r) > 0)
		return (ssize_t)copy_out(r, dst, len);
	if (len >= r->cap) {
		n = source_read(r, dst, len, len);
		if (n <= 0)
			return n;
		r->st.bypass_reads++;
		r->pos += (uint64_t)n;
		r->boff = r->pos;	/* the buffer is empty at the new position */
		r->blen = 0;
		return n;
	}
	n = refill(r, len);
	if (n <= 0)
		return n;
	return (ssize_t)copy_out(r, dst, len);
}

int bio_reader_read_exact(struct bio_reader *r, void *dst, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = bio_reader_read(r, (uint8_t *)dst + got, len - got);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

static int grow(uint8_t **out, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 64 * 1024;
	uint8_t *p;

	while (ncap < need)
		ncap *= 2;
	p = realloc(*out, ncap);
	if (p == NULL)
		return -ENOMEM;
	*out = p;
	*cap = ncap;
	return 0;
}

int bio_reader_read_to_end(struct bio_reader *r, uint8_t **out, size_t *len)
{
	uint64_t size;
	size_t cap = 0, got = 0;
	ssize_t n;
	int rc;

	*out = NULL;
	*len = 0;
	if (r->src->ops->size(r->src, &size) == 0 && size > r->pos)
		cap = (size_t)(size - r->pos) + 1;	/* +1: room to see the end in one read */
	if (cap && grow(out, &cap, cap) < 0)
		return -ENOMEM;
	for (;;) {
		if (got == cap && (rc = grow(out, &cap, cap + 1)) < 0)
			goto err_free_out;
		n = bio_reader_read(r, *out + got, cap - got);
		if (n == 0)
			break;
		if (n < 0) {
			rc = (int)n;
			goto err_free_out;
		}
		got += (size_t)n;
	}
	*len = got;
	return 0;

err_free_out:
	free(*out);
	*out = NULL;
	return rc;
}

ssize_t bio_reader_fill(struct bio_reader *r, const uint8_t **data)
{
	ssize_t n;

	if (buffered(r) == 0) {
		n = refill(r, r->cap);
		if (n <= 0)
			return n;
	}
	*data = r->buf + (r->pos - r->boff);
	return (ssize_t)buffered(r);
}

void bio_reader_consume(struct bio_reader *r, size_t n)
{
	size_t avail = buffered(r);

	r->pos += n < avail ? n : avail;
}

int64_t bio_reader_seek(struct bio_reader *r, int64_t off, int whence)
{
	uint64_t base, size;
	int rc;

	if (whence == SEEK_SET) {
		base = 0;
	} else if (whence == SEEK_CUR) {
		base = r->pos;
	} else if (whence == SEEK_END) {
		rc = r->src->ops->size(r->src, &size);
		if (rc < 0)
			return rc;
		base = size;
	} else {
		return -EINVAL;
	}
	if ((off < 0 && (uint64_t)(-off) > base) || (off > 0 && (uint64_t)off > INT64_MAX - base))
		return -EINVAL;
	base += (uint64_t)off;
	if (base >= r->boff && base <= r->boff + r->blen) {
		r->st.seeks_in_buffer += base != r->pos;
	} else {
		r->st.seeks_dropped++;
		r->boff = base;
		r->blen = 0;
		if (base != r->req_next)
			r->sequential = false;
	}
	r->pos = base;
	return (int64_t)base;
}

void bio_reader_drop(struct bio_reader *r)
{
	r->boff = r->pos;
	r->blen = 0;
}

uint64_t bio_reader_tell(const struct bio_reader *r)
{
	return r->pos;
}

const struct bio_reader_stats *bio_reader_stats(const struct bio_reader *r)
{
	return &r->st;
}

void bio_reader_dump(const struct bio_reader *r, FILE *f)
{
	fprintf(f, "bio_reader src=%s cap=%zu pos=%llu buf=[%llu,+%zu) req_next=%lld "
		"requests=%llu copied=%llu bypass=%llu fills=%llu\n", r->src->ops->name, r->cap,
		(unsigned long long)r->pos, (unsigned long long)r->boff, r->blen,
		r->req_next == NO_REQUEST ? -1LL : (long long)r->req_next,
		(unsigned long long)r->st.requests, (unsigned long long)r->st.bytes_copied,
		(unsigned long long)r->st.bypass_reads, (unsigned long long)r->st.fills);
}
