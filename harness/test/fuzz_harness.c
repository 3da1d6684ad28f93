/* SPDX-License-Identifier: MIT */
/*
 * fuzz_harness.c - fuzz driver (suite 'fuzz', fuzz.h) of the harness's input parsers:
 *   scenario  the scenario language (hx_scenario_parse) and its --set overrides, seeds
 *             scenarios/ *.scn
 *   conform   a conformance case's sides (cf_side_parse), seeds scenarios/conformance/ *.case
 *   json      the key search of the SUT's JSON lines (hx_json_find_uint, hx_json_find_str)
 *   objects   the objects program's HTTP request heads (programs_objects.c's parser and
 *             dispatch, compiled into this file to reach its static functions)
 * Built with -DHX_LIBFUZZER (clang -fsanitize=fuzzer), LLVMFuzzerTestOneInput drives the
 * target FUZZ_TARGET names (environment) instead of main().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "json.h"
#include "scenario.h"

#define hx_program_objects fz_program_objects	/* this file's copy, not the library's */
#include "programs/programs_objects.c"
#undef hx_program_objects

#include "fuzz.h"

static char err[512];

/* The input as a C string (a NUL inside ends it, as in a file read with fgets-like code). */
static char *text_of(const uint8_t *d, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, d, len);
	s[len] = '\0';
	return s;
}

/* ---- scenario ---- */

static const char *const scenario_dict[] = {
	"description", "program", "conns", "duration", "warmup", "pacing", "nodelay", "impair",
	"param", "client", "check", "{", "}", "closed", "open", "echo", "sink", "source",
	"objects", "connect", "send", "recv", "close", "repeat", "measure", "sleep", "get",
	"put", "raw_get", "seek_read", "random", "inbuffer", "buffer", "chunk", "cache_read",
	"zipf", "verify", "shutdown", "rd", "wr", "rdwr", "$", "10s", "5ms", "100us", "1ns", "4k", "16m", "1g", "1.5", "10k", "p50", "p99",
	"p999", "errors", "transactions", "throughput", "<", "<=", ">", ">=", "==", "on", "off",
	"tx:loss=1%", "delay=5ms~1ms", "seed=7", "\n", "\n}\n", "client {\n", "\x1f",
	"\x1f" "conns=", "\x1f" "duration=", "\x1f" "warmup=", "\x1f" "rate=",
	"\x1f" "program=", "\x1f" "nodelay=", "\x1f" "impair=", "\x1f" "size=", NULL,
};

/*
 * The text up to a 0x1f byte is the file; after it, "KEY=VALUE" pieces (0x1f between them)
 * are overrides, as `tcplab run --set KEY=VALUE` gives them.
 */
static const char *fz_scenario(const uint8_t *d, size_t len)
{
	static struct hx_scenario sc;
	struct hx_override ov[8];
	unsigned int n = 0;
	char *text = text_of(d, len), *sep = strchr(text, '\x1f'), *eq;
	int r;

	while (sep != NULL && n < 8) {
		*sep++ = '\0';
		ov[n].key = sep;
		sep = strchr(sep, '\x1f');
		if (sep != NULL)
			*sep = '\0';
		eq = strchr(ov[n].key, '=');
		ov[n].value = eq ? eq + 1 : "";
		if (eq != NULL)
			*eq = '\0';
		n++;
		if (sep != NULL)
			*sep = '\x1f';
	}
	r = hx_scenario_parse(&sc, "fuzz", "fuzz.scn", text, ov, n, err, sizeof(err));
	free(text);
	if (r == 0) {
		FILE *f = fopen("/dev/null", "w");	/* the plan printer reads every op */

		if (f != NULL) {
			hx_scenario_dump(&sc, f);
			fclose(f);
		}
	}
	return r < 0 ? err : NULL;
}

/* ---- conform ---- */

static const char *const conform_dict[] = {
	"sut", "peer", "{", "}", "=", "socket", "bind", "listen", "accept", "connect", "send",
	"recv", "sendv", "recvv", "shutdown", "close", "setsockopt", "getsockopt",
	"getsockname", "getpeername", "nonblock", "poll", "available", "signal", "wait",
	"acked", "fill", "drain", "handle", "getfl", "took", "sut:8080", "peer:80", "any:0",
	"rd", "wr", "rdwr", "in+rdhup", "inout", "none", "peek", "dontwait", "waitall", "oob",
	"more", "SO_LINGER", "off", "TCP_NODELAY", "SO_RCVBUF", "65536", "s", "c", "x = ",
	"#", "\n", NULL,
};

static const char *fz_conform(const uint8_t *d, size_t len)
{
	static struct cf_side cs;
	char *text = text_of(d, len);
	int r;

	r = cf_side_parse(&cs, "fuzz.case", text, len % 2 ? "peer" : "sut", err, sizeof(err));
	free(text);
	return r < 0 ? err : NULL;
}

