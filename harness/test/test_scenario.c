/* SPDX-License-Identifier: MIT */
/* test_scenario.c - unit tests of the scenario parser (scenario.h): plans and every error. */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "lang.h"
#include "scenario.h"
#include "test.h"

static const char good[] =
	"# a comment\n"
	"description Request/response # with a hash kept\n"
	"program echo\n"
	"conns 4\n"
	"duration 2s\n"
	"warmup 250ms\n"
	"param size 64\n"
	"client {\n"
	"    connect\n"
	"    repeat {\n"
	"        measure {\n"
	"            send $size\n"
	"            recv $size\n"
	"        }\n"
	"    }\n"
	"    close\n"
	"}\n"
	"check p99 < 5ms\n"
	"check tps >= 10k\n";

static struct hx_scenario sc;

static int parse(const char *text, const struct hx_override *ov, unsigned int n, char *err)
{
	return hx_scenario_parse(&sc, "t", "t.scn", text, ov, n, err, HX_ERR_MAX);
}

static int test_good_plan(void)
{
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse(good, NULL, 0, err), 0);
	EXPECT_STR_CONTAINS(sc.description, "Request/response # with a hash kept");
	EXPECT_STR_CONTAINS(sc.program, "echo");
	EXPECT_EQ_INT(sc.conns, 4);
	EXPECT_EQ_INT(sc.duration_ns, 2000000000LL);
	EXPECT_EQ_INT(sc.warmup_ns, 250000000LL);
	EXPECT_EQ_INT(sc.n_ops, 9);
	EXPECT_EQ_INT(sc.ops[8].code, HX_OP_DONE);
	EXPECT_EQ_INT(sc.ops[0].code, HX_OP_CONNECT);
	EXPECT_EQ_INT(sc.ops[1].code, HX_OP_LOOP);
	EXPECT_EQ_INT(sc.ops[1].arg, 0);
	EXPECT_EQ_INT(sc.ops[1].jump, 7);	/* past the tail */
	EXPECT_EQ_INT(sc.ops[2].code, HX_OP_MEASURE_BEGIN);
	EXPECT_EQ_INT(sc.ops[3].code, HX_OP_SEND);
	EXPECT_EQ_INT(sc.ops[3].arg, 64);
	EXPECT_EQ_INT(sc.ops[3].line, 12);
	EXPECT_EQ_INT(sc.ops[5].code, HX_OP_MEASURE_END);
	EXPECT_EQ_INT(sc.ops[6].code, HX_OP_NEXT);
	EXPECT_EQ_INT(sc.ops[6].jump, 1);
	EXPECT_EQ_INT(sc.ops[7].code, HX_OP_CLOSE);
	EXPECT_EQ_INT(sc.n_checks, 2);
	EXPECT_EQ_INT((long long)sc.checks[0].limit, 5000000);
	EXPECT_EQ_INT((long long)sc.checks[1].limit, 10000);
	EXPECT_EQ_INT(sc.checks[1].cmp, HX_CMP_GE);
	return 0;
}

/* A check's value may be a param, so the command line can move a bound with the load. */
static int test_check_param(void)
{
	static const char text[] = "program echo\nparam lim 2s\nclient {\nconnect\n}\n"
				   "check p99 < $lim\n";
	const struct hx_override ov[] = { { "lim", "10s" } };
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse(text, NULL, 0, err), 0);
	EXPECT_EQ_INT((long long)sc.checks[0].limit, 2000000000LL);
	EXPECT_EQ_INT(parse(text, ov, 1, err), 0);
	EXPECT_EQ_INT((long long)sc.checks[0].limit, 10000000000LL);
	EXPECT_STR_CONTAINS(sc.checks[0].text, "p99 < 10s");
	return 0;
}

static int test_overrides(void)
{
	const struct hx_override ov[] = {
		{ "size", "1k" }, { "conns", "8" }, { "rate", "2k" }, { "duration", "500ms" },
	};
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse(good, ov, 4, err), 0);
	EXPECT_EQ_INT(sc.ops[3].arg, 1024);
	EXPECT_EQ_INT(sc.conns, 8);
	EXPECT_EQ_INT(sc.pacing, HX_PACING_OPEN);
	EXPECT_EQ_INT((long long)sc.rate, 2000);
	EXPECT_EQ_INT(sc.duration_ns, 500000000LL);
	return 0;
}

