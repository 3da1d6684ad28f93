/* SPDX-License-Identifier: MIT */
/*
 * bio_fetch.c - a test driver: reads byte ranges of one object on an HTTP/1.1 server through
 * the bio reader (range GETs over the kernel backend) and prints one JSON object on stdout,
 * so a test (pytest/test_bio.py, against nginx) compares the bytes with the file it served.
 *
 *   bio_fetch ADDR:PORT PATH [--buffer BYTES] OFF:LEN...
 *
 * Output: {"size": N, "requests": R, "ranges": [{"off": O, "len": L, "hex": "..."}, ...]}
 * with each range read by seek + read_exact, in the order given. Exit 0, or 1 with a reason
 * on stderr (the reader's errno and the HTTP client's reason).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "bio_http.h"

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

static void print_hex(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
}

static int fetch(struct bio_reader *r, const char *spec, bool first)
{
	unsigned long long off, len;
	uint8_t *buf;
	int rc;

	if (sscanf(spec, "%llu:%llu", &off, &len) != 2 || len > (64u << 20)) {
		fprintf(stderr, "bio_fetch: '%s': expected OFF:LEN (LEN <= 64 MiB)\n", spec);
		return -EINVAL;
	}
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return -ENOMEM;
	rc = (int)bio_reader_seek(r, (int64_t)off, SEEK_SET);
	if (rc >= 0)
		rc = bio_reader_read_exact(r, buf, len);
	if (rc == 0) {
		printf("%s{\"off\": %llu, \"len\": %llu, \"hex\": \"", first ? "" : ", ", off, len);
		print_hex(buf, len);
		printf("\"}");
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = "bio_fetch", .cpu = -1 };
	char tl_err[256];
	struct bio_source *src = NULL;
	struct bio_reader *r = NULL;
	struct bio_http *h = NULL;
	struct tl_stack *st;
	struct sockaddr_in sin;
	size_t buffer = 0;
	uint64_t size = 0;
	int i = 3, rc = -EINVAL;

	if (argc < 3 || parse_addr(argv[1], &sin) < 0) {
		fprintf(stderr, "usage: bio_fetch ADDR:PORT PATH [--buffer BYTES] OFF:LEN...\n");
		return 2;
	}
	if (argc > 4 && strcmp(argv[3], "--buffer") == 0) {
		buffer = strtoull(argv[4], NULL, 10);
		i = 5;
	}
	st = tl_stack_create("kernel", &p, tl_err, sizeof(tl_err));
	if (st == NULL)
		return 1;
	h = bio_http_create(st, (const struct sockaddr *)&sin, sizeof(sin), argv[1]);
	src = h ? bio_http_source_create(h, argv[2]) : NULL;
	r = src ? bio_reader_create(src, buffer) : NULL;
	if (r == NULL)
		goto out;
	rc = src->ops->size(src, &size);
	if (rc < 0)
		goto out;
	printf("{\"size\": %llu, \"ranges\": [", (unsigned long long)size);
	for (; i < argc && rc == 0; i++)
		rc = fetch(r, argv[i], i == 3 || (i == 5 && buffer));
	if (rc == 0)
		printf("], \"requests\": %llu, \"bytes_copied\": %llu}\n",
		       (unsigned long long)bio_reader_stats(r)->requests,
		       (unsigned long long)bio_reader_stats(r)->bytes_copied);
out:
	if (rc < 0)
		fprintf(stderr, "\nbio_fetch: %s%s%s\n", strerror(-rc), h ? ": " : "",
			h ? bio_http_error(h) : "");
	bio_reader_free(r);
	bio_source_free(src);
	bio_http_free(h);
	tl_stack_free(st);
	return rc < 0 ? 1 : 0;
}
