/* SPDX-License-Identifier: MIT */
/*
 * test_settings.c - settings.c, the DPDK layer's settings: the port kinds and what each
 * needs, memif's defaults, the stack's own keys, the last value of a key winning, and the
 * one-line refusals (topology=, an unknown key, a malformed value). Nothing starts: no DPDK.
 */
#include <errno.h>
#include <string.h>

#include "../dpdk_pvt.h"
#include "test.h"

struct run {
	struct dpk_cfg cfg;
	char err[512];
};

static const struct dpk_opt own[] = { { "tw_max", "a stack's own setting" } };

static int parse(struct run *r, enum tl_role role, const char *const *opts, unsigned int n)
{
	const struct tl_stack_params p = { .role = role, .run_id = "tcplab42", .opts = opts,
					   .n_opts = n, .cpu = -1 };

	r->err[0] = '\0';
	return dpk_cfg_parse(&r->cfg, &p, own, 1, r->err, sizeof(r->err));
}

#define PARSE(r, role, ...) \
	parse(r, role, (const char *const[]){ __VA_ARGS__ }, \
	      sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static int test_memif_defaults_by_role(void)
{
	struct run r;

	EXPECT_EQ_INT(parse(&r, TL_ROLE_SERVER, NULL, 0), 0);
	EXPECT_EQ_INT(r.cfg.port, DPK_PORT_MEMIF);
	EXPECT_EQ_INT(r.cfg.mtu, 9000);
	EXPECT_EQ_INT(r.cfg.checksum, 0);
	EXPECT_STR_CONTAINS(r.cfg.vdev, "net_memif0,role=server");
	EXPECT_STR_CONTAINS(r.cfg.vdev, "socket=/run/tcplab/tcplab42.memif");
	EXPECT_EQ_INT(parse(&r, TL_ROLE_CLIENT, NULL, 0), 0);
	EXPECT_STR_CONTAINS(r.cfg.vdev, "role=client");
	return 0;
}

/* The address plan is the harness's: the layer has no default address, and says so. */
static int test_no_address_of_its_own(void)
{
	struct run r;

	EXPECT_EQ_INT(parse(&r, TL_ROLE_SERVER, NULL, 0), 0);
	EXPECT_TRUE(r.cfg.ip[0] == '\0');
	EXPECT_EQ_INT(dpk_cfg_need_ip(&r.cfg, r.err, sizeof(r.err)), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "port=memif needs ip=");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_CLIENT, "ip=192.0.2.1"), 0);
	EXPECT_TRUE(strcmp(r.cfg.ip, "192.0.2.1") == 0);
	EXPECT_EQ_INT(dpk_cfg_need_ip(&r.cfg, r.err, sizeof(r.err)), 0);
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_CLIENT, "ip=10.1"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "not an IPv4 address");
	return 0;
}

static int test_topology_is_refused_with_its_successor(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "topology=tap"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "--topology now sets port=");
	return 0;
}

static int test_unknown_key_lists_every_key(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "veth_if=tlv-s"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "'veth_if=tlv-s'");
	EXPECT_STR_CONTAINS(r.err, " port,");
	EXPECT_STR_CONTAINS(r.err, " iface,");
	EXPECT_STR_CONTAINS(r.err, " tw_max");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "mtu"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "expected KEY=VALUE");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "tw_max=3"), 0);
	return 0;
}

static int test_last_value_wins(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_CLIENT, "port=pci", "ip=192.0.2.7", "port=memif"), 0);
	EXPECT_EQ_INT(r.cfg.port, DPK_PORT_MEMIF);
	EXPECT_TRUE(strcmp(r.cfg.ip, "192.0.2.7") == 0);
	return 0;
}

static int test_each_port_names_what_it_needs(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=tap", "ip=192.0.2.2"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "tap_addr=");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=tap", "ip=192.0.2.2", "tap_addr=192.0.2.1"),
		      -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "got '192.0.2.1'");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=af_packet", "ip=192.0.2.2"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "port=af_packet needs iface=");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=pci", "ip=192.0.2.2"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "port=pci needs pci=");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=pci", "ip=192.0.2.2", "pci=0000:01:00.0"),
		      0);
	EXPECT_TRUE(r.cfg.vdev[0] == '\0');
	EXPECT_EQ_INT(r.cfg.checksum, 1);
	EXPECT_EQ_INT(r.cfg.mtu, 0);
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "port=vhost"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "expected memif, tap, af_packet or pci, got 'vhost'");
	return 0;
}

