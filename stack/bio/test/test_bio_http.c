/* SPDX-License-Identifier: MIT */
/*
 * test_bio_http.c - unit tests of the HTTP/1.1 parser (every split of a valid head, each
 * malformed head with its errno and reason) and of the http source and sink through a
 * reader and writer, against a small server thread on 127.0.0.1 over the kernel backend:
 * ranged reads, keep-alive, reconnect after the server closes, PUT, malformed responses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio_http.h"
#include "bio_test_util.h"
#include "test.h"

static const char valid[] = "HTTP/1.1 206 Partial Content\r\nServer: x\r\n"
			    "Content-Range: bytes 100-199/1000\r\nContent-Length: 100\r\n"
			    "Connection: keep-alive\r\n\r\nBODY";

static int test_parse_every_split(void)
{
	size_t head = sizeof(valid) - 1 - 4, split, used, u2;
	struct bio_http_resp r;
	int rc;

	for (split = 0; split <= head; split++) {
		bio_http_resp_init(&r);
		rc = bio_http_resp_parse(&r, valid, split, &used);
		EXPECT_EQ_INT(rc, split == head ? 1 : 0);
		if (rc == 0) {
			EXPECT_EQ_INT(used, split);
			rc = bio_http_resp_parse(&r, valid + split, sizeof(valid) - 1 - split, &u2);
			used += u2;
		}
		EXPECT_EQ_INT(rc, 1);
		EXPECT_EQ_INT(used, head);
		EXPECT_EQ_INT(r.status, 206);
		EXPECT_EQ_INT(r.content_length, 100);
		EXPECT_EQ_INT(r.range_first, 100);
		EXPECT_EQ_INT(r.range_last, 199);
		EXPECT_EQ_INT(r.range_total, 1000);
		EXPECT_TRUE(r.keep_alive);
	}
	return 0;
}

static int parse_all(struct bio_http_resp *r, const char *s)
{
	size_t used;

	bio_http_resp_init(r);
	return bio_http_resp_parse(r, s, strlen(s), &used);
}

static int test_parse_malformed(void)
{
	static const struct {
		const char *head;
		int err;
		const char *reason;
	} cases[] = {
		{ "HTTP/2 200 OK\r\n\r\n", -EBADMSG, "status line" },
		{ "HTTP/1.1 20x OK\r\n\r\n", -EBADMSG, "three digits" },
		{ "HTTP/1.1 100 Continue\r\n\r\n", -EPROTO, "1xx" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", -EBADMSG, "not a number" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -EBADMSG,
		  "two different" },
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", -EBADMSG, "colon" },
		{ "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", -EBADMSG, "folding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", -EPROTO,
		  "Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", -EPROTO, "no Content-Length" },
		{ "HTTP/1.1 206 P\r\nContent-Range: bytes 5-1/9\r\nContent-Length: 1\r\n\r\n",
		  -EBADMSG, "out of order" },
		{ "HTTP/1.1 206 P\r\nContent-Range: items 1-2/9\r\nContent-Length: 2\r\n\r\n",
		  -EBADMSG, "Content-Range" },
		{ "HTTP/1.1 206 P\r\nContent-Range: bytes 0-9/99\r\nContent-Length: 5\r\n\r\n",
		  -EBADMSG, "disagrees" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -EBADMSG,
		  "not a number" },
	};
	struct bio_http_resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ_INT(parse_all(&r, cases[i].head), cases[i].err);
		EXPECT_TRUE(r.reason != NULL);
		EXPECT_STR_CONTAINS(r.reason, cases[i].reason);
	}
	EXPECT_EQ_INT(parse_all(&r, "HTTP/1.0 200 OK\nContent-Length: 0\n\n"), 1);
	EXPECT_TRUE(!r.keep_alive);
	EXPECT_EQ_INT(parse_all(&r, "HTTP/1.1 416 R\r\nContent-Range: bytes */50\r\n"
			       "Content-Length: 0\r\nConnection: close\r\n\r\n"), 1);
	EXPECT_TRUE(r.range_unsatisfied && r.range_total == 50 && !r.keep_alive);
	return 0;
}

/* The server thread: one object, range GET, HEAD and PUT; a canned reply when set. */
struct server {
	int ls;
	uint16_t port;
	const uint8_t *obj;
	size_t size;
	unsigned int max_per_conn;	/* close after this many requests (0: never) */
	const char *canned;		/* sent to every request instead, then close */
	uint8_t *put;			/* the last PUT body */
	size_t put_len;
	unsigned int requests;
	pthread_t thr;
};

static int read_request(int c, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap) {
		n = read(c, buf + len, 1);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0)
			return 0;
	}
	return -1;
}

