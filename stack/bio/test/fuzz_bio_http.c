/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bio_http.c - fuzz driver (suite 'fuzz', harness/test/fuzz.h) of bio's HTTP/1.1
 * response-head parser (http_parse.c):
 *   http_resp  the bytes parsed whole, then again in pieces (split points from the input):
 *              the parser is incremental, so both must end alike (result, reason, and for
 *              a head: bytes used, every field); a refusal's reason is the error text
 * Built with -DHX_LIBFUZZER (clang -fsanitize=fuzzer), LLVMFuzzerTestOneInput drives it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio_http.h"
#include "fuzz.h"

static const char *const resp_seeds[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nAccept-Ranges: bytes\r\n\r\n0123456789",
	"HTTP/1.1 206 Partial Content\r\nServer: x\r\nContent-Range: bytes 0-99/1000\r\n"
	"Content-Length: 100\r\n\r\n",
	"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */50\r\n"
	"Content-Length: 0\r\nConnection: close\r\n\r\n",
	"HTTP/1.0 200 OK\nContent-Length: 0\nConnection: keep-alive\n\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nConnection: x, close , keep-alive\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 206 P\r\nContent-Range: bytes 5-1/9\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	NULL,
};

static const char *const resp_dict[] = {
	"HTTP/1.1 ", "HTTP/1.0 ", "200 OK", "206", "416", "204", "304", "100", "\r\n",
	"\r\n\r\n", "\n", "Content-Length: ", "Content-Range: ", "bytes ", "*/", "/*", "-",
	"Connection: ", "close", "keep-alive", "Transfer-Encoding: ", "chunked", ":", " ", "\t",
	",", "18446744073709551615", "1844674407370955161", NULL,
};

static void split_parse(struct bio_http_resp *r, const uint8_t *d, size_t len,
			uint64_t cuts, int *rc, size_t *used)
{
	size_t off = 0, n, u;

	bio_http_resp_init(r);
	*rc = 0;
	while (off < len && *rc == 0) {
		n = cuts ? 1 + (size_t)(cuts % 13) : len - off;	/* 1 to 13 bytes a call */
		cuts /= 13;
		if (n > len - off)
			n = len - off;
		*rc = bio_http_resp_parse(r, (const char *)d + off, n, &u);
		off += u;
	}
	*used = off;
}

static const char *fz_http_resp(const uint8_t *d, size_t len)
{
	static struct bio_http_resp whole, parts;
	size_t uw, up, i;
	uint64_t cuts = len;
	int rw, rp;

	for (i = 0; i < len && i < 32; i++)
		cuts = cuts * 31 + d[i];
	split_parse(&whole, d, len, 0, &rw, &uw);
	split_parse(&parts, d, len, cuts | 1, &rp, &up);
	/* the same end in any split: one field differing is a parser bug */
	if (rw != rp || (rw < 0 && strcmp(whole.reason, parts.reason) != 0) || (rw == 1 &&
	    (uw != up || whole.status != parts.status || whole.content_length != parts.content_length ||
	     whole.has_length != parts.has_length || whole.has_range != parts.has_range ||
	     whole.range_first != parts.range_first || whole.range_last != parts.range_last ||
	     whole.range_total != parts.range_total || whole.keep_alive != parts.keep_alive ||
	     whole.range_unsatisfied != parts.range_unsatisfied))) {
		fprintf(stderr, "fuzz: http_resp: whole %d (%zu used), in pieces %d (%zu used)\n",
			rw, uw, rp, up);
		fz_abort("whole and in pieces differ");
	}
	if (rw < 0) {
		if (whole.reason == NULL)
			return "";	/* a refusal without a reason: the kit reports it */
		return whole.reason;
	}
	return NULL;
}

static const struct fz_target targets[] = {
	{ "http_resp", fz_http_resp, resp_seeds, NULL, NULL, resp_dict, 0 },
};

#ifdef HX_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *e = fz_http_resp(data, size);

	if (e != NULL && (e[0] == '\0' || strchr(e, '\n') || strchr(e, '\r')))
		abort();
	return 0;
}
#else
int main(int argc, char **argv)
{
	return fz_main(targets, sizeof(targets) / sizeof(targets[0]), argc, argv);
}
#endif