/* Outside a named namespace (a plain `meson test`) tap is refused before anything starts. */
static int test_tap_takes_the_namespace_rule(void)
{
	struct run r;
	int rc = PARSE(&r, TL_ROLE_CLIENT, "port=tap", "ip=192.0.2.1", "tap_addr=192.0.2.2/24");

	EXPECT_TRUE(rc == 0 || rc == -EPERM);
	if (rc == -EPERM)
		EXPECT_STR_CONTAINS(r.err, "port=tap: refusing to take a kernel interface");
	else
		EXPECT_STR_CONTAINS(r.cfg.vdev, "net_tap0,iface=tl");
	return 0;
}

static int test_malformed_values_name_the_key(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "ip=10.0.0.300"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option ip: '10.0.0.300' is not an IPv4 address");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "mtu=100"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option mtu: expected an integer in [576, 9000]");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "checksum=maybe"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option checksum: expected auto, on or off");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "huge=always"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option huge");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "iface=an-interface-name-too-long"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option iface");
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "checksum=on"), 0);
	EXPECT_EQ_INT(r.cfg.checksum, 1);
	return 0;
}

/* impair=SPEC: this side's parts (the server is the SUT), a bad part named in one line */
static int test_impair_takes_this_sides_parts(void)
{
	struct run r;

	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_SERVER, "impair=sut:rx:loss=1%;engine:dup=2%;seed=9"), 0);
	EXPECT_TRUE(r.cfg.impair.dir[DPK_IMPAIR_RX].on && !r.cfg.impair.dir[DPK_IMPAIR_TX].on);
	EXPECT_EQ_INT(r.cfg.impair.seed, 9);
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_CLIENT, "impair=sut:rx:loss=1%"), 0);
	EXPECT_TRUE(!dpk_impair_on(&r.cfg.impair));
	EXPECT_EQ_INT(parse(&r, TL_ROLE_CLIENT, NULL, 0), 0);
	EXPECT_TRUE(!dpk_impair_on(&r.cfg.impair));
	EXPECT_EQ_INT(PARSE(&r, TL_ROLE_CLIENT, "impair=tx:loss=1%,delay=5"), -EINVAL);
	EXPECT_STR_CONTAINS(r.err, "stack option impair: 'delay=5': expected delay=TIME");
	return 0;
}

/* The pool follows the connections the run holds (tl_stack_params.conns) unless mbufs=
 * says: three a connection as 2^k - 1, never under 8191, never past 2^20 - 1. */
static int test_the_pool_follows_the_connections(void)
{
	static const unsigned int want[][2] = {
		{ 0, 8191 }, { 1000, 8191 }, { 2730, 8191 }, { 2731, 16383 }, { 10000, 32767 },
		{ 100000, 524287 }, { 1000000, 1048575 },
	};
	struct tl_stack_params p = { .role = TL_ROLE_SERVER, .run_id = "tcplab42", .cpu = -1 };
	const char *user[] = { "mbufs=2047" };
	struct run r;
	unsigned int i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		p.conns = want[i][0];
		EXPECT_EQ_INT(dpk_cfg_parse(&r.cfg, &p, own, 1, r.err, sizeof(r.err)), 0);
		EXPECT_EQ_INT(r.cfg.n_mbufs, want[i][1]);
	}
	p.opts = user;
	p.n_opts = 1;
	EXPECT_EQ_INT(dpk_cfg_parse(&r.cfg, &p, own, 1, r.err, sizeof(r.err)), 0);
	EXPECT_EQ_INT(r.cfg.n_mbufs, 2047);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "memif_defaults_by_role", test_memif_defaults_by_role },
		{ "no_address_of_its_own", test_no_address_of_its_own },
		{ "topology_is_refused_with_its_successor",
		  test_topology_is_refused_with_its_successor },
		{ "unknown_key_lists_every_key", test_unknown_key_lists_every_key },
		{ "last_value_wins", test_last_value_wins },
		{ "each_port_names_what_it_needs", test_each_port_names_what_it_needs },
		{ "tap_takes_the_namespace_rule", test_tap_takes_the_namespace_rule },
		{ "malformed_values_name_the_key", test_malformed_values_name_the_key },
		{ "impair_takes_this_sides_parts", test_impair_takes_this_sides_parts },
		{ "the_pool_follows_the_connections", test_the_pool_follows_the_connections },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