static void reply_get(struct server *sv, int c, const char *req, bool head)
{
	unsigned long long a = 0, b = sv->size - 1;
	const char *rg = strstr(req, "Range: bytes=");
	char hdr[256];
	int n;

	if (rg != NULL && sscanf(rg, "Range: bytes=%llu-%llu", &a, &b) < 1)
		a = 0;
	if (b >= sv->size)
		b = sv->size - 1;
	if (rg != NULL && a >= sv->size) {
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 416 R\r\nContent-Range: bytes */%zu\r\n"
			     "Content-Length: 0\r\n\r\n", sv->size);
		(void)!write(c, hdr, (size_t)n);
		return;
	}
	if (rg == NULL)
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
			     sv->size);
	else
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 206 P\r\nContent-Range: bytes %llu-%llu/"
			     "%zu\r\nContent-Length: %llu\r\n\r\n", a, b, sv->size, b - a + 1);
	(void)!write(c, hdr, (size_t)n);
	if (!head)
		(void)!write(c, sv->obj + a, (size_t)(b - a + 1));
}

static void reply_put(struct server *sv, int c, const char *req)
{
	const char *cl = strstr(req, "Content-Length: ");
	size_t len = cl ? strtoull(cl + 16, NULL, 10) : 0, got = 0;
	static const char ok[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	ssize_t n;

	free(sv->put);
	sv->put = malloc(len + 1);
	while (got < len && (n = read(c, sv->put + got, len - got)) > 0)
		got += (size_t)n;
	sv->put_len = got;
	(void)!write(c, ok, sizeof(ok) - 1);
}

static void serve_conn(struct server *sv, int c)
{
	unsigned int k;
	char req[2048];

	for (k = 0; sv->max_per_conn == 0 || k < sv->max_per_conn; k++) {
		if (read_request(c, req, sizeof(req)) < 0)
			return;
		sv->requests++;
		if (sv->canned) {
			(void)!write(c, sv->canned, strlen(sv->canned));
			return;
		}
		if (strncmp(req, "PUT ", 4) == 0)
			reply_put(sv, c, req);
		else
			reply_get(sv, c, req, strncmp(req, "HEAD ", 5) == 0);
	}
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	int c;

	while ((c = accept(sv->ls, NULL, NULL)) >= 0) {
		serve_conn(sv, c);
		close(c);
	}
	return NULL;
}

static int server_start(struct server *sv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	sv->ls = socket(AF_INET, SOCK_STREAM, 0);
	if (sv->ls < 0 || bind(sv->ls, (struct sockaddr *)&a, len) < 0 || listen(sv->ls, 8) < 0 ||
	    getsockname(sv->ls, (struct sockaddr *)&a, &len) < 0)
		return -1;
	sv->port = ntohs(a.sin_port);
	return pthread_create(&sv->thr, NULL, server_main, sv) == 0 ? 0 : -1;
}

static void server_stop(struct server *sv)
{
	shutdown(sv->ls, SHUT_RDWR);	/* wakes accept */
	pthread_join(sv->thr, NULL);
	close(sv->ls);
	free(sv->put);
}

struct client {
	struct tl_stack *st;
	struct bio_http *h;
};

static int client_open(struct client *cl, const struct server *sv)
{
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = "bio", .cpu = -1 };
	char tl_err[256];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(sv->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	cl->st = tl_stack_create("kernel", &p, tl_err, sizeof(tl_err));
	cl->h = cl->st ? bio_http_create(cl->st, (struct sockaddr *)&a, sizeof(a), "127.0.0.1")
		       : NULL;
	return cl->h ? 0 : -1;
}

static void client_close(struct client *cl)
{
	bio_http_free(cl->h);
	tl_stack_free(cl->st);
}

static int random_ranges(struct bio_source *src, const uint8_t *obj, size_t size, unsigned int n)
{
	struct bio_reader *r = bio_reader_create(src, 16384);
	uint8_t dst[40000];
	uint64_t s = 3, off, len, i;

	EXPECT_TRUE(r != NULL);
	for (i = 0; i < n; i++) {
		off = tu_rand(&s) % size;
		len = tu_rand(&s) % sizeof(dst);
		len = len < size - off ? len : size - off;
		EXPECT_EQ_INT(bio_reader_seek(r, (int64_t)off, SEEK_SET), off);
		EXPECT_EQ_INT(bio_reader_read_exact(r, dst, len), 0);
		EXPECT_BYTES(dst, obj + off, len);
	}
	bio_reader_free(r);
	return 0;
}

static int test_source_ranges_keepalive(void)
{
	struct server sv = { .size = 1000000 };
	struct bio_source *src;
	struct client cl;
	uint8_t *obj = tu_pattern(sv.size, 21), *all;
	struct bio_reader *r;
	size_t len;

	sv.obj = obj;
	EXPECT_EQ_INT(server_start(&sv), 0);
	EXPECT_EQ_INT(client_open(&cl, &sv), 0);
	src = bio_http_source_create(cl.h, "/obj");
	EXPECT_EQ_INT(random_ranges(src, obj, sv.size, 200), 0);
	EXPECT_EQ_INT(bio_http_stats(cl.h)->connects, 1);
	r = bio_reader_create(src, 0);
	EXPECT_EQ_INT(bio_reader_read_to_end(r, &all, &len), 0);
	EXPECT_EQ_INT(len, sv.size);
	EXPECT_BYTES(all, obj, len);
	EXPECT_EQ_INT(bio_reader_stats(r)->requests, 1);
	EXPECT_EQ_INT(bio_reader_seek(r, -5, SEEK_END), sv.size - 5);
	free(all);
	bio_reader_free(r);
	bio_source_free(src);
	client_close(&cl);
	server_stop(&sv);
	free(obj);
	return 0;
}

static int test_source_reconnects(void)
{
	struct server sv = { .size = 300000, .max_per_conn = 3 };
	struct bio_source *src;
	struct client cl;
	uint8_t *obj = tu_pattern(sv.size, 22);
	uint64_t size;

	sv.obj = obj;
	EXPECT_EQ_INT(server_start(&sv), 0);
	EXPECT_EQ_INT(client_open(&cl, &sv), 0);
	src = bio_http_source_create(cl.h, "/obj");
	EXPECT_EQ_INT(src->ops->size(src, &size), 0);	/* HEAD */
	EXPECT_EQ_INT(size, sv.size);
	EXPECT_EQ_INT(random_ranges(src, obj, sv.size, 20), 0);
	EXPECT_TRUE(bio_http_stats(cl.h)->connects >= 7);
	bio_source_free(src);
	client_close(&cl);
	server_stop(&sv);
	free(obj);
	return 0;
}

static int test_source_malformed(void)
{
	struct server sv = { .size = 10,
			     .canned = "HTTP/1.1 206 P\r\nContent-Range: bytes 9-9/10\r\n"
				       "Content-Length: 1\r\n\r\nx" };
	uint8_t obj[10] = { 0 }, dst[4];
	struct bio_source *src;
	struct bio_reader *r;
	struct client cl;

	sv.obj = obj;
	EXPECT_EQ_INT(server_start(&sv), 0);
	EXPECT_EQ_INT(client_open(&cl, &sv), 0);
	src = bio_http_source_create(cl.h, "/obj");
	r = bio_reader_create(src, 4096);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 4), -EPROTO);
	EXPECT_STR_CONTAINS(bio_http_error(cl.h), "Content-Range starting at the offset");
	sv.canned = "HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n";
	EXPECT_EQ_INT(bio_reader_read(r, dst, 4), -EBADMSG);
	EXPECT_STR_CONTAINS(bio_http_error(cl.h), "Content-Length");
	bio_reader_free(r);
	bio_source_free(src);
	client_close(&cl);
	server_stop(&sv);
	return 0;
}