/* ---- json ---- */

static const char *const json_seeds[] = {
	"{\"event\":\"ready\",\"addr\":\"10.0.0.2\",\"port\":5201,\"program\":\"echo\"}",
	"{\"event\":\"stats\",\"bytes_in\":123456,\"bytes_out\":99,\"mismatches\":0,"
	"\"affinity\":\"0-1\"}",
	"{\"event\":\"error\",\"message\":\"bind: Address in use\"}",
	"{\"tx\":{\"frames\":10,\"lost\":1},\"rx\":{\"frames\":18446744073709551615}}",
	NULL,
};

static const char *const json_keys[] = {
	"event", "addr", "port", "mismatches", "bytes_in", "affinity", "message", "frames",
	"lost", "", "\"", "a_key_longer_than_the_pattern_buffer_of_find_value_which_is_eighty",
};

static const char *const json_dict[] = {
	"\"event\":", "\"port\":", "\"addr\":\"", "\"", ":", "{", "}", ",", "\\\"", "-",
	"18446744073709551616", NULL,
};

static const char *fz_json(const uint8_t *d, size_t len)
{
	char *line = text_of(d, len), buf[64];
	unsigned int k;
	uint64_t v;

	for (k = 0; k < sizeof(json_keys) / sizeof(json_keys[0]); k++) {
		(void)hx_json_find_uint(line, json_keys[k], &v);
		(void)hx_json_find_str(line, json_keys[k], buf, 1 + len % sizeof(buf));
		(void)hx_json_find_str(line, json_keys[k], buf, sizeof(buf));
	}
	free(line);
	return NULL;
}

/* ---- objects ---- */

static const char *const objects_seeds[] = {
	"GET /obj/1000 HTTP/1.1\r\nHost: x\r\n\r\n",
	"HEAD /obj/4096 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n\r\n",
	"GET /obj/100 HTTP/1.1\r\nRange: bytes=-10\r\n\r\nGET /obj/100 HTTP/1.1\r\n"
	"Range: bytes=50-\r\nConnection: close\r\n\r\n",
	"GET /obj/100 HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=200-300\r\n\r\n",
	"PUT /obj/name.1 HTTP/1.1\r\nContent-Length: 5\r\n\r\n\x00\x01\x02\x03\x04"
	"GET /obj/1 HTTP/1.1\r\n\r\n",
	"PUT /obj/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST /obj/1 HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
	"GET /other HTTP/1.1\r\n\r\n",
	NULL,
};

static const char *const objects_dict[] = {
	"GET", "HEAD", "PUT", "POST", " ", "/obj/", "HTTP/1.1", "HTTP/1.0", "\r\n", "\r\n\r\n",
	"Content-Length: ", "Range: ", "bytes=", "Connection: ", "close", "keep-alive",
	"Transfer-Encoding: chunked", "1099511627776", "1099511627777", ":", NULL,
};

/*
 * The bytes arrive as one read: every complete head is dispatched as read_head would, a
 * PUT's body is taken from what follows, and what a response queued is checked to fit.
 */
static const char *fz_objects(const uint8_t *d, size_t len)
{
	static struct hx_serve sv;
	static struct obj_conn o;
	static bool init;
	size_t hlen, rounds = 0;

	if (!init) {
		hx_pattern_init(&sv.pattern);
		init = true;
	}
	memset(&o, 0, sizeof(o));
	o.head_len = len < sizeof(o.head) ? len : sizeof(o.head);
	memcpy(o.head, d, o.head_len);
	while (o.phase == PH_HEAD && (hlen = head_end(o.head, o.head_len)) > 0 && rounds++ < 64) {
		dispatch(&sv, &o, hlen);
		if (o.out_len > sizeof(o.out) || o.head_len > sizeof(o.head))
			fz_abort("response or head past its buffer");
		if (o.phase == PH_SEND && o.close_after)
			break;
		if (o.phase == PH_SEND)
			o.phase = PH_HEAD;	/* the response went out */
	}
	return NULL;
}

static const struct fz_target targets[] = {
	{ "scenario", fz_scenario, NULL, FZ_SRC "/scenarios", ".scn", scenario_dict, 0 },
	{ "conform", fz_conform, NULL, FZ_SRC "/scenarios/conformance", ".case", conform_dict,
	  0 },
	{ "json", fz_json, json_seeds, NULL, NULL, json_dict, 0 },
	{ "objects", fz_objects, objects_seeds, NULL, NULL, objects_dict, 0 },
};

#ifdef HX_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_libfuzzer(targets, sizeof(targets) / sizeof(targets[0]), data, size);
}
#else
int main(int argc, char **argv)
{
	return fz_main(targets, sizeof(targets) / sizeof(targets[0]), argc, argv);
}
#endif
