/* SPDX-License-Identifier: MIT */
/* test_scenario.c - unit tests of the scenario parser (scenario.h): plans and every error. */
#include <errno.h>
#include <stdlib.h>

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
	EXPECT_EQ_INT(sc.max_msg, 1024 * 1024);
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
	{ "program echo\nparam a 1\nparam a 2\n", "t.scn:3: param 'a' declared twice" },
	{ "client {\nconnect\n}\n", "t.scn: no 'program' line" },
	{ "program echo\n", "t.scn: no 'client { ... }' block" },
	{ "program echo\npacing open 10\nclient {\nconnect\n}\n",
	  "t.scn:2: open pacing needs a 'measure { ... }' section" },
	{ "program echo\nclient {\nconnect\n}\nclient {\n", "t.scn:5: a second client block" },
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
		{ "counted_repeat_and_shutdown", test_counted_repeat_and_shutdown },
		{ "bad_inputs", test_bad_inputs },
		{ "bad_overrides", test_bad_overrides },
		{ "missing_file", test_missing_file },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
