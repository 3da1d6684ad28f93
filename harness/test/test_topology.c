/* SPDX-License-Identifier: MIT */
/*
 * test_topology.c - unit tests of the topology table (topology.h): what `list --json` cannot
 * show, the rules run, serve and case pick by, and the order of a side's settings.
 */
#include <stdlib.h>

#include "test.h"
#include "topology.h"

/* Every entry joins its own default kinds, and names are unique. */
static int test_defaults_are_joined(void)
{
	const struct hx_topology *const *t, *const *u;

	for (t = hx_topologies(); *t != NULL; t++) {
		EXPECT_TRUE(hx_topology_allows(*t, (*t)->dflt[HX_SIDE_ENGINE],
					       (*t)->dflt[HX_SIDE_SUT]));
		EXPECT_TRUE(hx_topology_find((*t)->name) == *t);
		for (u = t + 1; *u != NULL; u++)
			EXPECT_TRUE(strcmp((*t)->name, (*u)->name) != 0);
	}
	EXPECT_TRUE(hx_topology_find("nosuch") == NULL);
	return 0;
}

/* A backend's own topology: no namespaces, its kind on both sides. */
static int test_default_per_kind(void)
{
	const struct hx_topology *s = hx_topology_default(TL_ATTACH_SOCKETS);
	const struct hx_topology *d = hx_topology_default(TL_ATTACH_DPDK);

	EXPECT_TRUE(s != NULL && d != NULL);
	EXPECT_EQ_INT(s->namespaces, HX_NS_NONE);
	EXPECT_EQ_INT(d->namespaces, HX_NS_NONE);
	EXPECT_TRUE(strcmp(s->name, "loopback") == 0);
	EXPECT_TRUE(strcmp(d->name, "memif") == 0);
	EXPECT_TRUE(!hx_topology_takes(s, HX_SIDE_SUT, TL_ATTACH_DPDK));
	return 0;
}

/* Conformance: a Linux peer facing a kernel SUT is veth, facing a DPDK SUT is tap. */
static int test_linux_peer(void)
{
	const struct hx_topology *k = hx_topology_linux_peer(TL_ATTACH_SOCKETS);
	const struct hx_topology *d = hx_topology_linux_peer(TL_ATTACH_DPDK);

	EXPECT_TRUE(k != NULL && d != NULL);
	EXPECT_TRUE(strcmp(k->name, "veth") == 0);
	EXPECT_TRUE(strcmp(d->name, "tap") == 0);
	EXPECT_TRUE(k->plan != NULL && d->plan != NULL);
	return 0;
}

/* one-dpdk: exactly one side on a DPDK port. */
static int test_mix(void)
{
	const struct hx_topology *tap = hx_topology_find("tap"), *veth = hx_topology_find("veth");

	EXPECT_TRUE(hx_topology_allows(tap, TL_ATTACH_DPDK, TL_ATTACH_SOCKETS));
	EXPECT_TRUE(hx_topology_allows(tap, TL_ATTACH_SOCKETS, TL_ATTACH_DPDK));
	EXPECT_TRUE(!hx_topology_allows(tap, TL_ATTACH_DPDK, TL_ATTACH_DPDK));
	EXPECT_TRUE(!hx_topology_allows(tap, TL_ATTACH_SOCKETS, TL_ATTACH_SOCKETS));
	EXPECT_TRUE(hx_topology_allows(veth, TL_ATTACH_SOCKETS, TL_ATTACH_SOCKETS));
	EXPECT_TRUE(hx_topology_mixed(tap) && hx_topology_mixed(veth));
	EXPECT_TRUE(!hx_topology_mixed(hx_topology_find("memif")));
	EXPECT_TRUE(!hx_topology_mixed(hx_topology_find("loopback")));
	return 0;
}

/* The table's settings first, the user's after, so tl_params_get gives the user's. */
static int test_user_settings_win(void)
{
	const char *user[] = { "ip=192.0.2.9", "mtu=1500" };
	struct tl_stack_params p = { .role = TL_ROLE_SERVER };
	struct hx_side_opts so;

	hx_side_opts_build(&so, hx_topology_find("tap"), HX_SIDE_SUT, TL_ATTACH_DPDK, user, 2);
	EXPECT_EQ_INT(so.n, 5);
	EXPECT_TRUE(strcmp(so.opts[0], "port=tap") == 0);
	EXPECT_TRUE(strcmp(so.opts[1], "ip=10.99.0.2") == 0);
	EXPECT_TRUE(strcmp(so.opts[2], "tap_addr=10.99.0.1/24") == 0);
	p.opts = so.opts;
	p.n_opts = so.n;
	EXPECT_TRUE(strcmp(tl_params_get(&p, "ip", ""), "192.0.2.9") == 0);
	EXPECT_TRUE(strcmp(tl_params_get(&p, "port", ""), "tap") == 0);
	return 0;
}

/* A sockets side gets no port settings: only the user's. */
static int test_sockets_side_gets_only_the_users(void)
{
	const char *user[] = { "x=1" };
	struct hx_side_opts so;

	hx_side_opts_build(&so, hx_topology_find("veth"), HX_SIDE_ENGINE, TL_ATTACH_SOCKETS,
			   user, 1);
	EXPECT_EQ_INT(so.n, 1);
	EXPECT_TRUE(strcmp(so.opts[0], "x=1") == 0);
	hx_side_opts_build(&so, hx_topology_find("veth"), HX_SIDE_ENGINE, TL_ATTACH_DPDK, NULL,
			   0);
	EXPECT_EQ_INT(so.n, 3);
	EXPECT_TRUE(strcmp(so.opts[1], "iface=tlv-c") == 0);
	return 0;
}

/* Messages list every name, in table order. */
static int test_names(void)
{
	char buf[128], kinds[32];

	hx_topology_names(buf, sizeof(buf));
	EXPECT_TRUE(strcmp(buf, "loopback, memif, tap, veth, pci") == 0);
	hx_topology_kinds_text(hx_topology_find("pci"), HX_SIDE_SUT, kinds, sizeof(kinds));
	EXPECT_TRUE(strcmp(kinds, "sockets or dpdk") == 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "defaults_are_joined", test_defaults_are_joined },
		{ "default_per_kind", test_default_per_kind },
		{ "linux_peer", test_linux_peer },
		{ "mix", test_mix },
		{ "user_settings_win", test_user_settings_win },
		{ "sockets_side_gets_only_the_users", test_sockets_side_gets_only_the_users },
		{ "names", test_names },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