/* impair SPEC: kept as written, replaced by an override (--impair), refused at its line */
static int test_impair_directive(void)
{
	static const char lossy[] = "program echo\nimpair sut:rx:loss=1%;seed=3\n"
				    "client {\n connect\n}\n";
	static const char bad[] = "program echo\nimpair tx:delay=5\nclient {\n connect\n}\n";
	const struct hx_override ov[] = { { "impair", "engine:tx:dup=2%" } };
	const struct hx_override badov[] = { { "impair", "lose=1%" } };
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse(good, NULL, 0, err), 0);
	EXPECT_TRUE(sc.impair[0] == '\0');
	EXPECT_EQ_INT(parse(lossy, NULL, 0, err), 0);
	EXPECT_TRUE(strcmp(sc.impair, "sut:rx:loss=1%;seed=3") == 0);
	EXPECT_EQ_INT(parse(lossy, ov, 1, err), 0);
	EXPECT_TRUE(strcmp(sc.impair, "engine:tx:dup=2%") == 0);
	EXPECT_EQ_INT(parse(good, ov, 1, err), 0);
	EXPECT_TRUE(strcmp(sc.impair, "engine:tx:dup=2%") == 0);
	EXPECT_EQ_INT(parse(bad, NULL, 0, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "t.scn:2: impair: 'delay=5': expected delay=TIME");
	EXPECT_EQ_INT(parse(good, badov, 1, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "t.scn: impair: 'lose=1%': unknown kind");
	return 0;
}

static int test_counted_repeat_and_shutdown(void)
{
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse("program sink\nclient {\nconnect\nrepeat 3 {\nsend 1m\n}\n"
			    "shutdown wr\nsleep 1ms\nclose\n}\n", NULL, 0, err), 0);
	EXPECT_EQ_INT(sc.ops[1].code, HX_OP_LOOP);
	EXPECT_EQ_INT(sc.ops[1].arg, 3);
	EXPECT_EQ_INT(sc.ops[2].arg, 1024 * 1024);
	EXPECT_EQ_INT(sc.ops[4].code, HX_OP_SHUTDOWN);
	EXPECT_EQ_INT(sc.ops[5].code, HX_OP_SLEEP);
	EXPECT_EQ_INT(sc.ops[5].arg, 1000000);
	return 0;
}

