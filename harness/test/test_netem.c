/* SPDX-License-Identifier: MIT */
/*
 * test_netem.c - unit tests of a kernel side's impairment (netem.h): each SPEC kind as the
 * netem and tbf arguments tc is given, the kinds netem has no match for, and the plan (which
 * side and direction, the ifb names, a topology with no link end). Setting it up needs a
 * kernel with netem: pytest/test_impair.py.
 */
#include <errno.h>

#include "netem.h"
#include "test.h"

#define EXPECT_STR_EQ(a, b) do {						\
	if (strcmp((a), (b)) != 0) {						\
		fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__,	\
			__LINE__, (b), (a));					\
		return 1;							\
	}									\
} while (0)

/* The one direction SPEC gives the engine's tx, as netem and tbf arguments. */
static int args_of(const char *spec, char *netem, char *tbf, char *err)
{
	struct dpk_impair_spec s;

	if (dpk_impair_parse(&s, spec, TL_ROLE_CLIENT, err, 256) < 0)
		return -2;
	return hx_netem_args(&s.dir[DPK_IMPAIR_TX], netem, HX_NETEM_ARGS_MAX, tbf, 128, err,
			     256);
}

static int test_each_kind(void)
{
	static const struct { const char *spec, *netem, *tbf; } cases[] = {
		{ "engine:tx:loss=1%", "limit 4096 loss random 1%", "" },
		{ "engine:tx:loss=0.1%", "limit 4096 loss random 0.1%", "" },
		/* netem takes 1-h and 1-k, the loss in the bad and the good state */
		{ "engine:tx:loss=ge(p=1%,r=25%)", "limit 4096 loss gemodel 1% 25% 100% 0%", "" },
		{ "engine:tx:loss=ge(p=2%,r=30%,h=10%,k=99.5%)",
		  "limit 4096 loss gemodel 2% 30% 90% 0.5%", "" },
		{ "engine:tx:dup=0.5%", "limit 4096 duplicate 0.5%", "" },
		{ "engine:tx:corrupt=2%", "limit 4096 corrupt 2%", "" },
		{ "engine:tx:delay=5ms", "limit 4096 delay 5000.000us", "" },
		{ "engine:tx:delay=1500ns~200ns", "limit 4096 delay 1.500us 0.200us", "" },
		/* default depth: 10 ms at the rate, at least one 9000-byte frame */
		{ "engine:tx:rate=100mbit", "limit 4096", "rate 100000000bit burst 125000 limit 1550336" },
		{ "engine:tx:rate=1mbit", "limit 4096", "rate 1000000bit burst 9014 limit 1550336" },
		{ "engine:tx:loss=1%,dup=2%,delay=1ms~100us",
		  "limit 4096 delay 1000.000us 100.000us loss random 1% duplicate 2%", "" },
		{ "engine:tx:loss=0%", "limit 4096", "" },
	};
	char netem[HX_NETEM_ARGS_MAX], tbf[128], err[256];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (args_of(cases[i].spec, netem, tbf, err) != 0) {
			fprintf(stderr, "%s: %s\n", cases[i].spec, err);
			return 1;
		}
		EXPECT_STR_EQ(netem, cases[i].netem);
		EXPECT_STR_EQ(tbf, cases[i].tbf);
	}
	return 0;
}

static int test_no_match_is_refused(void)
{
	static const struct { const char *spec, *err; } cases[] = {
		{ "engine:tx:reorder=1%/3", "reorder=P%/N has no netem match" },
		{ "engine:tx:rate=1000fps", "rate=Nfps has no netem match" },
		{ "engine:tx:rate=10mbit/3000", "rate=N/BYTES has no netem match" },
	};
	char netem[HX_NETEM_ARGS_MAX], tbf[128], err[256];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ_INT(args_of(cases[i].spec, netem, tbf, err), -EINVAL);
		EXPECT_STR_CONTAINS(err, cases[i].err);
	}
	return 0;
}

/* Only sockets sides are planned, each direction the spec names, on the table's link end. */
static int test_plan(void)
{
	const struct hx_topology *veth = NULL, *const *t;
	const enum tl_attach mixed[HX_SIDES] = { TL_ATTACH_DPDK, TL_ATTACH_SOCKETS };
	const enum tl_attach kernel[HX_SIDES] = { TL_ATTACH_SOCKETS, TL_ATTACH_SOCKETS };
	struct hx_netem n;
	char want[32];

	for (t = hx_topologies(); *t != NULL && veth == NULL; t++)
		if ((*t)->ifname[HX_SIDE_ENGINE] != NULL && (*t)->ifname[HX_SIDE_SUT] != NULL)
			veth = *t;
	EXPECT_TRUE(veth != NULL);
	EXPECT_EQ_INT(hx_netem_check(&n, veth, mixed, "loss=1%;seed=3"), 0);
	EXPECT_TRUE(!n.dir[HX_SIDE_ENGINE][DPK_IMPAIR_TX].on);
	EXPECT_TRUE(!n.dir[HX_SIDE_ENGINE][DPK_IMPAIR_RX].on);
	EXPECT_TRUE(n.dir[HX_SIDE_SUT][DPK_IMPAIR_TX].on && n.dir[HX_SIDE_SUT][DPK_IMPAIR_RX].on);
	snprintf(want, sizeof(want), "%s-rx", veth->ifname[HX_SIDE_SUT]);
	EXPECT_STR_EQ(n.dir[HX_SIDE_SUT][DPK_IMPAIR_RX].ifb, want);
	EXPECT_TRUE(hx_netem_on(&n));

	EXPECT_EQ_INT(hx_netem_check(&n, veth, kernel, "sut:rx:dup=1%"), 0);
	EXPECT_TRUE(!n.dir[HX_SIDE_ENGINE][DPK_IMPAIR_TX].on);
	EXPECT_TRUE(!n.dir[HX_SIDE_SUT][DPK_IMPAIR_TX].on);
	EXPECT_STR_EQ(n.dir[HX_SIDE_SUT][DPK_IMPAIR_RX].netem, "limit 4096 duplicate 1%");
	EXPECT_STR_EQ(n.dev[HX_SIDE_ENGINE], veth->ifname[HX_SIDE_ENGINE]);

	EXPECT_EQ_INT(hx_netem_check(&n, veth, kernel, ""), 0);
	EXPECT_TRUE(!hx_netem_on(&n));
	EXPECT_TRUE(hx_netem_json(&n) == NULL);
	EXPECT_EQ_INT(hx_netem_check(&n, veth, mixed, "engine:loss=1%"), 0);
	EXPECT_TRUE(!hx_netem_on(&n));	/* the DPDK side's stage does it */
	return 0;
}

/* A sockets side with no link end of its own (the default sockets topology) is refused. */
static int test_no_link_end(void)
{
	const struct hx_topology *s = hx_topology_default(TL_ATTACH_SOCKETS);
	const enum tl_attach kernel[HX_SIDES] = { TL_ATTACH_SOCKETS, TL_ATTACH_SOCKETS };
	struct hx_netem n;

	EXPECT_TRUE(s != NULL && s->ifname[HX_SIDE_SUT] == NULL);
	EXPECT_EQ_INT(hx_netem_check(&n, s, kernel, "sut:loss=1%"), -EINVAL);
	EXPECT_EQ_INT(hx_netem_check(&n, s, kernel, "sut:reorder=1%/2"), -EINVAL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "each_kind", test_each_kind },
		{ "no_match_is_refused", test_no_match_is_refused },
		{ "plan", test_plan },
		{ "no_link_end", test_no_link_end },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