static int test_sink_put(void)
{
	struct server sv = { .size = 1 };
	uint8_t *data = tu_pattern(500000, 23), obj[1] = { 0 };
	struct bio_writer *w;
	struct bio_sink *snk;
	struct client cl;

	sv.obj = obj;
	EXPECT_EQ_INT(server_start(&sv), 0);
	EXPECT_EQ_INT(client_open(&cl, &sv), 0);
	snk = bio_http_sink_create(cl.h, "/up", 500000);
	w = bio_writer_create(snk, 8192, NULL);
	EXPECT_EQ_INT(bio_writer_write(w, data, 1000), 1000);
	EXPECT_EQ_INT(bio_writer_write(w, data + 1000, 499000), 499000);
	EXPECT_EQ_INT(bio_writer_write(w, data, 1), 1);	/* buffered */
	EXPECT_EQ_INT(bio_writer_flush(w), -EFBIG);
	EXPECT_STR_CONTAINS(bio_http_error(cl.h), "past the PUT's Content-Length");
	bio_writer_free(w);	/* the extra byte is reported as dropped */
	bio_sink_free(snk);
	/* A clean one. */
	snk = bio_http_sink_create(cl.h, "/up", 500000);
	w = bio_writer_create(snk, 8192, NULL);
	EXPECT_EQ_INT(bio_writer_write(w, data, 500000), 500000);
	EXPECT_EQ_INT(bio_writer_close(w), 0);
	EXPECT_EQ_INT(sv.put_len, 500000);
	EXPECT_BYTES(sv.put, data, 500000);
	bio_writer_free(w);
	bio_sink_free(snk);
	client_close(&cl);
	server_stop(&sv);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "parse_every_split", test_parse_every_split },
		{ "parse_malformed", test_parse_malformed },
		{ "source_ranges_keepalive", test_source_ranges_keepalive },
		{ "source_reconnects", test_source_reconnects },
		{ "source_malformed", test_source_malformed },
		{ "sink_put", test_sink_put },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