/* Each bad input: the text and what the one-line message must say (with file:line). */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "program echo\nconn 4\n", "t.scn:2: unknown directive 'conn' (valid:" },
	{ "program echoo\n", "t.scn:1: unknown program 'echoo' (valid: echo, sink, source, objects)" },
	{ "program echo\nconns 0\n", "t.scn:2: conns: '0' is not a count" },
	{ "program echo\nduration ten\n", "t.scn:2: duration: 'ten' is not a time" },
	{ "program echo\npacing open\n", "t.scn:2: pacing: expected 'closed' or 'open RATE'" },
	{ "program echo\nclient {\nsned 64\n}\n", "t.scn:3: unknown step 'sned' (valid:" },
	{ "program echo\nclient {\nsend\n}\n", "t.scn:3: send: expected 'send SIZE'" },
	{ "program echo\nclient {\nsend 17q\n}\n", "t.scn:3: send: '17q' is not a size" },
	{ "program echo\nclient {\nsend 32m\n}\n", "t.scn:3: send: '32m' is not a size" },
	{ "program echo\nclient {\nsend $nope\n}\n", "t.scn:3: unknown param '$nope'" },
	{ "program echo\nclient {\nconnect\n", "t.scn:3: end of file inside the block opened "
					       "at line 2" },
	{ "program echo\n}\n", "t.scn:2: unknown directive '}'" },
	{ "program echo\nclient {\n}\n", "t.scn:3: client block has no steps" },
	{ "program echo\nclient {\nrepeat {\n}\n}\n", "t.scn:4: repeat block opened at line 3 "
						      "has no steps" },
	{ "program echo\nclient {\nmeasure {\nmeasure {\n", "t.scn:4: measure blocks cannot "
							   "nest" },
	{ "program echo\nclient {\nrepeat 0 {\n", "t.scn:3: repeat: '0' is not a count" },
	{ "program echo\nclient {\nshutdown both\n}\n", "t.scn:3: shutdown: expected" },
	{ "program echo\ncheck p99 < 5\n", "t.scn:2: check: '5' is not a latency with a unit" },
	{ "program echo\ncheck p98 < 5ms\n", "t.scn:2: check: unknown metric 'p98'" },
	{ "program echo\ncheck p99 ~ 5ms\n", "t.scn:2: check: unknown comparison '~'" },
	{ "program echo\ncheck tps > many\n", "t.scn:2: check: 'many' is not a number" },
	{ "program echo\ncheck p99 < $lim\n", "t.scn:2: unknown param '$lim'" },
	{ "program echo\nparam lim 5\ncheck p99 < $lim\n",
	  "t.scn:3: check: '5' is not a latency with a unit" },
	{ "program echo\nparam a 1\nparam a 2\n", "t.scn:3: param 'a' declared twice" },
	{ "client {\nconnect\n}\n", "t.scn: no 'program' line" },
	{ "program echo\n", "t.scn: no 'client { ... }' block" },
	{ "program echo\npacing open 10\nclient {\nconnect\n}\n",
	  "t.scn:2: open pacing needs a 'measure { ... }' section" },
	{ "program echo\nclient {\nconnect\n}\nclient {\n", "t.scn:5: a second client block" },
	/* one size grammar: every step that takes a size says the same of a malformed one */
	{ "program echo\nclient {\nsend 4kb\n}\n", "t.scn:3: send: '4kb' is not a size" },
	{ "program echo\nclient {\nsend 1e3\n}\n", "t.scn:3: send: '1e3' is not a size" },
	{ "program echo\nclient {\nsend 0x10\n}\n", "t.scn:3: send: '0x10' is not a size" },
	{ "program echo\nclient {\nsend -4\n}\n", "t.scn:3: send: '-4' is not a size" },
	{ "program echo\nclient {\nrecv 1.\n}\n", "t.scn:3: recv: '1.' is not a size" },
	{ "program echo\nclient {\nrecv .5k\n}\n", "t.scn:3: recv: '.5k' is not a size" },
	{ "program echo\nclient {\nrecv 1.3\n}\n", "t.scn:3: recv: '1.3' is not a size" },
	{ "program echo\nclient {\nsend 0\n}\n", "t.scn:3: send: '0' is not a size from 1 byte "
						     "to 16m" },
	{ "program objects\nclient {\nget 4kibb\n}\n", "t.scn:3: get: '4kibb' is not a size" },
	{ "program objects\nclient {\nget 4q\n}\n", "t.scn:3: get: '4q' is not a size from 1 "
						   "byte to 256m" },
	{ "program objects\nclient {\nget 4k chunk 1.1\n}\n", "t.scn:3: get: '1.1' is not a size" },
	{ "program objects\nclient {\nget 4k buffer\n}\n", "t.scn:3: get: expected 'get SIZE "
						       "[buffer SIZE] [chunk SIZE]'" },
	{ "program objects\nclient {\nput 1k buffer 2x\n}\n", "t.scn:3: put: '2x' is not a size" },
	{ "program objects\nclient {\nraw_get 300m\n}\n", "t.scn:3: raw_get: '300m' is not a "
						      "size from 1 byte to 256m" },
	{ "program objects\nclient {\nseek_read 4x 1k random\n}\n", "t.scn:3: seek_read: '4x' is "
								 "not a size" },
	{ "program objects\nclient {\nseek_read 4k 64k random\n}\n", "t.scn:3: seek_read: expected "
	  "'seek_read OBJSIZE READSIZE random|inbuffer [buffer SIZE]', READSIZE <= OBJSIZE <= 1g" },
	{ "program objects\nclient {\ncache_read 1k 4\n}\n", "t.scn:3: cache_read: '1k' is not a "
							    "size from 4k to 1g" },
	{ "program objects\nclient {\ncache_read 1m 4 zipf x\n}\n", "t.scn:3: cache_read: 'x' is "
								 "not a Zipf exponent" },
	{ "program objects\nparam s 4z\nclient {\nget $s\n}\n",
	  "t.scn:4: get: '4z' is not a size" },
	{ "program objects\nclient {\nverify now\n}\n", "t.scn:3: verify: takes no arguments" },
};

