/* SPDX-License-Identifier: MIT */
/*
 * http_parse.c - the HTTP/1.1 response-head parser (RFC 9112 section 4 status line,
 * section 5 fields): bytes in any split -> lines -> status and the fields the client acts
 * on (Content-Length, Content-Range per RFC 9110 14.4, Connection, Transfer-Encoding).
 * Allocation-free: a line is gathered in the struct; only its first BIO_HTTP_LINE_MAX bytes
 * are kept, which is enough to name the field and to reject an over-long value we need.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bio_http.h"

enum { ST_STATUS, ST_FIELDS, ST_DONE };

void bio_http_resp_init(struct bio_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->state = ST_STATUS;
}

static int fail(struct bio_http_resp *r, int err, const char *why)
{
	r->reason = why;
	return err;
}

/* Digits only, no sign, no overflow. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int status_line(struct bio_http_resp *r, const char *l, size_t len)
{
	uint64_t code;

	if (r->overflow)
		return fail(r, -EBADMSG, "status line too long");
	if (len < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
		return fail(r, -EBADMSG, "status line is not \"HTTP/1.x NNN ...\"");
	if (!parse_u64(l + 9, 3, &code) || code < 100 || (len > 12 && l[12] != ' '))
		return fail(r, -EBADMSG, "status code is not three digits");
	if (code < 200)
		return fail(r, -EPROTO, "1xx interim responses are not supported");
	r->status = (int)code;
	r->minor = l[7] - '0';
	r->state = ST_FIELDS;
	return 0;
}

static int content_length(struct bio_http_resp *r, const char *v, size_t len)
{
	uint64_t n;

	if (!parse_u64(v, len, &n))
		return fail(r, -EBADMSG, "Content-Length is not a number");
	if (r->has_length && n != r->content_length)
		return fail(r, -EBADMSG, "two different Content-Length values");
	r->has_length = true;
	r->content_length = n;
	return 0;
}

/* "bytes first-last/total", "bytes first-last/ *" or "bytes * /total" (no spaces). */
static int content_range(struct bio_http_resp *r, const char *v, size_t len)
{
	const char *slash = memchr(v, '/', len), *dash;
	const char *end = v + len;

	if (len < 6 || strncasecmp(v, "bytes ", 6) != 0 || slash == NULL)
		return fail(r, -EBADMSG, "Content-Range is not \"bytes a-b/n\"");
	v += 6;
	if (end - slash == 2 && slash[1] == '*')
		r->range_total = UINT64_MAX;
	else if (!parse_u64(slash + 1, (size_t)(end - slash - 1), &r->range_total))
		return fail(r, -EBADMSG, "Content-Range total is not a number");
	r->has_range = true;
	if (slash - v == 1 && v[0] == '*') {
		r->range_unsatisfied = true;
		return 0;
	}
	dash = memchr(v, '-', (size_t)(slash - v));
	if (dash == NULL || !parse_u64(v, (size_t)(dash - v), &r->range_first) ||
	    !parse_u64(dash + 1, (size_t)(slash - dash - 1), &r->range_last))
		return fail(r, -EBADMSG, "Content-Range first-last is not two numbers");
	if (r->range_last < r->range_first ||
	    (r->range_total != UINT64_MAX && r->range_last >= r->range_total))
		return fail(r, -EBADMSG, "Content-Range is out of order or past its total");
	return 0;
}

static bool has_token(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i = 0, start;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - start == tl && strncasecmp(v + start, tok, tl) == 0)
			return true;
	}
	return false;
}

static bool name_is(const char *l, size_t nlen, const char *name)
{
	return nlen == strlen(name) && strncasecmp(l, name, nlen) == 0;
}

static int field_line(struct bio_http_resp *r, const char *l, size_t len)
{
	const char *colon = memchr(l, ':', len), *v;
	size_t nlen, vlen;

	if (l[0] == ' ' || l[0] == '\t')
		return fail(r, -EBADMSG, "obsolete line folding in a field");
	if (colon == NULL || colon == l)
		return fail(r, -EBADMSG, "field line without a name and colon");
	nlen = (size_t)(colon - l);
	if (memchr(l, ' ', nlen) || memchr(l, '\t', nlen))
		return fail(r, -EBADMSG, "whitespace in a field name");
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (name_is(l, nlen, "Content-Length") || name_is(l, nlen, "Content-Range") ||
	    name_is(l, nlen, "Connection") || name_is(l, nlen, "Transfer-Encoding")) {
		if (r->overflow)
			return fail(r, -EBADMSG, "field value too long");
	}
	if (name_is(l, nlen, "Content-Length"))
		return content_length(r, v, vlen);
	if (name_is(l, nlen, "Content-Range"))
		return content_range(r, v, vlen);
	if (name_is(l, nlen, "Connection")) {
		r->conn_close |= has_token(v, vlen, "close");
		r->conn_keep |= has_token(v, vlen, "keep-alive");
	} else if (name_is(l, nlen, "Transfer-Encoding")) {
		r->chunked = true;
	}
	return 0;
}

/* The head ended: settle what depends on all of it. */
static int finish(struct bio_http_resp *r)
{
	r->state = ST_DONE;
	r->keep_alive = r->minor >= 1 ? !r->conn_close : r->conn_keep && !r->conn_close;
	if (r->chunked)
		return fail(r, -EPROTO, "Transfer-Encoding bodies are not supported");
	if (!r->has_length && r->status != 204 && r->status != 304)
		return fail(r, -EPROTO, "no Content-Length: the body has no known end");
	if (r->has_range && !r->range_unsatisfied && r->has_length &&
	    r->content_length != r->range_last - r->range_first + 1)
		return fail(r, -EBADMSG, "Content-Length disagrees with Content-Range");
	return 1;
}

static int line_done(struct bio_http_resp *r)
{
	size_t len = r->line_len;
	int rc;

	if (len > 0 && !r->overflow && r->line[len - 1] == '\r')
		len--;
	if (r->state == ST_STATUS)
		rc = status_line(r, r->line, len);
	else if (len == 0 && !r->overflow)
		rc = finish(r);
	else
		rc = field_line(r, r->line, len);
	r->line_len = 0;
	r->overflow = false;
	return rc;
}

int bio_http_resp_parse(struct bio_http_resp *r, const char *data, size_t len, size_t *used)
{
	size_t i;
	int rc;

	*used = 0;
	if (r->reason != NULL)
		return -EBADMSG;
	if (r->state == ST_DONE)
		return 1;
	for (i = 0; i < len; i++) {
		if (++r->head_len > BIO_HTTP_HEAD_MAX)
			return fail(r, -EBADMSG, "response head longer than 64 KiB");
		if (data[i] == '\n') {
			rc = line_done(r);
			if (rc != 0) {
				*used = i + 1;
				return rc;
			}
		} else if (data[i] == '\0') {
			return fail(r, -EBADMSG, "NUL byte in the response head");
		} else if (r->line_len < sizeof(r->line)) {
			r->line[r->line_len++] = data[i];
		} else {
			r->overflow = true;
		}
	}
	*used = len;
	return 0;
}