static int test_bad_inputs(void)
{
	char err[HX_ERR_MAX];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].text, NULL, 0, err) != -EINVAL) {
			fprintf(stderr, "bad input %u was accepted:\n%s\n", i, bad[i].text);
			return 1;
		}
		EXPECT_STR_CONTAINS(err, bad[i].msg);
		EXPECT_TRUE(strchr(err, '\n') == NULL);
	}
	return 0;
}

static int test_bad_overrides(void)
{
	const struct hx_override unknown[] = { { "colour", "blue" } };
	const struct hx_override badval[] = { { "conns", "many" } };
	const struct hx_override badsize[] = { { "size", "huge" } };
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(parse(good, unknown, 1, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "t.scn: --set colour: unknown key (valid: conns, duration");
	EXPECT_EQ_INT(parse(good, badval, 1, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "conns: 'many' is not a count");
	EXPECT_EQ_INT(parse(good, badsize, 1, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "t.scn:12: send: 'huge' is not a size");
	return 0;
}

/* One grammar for sizes: the same words mean the same bytes in every step. */
static int test_sizes(void)
{
	static const struct {
		const char *word;
		uint64_t bytes;
	} sizes[] = {
		{ "64", 64 }, { "64b", 64 }, { "64B", 64 }, { "4k", 4096 }, { "4K", 4096 },
		{ "4kib", 4096 }, { "4KiB", 4096 }, { "1.5k", 1536 }, { "1m", 1 << 20 },
		{ "2MiB", 2 << 20 }, { "16m", 16 << 20 },
	};
	char text[256], err[HX_ERR_MAX] = "";
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), "program objects\nclient {\nsend %s\nget %s buffer %s "
			 "chunk %s\nput %s\nraw_get %s\nseek_read 1g %s random\n}\n",
			 sizes[i].word, sizes[i].word, sizes[i].word, sizes[i].word,
			 sizes[i].word, sizes[i].word, sizes[i].word);
		EXPECT_EQ_INT(parse(text, NULL, 0, err), 0);
		EXPECT_EQ_INT(sc.ops[0].arg, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[1].code, HX_OP_OBJ_GET);
		EXPECT_EQ_INT(sc.ops[1].arg, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[1].arg2, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[1].arg3, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[2].arg, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[3].arg, sizes[i].bytes);
		EXPECT_EQ_INT(sc.ops[4].arg, UINT64_C(1) << 30);
		EXPECT_EQ_INT(sc.ops[4].arg2, sizes[i].bytes);
	}
	EXPECT_EQ_INT(parse("program objects\nclient {\nget 4kib\n}\n", NULL, 0, err), 0);
	EXPECT_EQ_INT(sc.ops[0].code, HX_OP_OBJ_GET);
	EXPECT_EQ_INT(sc.ops[0].arg, 4096);
	EXPECT_EQ_INT(parse("program objects\nclient {\ncache_read 64MiB 1024 zipf 0.99\n}\n",
			    NULL, 0, err), 0);
	EXPECT_EQ_INT(sc.ops[0].arg, 64 << 20);
	EXPECT_EQ_INT(sc.ops[0].arg2, 1024);
	EXPECT_EQ_INT(sc.ops[0].arg3, 990);
	return 0;
}

/* The tables are consistent: names unique, every step parses and maps back from its op. */
static int test_tables(void)
{
	const struct hx_step *const *s, *const *t;
	const struct hx_metric *m, *n;
	char text[256], err[HX_ERR_MAX] = "";

	for (s = hx_lang_steps(); *s != NULL; s++) {
		EXPECT_TRUE((*s)->parse != NULL && (*s)->usage != NULL);
		EXPECT_TRUE((*s)->description != NULL);
		EXPECT_TRUE(hx_lang_step_find((*s)->name) == *s);
		EXPECT_TRUE(hx_lang_step_of((*s)->code) == *s);
		for (t = s + 1; *t != NULL; t++)
			EXPECT_TRUE(strcmp((*s)->name, (*t)->name) != 0 &&
				    (*s)->code != (*t)->code);
	}
	for (m = hx_lang_metrics(); m->name != NULL; m++) {
		EXPECT_TRUE(m->get != NULL && m->description != NULL);
		EXPECT_TRUE(hx_lang_metric_find(m->name) == m);
		for (n = m + 1; n->name != NULL; n++)
			EXPECT_TRUE(strcmp(m->name, n->name) != 0);
		/* every metric can be checked, a latency with a time, the rest with a number */
		snprintf(text, sizeof(text), "program echo\nclient {\nconnect\n}\ncheck %s < %s\n",
			 m->name, m->unit == HX_UNIT_NS ? "5ms" : "1.5k");
		EXPECT_EQ_INT(parse(text, NULL, 0, err), 0);
		EXPECT_EQ_INT((long long)sc.checks[0].limit,
			      m->unit == HX_UNIT_NS ? 5000000 : 1500);
	}
	EXPECT_TRUE(hx_lang_metric_find("p99")->unit == HX_UNIT_NS);
	EXPECT_TRUE(hx_lang_metric_find("p98") == NULL);
	return 0;
}

/* Messages list what the tables hold, and so does the listing. */
static int test_listing(void)
{
	char err[HX_ERR_MAX] = "", *buf = NULL;
	size_t len = 0;
	struct hx_json j;
	FILE *f;

	EXPECT_EQ_INT(parse("program echo\nclient {\nsned 1\n}\n", NULL, 0, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "(valid: connect, send, recv, shutdown, close, sleep, repeat, "
			    "measure, get, put, raw_get, seek_read, cache_read, verify, })");
	EXPECT_EQ_INT(parse("program echo\ncheck p98 < 1ms\n", NULL, 0, err), -EINVAL);
	EXPECT_STR_CONTAINS(err, "p90, p99, p99_9, p99_99, max, requests, extra_requests,");
	f = open_memstream(&buf, &len);
	EXPECT_TRUE(f != NULL);
	hx_json_init(&j, f, false);
	hx_json_obj_begin(&j, NULL);
	hx_lang_list_json(&j);
	hx_json_obj_end(&j);
	fclose(f);
	EXPECT_STR_CONTAINS(buf, "\"steps\":[{\"name\":\"connect\",\"usage\":\"\",");
	EXPECT_STR_CONTAINS(buf, "{\"name\":\"get\",\"usage\":\"SIZE [buffer SIZE] [chunk SIZE]\"");
	EXPECT_STR_CONTAINS(buf, "{\"name\":\"p99\",\"unit\":\"ns\","
			    "\"field\":\"metrics.latency_ns.p99\",");
	EXPECT_STR_CONTAINS(buf, "{\"name\":\"hit_ratio\",\"unit\":\"ratio\","
			    "\"field\":\"metrics.bio.hit_ratio\",");
	free(buf);
	return 0;
}

static int test_missing_file(void)
{
	char err[HX_ERR_MAX] = "";

	EXPECT_EQ_INT(hx_scenario_load(&sc, "x", "/nonexistent/x.scn", NULL, 0, err, sizeof(err)),
		      -ENOENT);
	EXPECT_STR_CONTAINS(err, "/nonexistent/x.scn: No such file or directory");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "good_plan", test_good_plan },
		{ "overrides", test_overrides },
		{ "check_param", test_check_param },
		{ "impair_directive", test_impair_directive },
		{ "counted_repeat_and_shutdown", test_counted_repeat_and_shutdown },
		{ "bad_inputs", test_bad_inputs },
		{ "bad_overrides", test_bad_overrides },
		{ "sizes", test_sizes },
		{ "tables", test_tables },
		{ "listing", test_listing },
		{ "missing_file", test_missing_file },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
