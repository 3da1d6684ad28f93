/* SPDX-License-Identifier: MIT */
/*
 * topology.c - the topology table (topology.h) and the run's own network namespaces, made and
 * removed with ip(8) as the table's entry says.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "topology.h"

#define SOCKETS HX_KIND(TL_ATTACH_SOCKETS)
#define DPDK HX_KIND(TL_ATTACH_DPDK)

/* ---- the table ---- */

/* The one plan of every namespaced or DPDK topology; .3 is for scapy, no stack owns it. */
static const struct hx_addr_plan net_plan = {
	.prefix_len = 24, .addr = { "10.99.0.1", "10.99.0.2" }, .spare = "10.99.0.3",
};

static const struct hx_addr_plan loopback_plan = {
	.prefix_len = 8, .addr = { "127.0.0.1", "127.0.0.1" }, .spare = NULL,
};

static const struct hx_topology loopback = {
	.name = "loopback",
	.description = "Linux loopback (127.0.0.1): the kernel baseline",
	.kinds = { SOCKETS, SOCKETS }, .mix = HX_MIX_ANY,
	.dflt = { TL_ATTACH_SOCKETS, TL_ATTACH_SOCKETS },
	.namespaces = HX_NS_NONE, .link = HX_LINK_NONE, .plan = &loopback_plan,
};

static const struct hx_topology memif = {
	.name = "memif",
	.description = "a DPDK memif pair between the two processes: no kernel in the data path",
	.kinds = { DPDK, DPDK }, .mix = HX_MIX_ANY, .dflt = { TL_ATTACH_DPDK, TL_ATTACH_DPDK },
	.namespaces = HX_NS_NONE, .link = HX_LINK_MEMIF, .port = "memif", .plan = &net_plan,
};

static const struct hx_topology tap = {
	.name = "tap",
	.description = "one side on a DPDK tap port, the other the Linux stack at the tap's "
		       "kernel end, in a namespace the run makes",
	.kinds = { SOCKETS | DPDK, SOCKETS | DPDK }, .mix = HX_MIX_ONE_DPDK,
	.dflt = { TL_ATTACH_DPDK, TL_ATTACH_SOCKETS },
	.namespaces = HX_NS_SHARED, .link = HX_LINK_TAP, .port = "tap", .plan = &net_plan,
	.stack_makes_link = true,
};

static const struct hx_topology veth = {
	.name = "veth",
	.description = "the two-host simulation: a namespace a side, joined by a veth pair; a "
		       "DPDK side takes its end with af_packet",
	.kinds = { SOCKETS | DPDK, SOCKETS | DPDK }, .mix = HX_MIX_ANY,
	.dflt = { TL_ATTACH_DPDK, TL_ATTACH_DPDK },
	.namespaces = HX_NS_PER_SIDE, .link = HX_LINK_VETH, .ifname = { "tlv-c", "tlv-s" },
	.port = "af_packet", .plan = &net_plan,
};

static const struct hx_topology pci = {
	.name = "pci",
	.description = "a NIC bound for DPDK on this host (pci=), the SUT on another (--peer)",
	.kinds = { DPDK, SOCKETS | DPDK }, .mix = HX_MIX_ANY,
	.dflt = { TL_ATTACH_DPDK, TL_ATTACH_DPDK },
	.namespaces = HX_NS_NONE, .link = HX_LINK_PCI, .port = "pci", .plan = NULL,
	.remote_sut = true,
};

static const struct hx_topology *const table[] = { &loopback, &memif, &tap, &veth, &pci, NULL };

static const char *const mix_names[] = { [HX_MIX_ANY] = "any", [HX_MIX_ONE_DPDK] = "one-dpdk" };
static const char *const ns_names[] = {
	[HX_NS_NONE] = "none", [HX_NS_SHARED] = "shared", [HX_NS_PER_SIDE] = "per-side",
};
static const char *const link_names[] = {
	[HX_LINK_NONE] = NULL, [HX_LINK_MEMIF] = "memif", [HX_LINK_TAP] = "tap",
	[HX_LINK_VETH] = "veth", [HX_LINK_PCI] = "pci",
};
static const char *const side_names[] = { [HX_SIDE_ENGINE] = "engine", [HX_SIDE_SUT] = "sut" };

const struct hx_topology *const *hx_topologies(void)
{
	return table;
}

const struct hx_topology *hx_topology_find(const char *name)
{
	const struct hx_topology *const *t;

	for (t = table; *t != NULL; t++)
		if (strcmp((*t)->name, name) == 0)
			return *t;
	return NULL;
}

void hx_topology_names(char *buf, size_t len)
{
	const struct hx_topology *const *t;
	size_t off = 0;

	buf[0] = '\0';
	for (t = table; *t != NULL && off < len; t++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", t == table ? "" : ", ",
					(*t)->name);
}

const struct hx_topology *hx_topology_default(enum tl_attach kind)
{
	const struct hx_topology *const *t;

	for (t = table; *t != NULL; t++)
		if ((*t)->dflt[HX_SIDE_ENGINE] == kind && (*t)->dflt[HX_SIDE_SUT] == kind)
			return *t;
	return NULL;
}

const struct hx_topology *hx_topology_linux_peer(enum tl_attach sut)
{
	const struct hx_topology *const *t;

	for (t = table; *t != NULL; t++)
		if ((*t)->namespaces != HX_NS_NONE &&
		    hx_topology_allows(*t, TL_ATTACH_SOCKETS, sut))
			return *t;
	return NULL;
}

bool hx_topology_takes(const struct hx_topology *t, enum hx_side side, enum tl_attach kind)
{
	return (t->kinds[side] & HX_KIND(kind)) != 0;
}

bool hx_topology_allows(const struct hx_topology *t, enum tl_attach engine, enum tl_attach sut)
{
	if (!hx_topology_takes(t, HX_SIDE_ENGINE, engine) ||
	    !hx_topology_takes(t, HX_SIDE_SUT, sut))
		return false;
	return t->mix == HX_MIX_ANY || (engine == TL_ATTACH_DPDK) != (sut == TL_ATTACH_DPDK);
}

bool hx_topology_mixed(const struct hx_topology *t)
{
	return t->kinds[HX_SIDE_ENGINE] == (SOCKETS | DPDK) ||
	       t->kinds[HX_SIDE_SUT] == (SOCKETS | DPDK);
}

const char *hx_topology_kind_name(enum tl_attach kind)
{
	return kind == TL_ATTACH_DPDK ? "dpdk" : "sockets";
}

void hx_topology_kinds_text(const struct hx_topology *t, enum hx_side side, char *buf,
			    size_t len)
{
	bool s = hx_topology_takes(t, side, TL_ATTACH_SOCKETS);
	bool d = hx_topology_takes(t, side, TL_ATTACH_DPDK);

	snprintf(buf, len, "%s%s%s", s ? hx_topology_kind_name(TL_ATTACH_SOCKETS) : "",
		 s && d ? " or " : "", d ? hx_topology_kind_name(TL_ATTACH_DPDK) : "");
}

/* The table's settings of a DPDK side, in the order README.md lists them ("Topologies"). */
static unsigned int dpdk_settings(const struct hx_topology *t, enum hx_side side,
				  char (*out)[HX_TOPO_SETTING_MAX])
{
	unsigned int n = 0;

	if (t->port == NULL)
		return 0;
	snprintf(out[n++], HX_TOPO_SETTING_MAX, "port=%s", t->port);
	if (t->ifname[side] != NULL)
		snprintf(out[n++], HX_TOPO_SETTING_MAX, "iface=%s", t->ifname[side]);
	if (t->plan != NULL)
		snprintf(out[n++], HX_TOPO_SETTING_MAX, "ip=%s", t->plan->addr[side]);
	/* the tap's kernel end is the other role's: the sockets side facing this one */
	if (t->plan != NULL && t->stack_makes_link)
		snprintf(out[n++], HX_TOPO_SETTING_MAX, "tap_addr=%s/%u",
			 t->plan->addr[side == HX_SIDE_ENGINE ? HX_SIDE_SUT : HX_SIDE_ENGINE],
			 t->plan->prefix_len);
	return n;
}

void hx_side_opts_build(struct hx_side_opts *so, const struct hx_topology *t, enum hx_side side,
			enum tl_attach kind, const char *const *user, unsigned int n_user)
{
	unsigned int i, n = kind == TL_ATTACH_DPDK ? dpdk_settings(t, side, so->text) : 0;

	for (i = 0; i < n; i++)
		so->opts[i] = so->text[i];
	for (i = 0; i < n_user && i < HX_CLI_MAX_OPTS; i++)
		so->opts[n + i] = user[i];
	so->n = n + i;
}

static void json_kinds(struct hx_json *j, const char *key, unsigned int kinds)
{
	hx_json_arr_begin(j, key);
	if (kinds & SOCKETS)
		hx_json_str(j, NULL, hx_topology_kind_name(TL_ATTACH_SOCKETS));
	if (kinds & DPDK)
		hx_json_str(j, NULL, hx_topology_kind_name(TL_ATTACH_DPDK));
	hx_json_arr_end(j);
}

static void json_link(const struct hx_topology *t, struct hx_json *j)
{
	if (t->link == HX_LINK_NONE) {
		hx_json_null(j, "link");
		return;
	}
	hx_json_obj_begin(j, "link");
	hx_json_str(j, "kind", link_names[t->link]);
	if (t->ifname[HX_SIDE_ENGINE] != NULL) {
		hx_json_str(j, "engine_if", t->ifname[HX_SIDE_ENGINE]);
		hx_json_str(j, "sut_if", t->ifname[HX_SIDE_SUT]);
	}
	hx_json_obj_end(j);
}

static void json_plan(const struct hx_topology *t, struct hx_json *j)
{
	if (t->plan == NULL) {
		hx_json_null(j, "addresses");
		return;
	}
	hx_json_obj_begin(j, "addresses");
	hx_json_uint(j, "prefix_len", t->plan->prefix_len);
	hx_json_str(j, "engine", t->plan->addr[HX_SIDE_ENGINE]);
	hx_json_str(j, "sut", t->plan->addr[HX_SIDE_SUT]);
	if (t->plan->spare != NULL)
		hx_json_str(j, "spare", t->plan->spare);
	else
		hx_json_null(j, "spare");
	hx_json_obj_end(j);
}

static void json_settings(const struct hx_topology *t, struct hx_json *j)
{
	char text[HX_TOPO_MAX_SETTINGS][HX_TOPO_SETTING_MAX];
	unsigned int side, i, n;

	hx_json_obj_begin(j, "settings");
	for (side = 0; side < HX_SIDES; side++) {
		n = hx_topology_takes(t, side, TL_ATTACH_DPDK) ? dpdk_settings(t, side, text) : 0;
		hx_json_arr_begin(j, side_names[side]);
		for (i = 0; i < n; i++)
			hx_json_str(j, NULL, text[i]);
		hx_json_arr_end(j);
	}
	hx_json_obj_end(j);
}

void hx_topology_json(const struct hx_topology *t, struct hx_json *j)
{
	unsigned int side;

	hx_json_obj_begin(j, NULL);
	hx_json_str(j, "name", t->name);
	hx_json_str(j, "description", t->description);
	for (side = 0; side < HX_SIDES; side++)
		json_kinds(j, side_names[side], t->kinds[side]);
	hx_json_str(j, "mix", mix_names[t->mix]);
	hx_json_obj_begin(j, "default");
	for (side = 0; side < HX_SIDES; side++)
		hx_json_str(j, side_names[side], hx_topology_kind_name(t->dflt[side]));
	hx_json_obj_end(j);
	hx_json_str(j, "namespaces", ns_names[t->namespaces]);
	json_link(t, j);
	json_plan(t, j);
	json_settings(t, j);
	hx_json_obj_end(j);
}

/* ---- the namespaces of one run ---- */

#define PREFIX "tcplab-r"	/* + t (shared), e, s (per side: engine, SUT) + pid */

/* Run ARGV quietly; its exit status, or -errno when it could not run. */
static int run_cmd(const char *const *argv)
{
	return hx_exec(argv, NULL, 0, NULL, 0);
}

void hx_topo_remove_run(pid_t pid)
{
	const char *kind;
	char path[64];

	for (kind = "tes"; *kind != '\0'; kind++) {
		snprintf(path, sizeof(path), "/run/netns/" PREFIX "%c%d", *kind, (int)pid);
		if (access(path, F_OK) == 0)
			run_cmd((const char *const[]){ "ip", "netns", "del",
							path + strlen("/run/netns/"), NULL });
	}
}

/* Names of runs that are gone: what a SIGKILLed run could not remove (where its janitor,
 * cli/janitor.h, could not either). */
static void remove_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	long pid;
	char *end;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 ||
		    strchr("tes", e->d_name[strlen(PREFIX)]) == NULL)
			continue;
		pid = strtol(e->d_name + strlen(PREFIX) + 1, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		run_cmd((const char *const[]){ "ip", "netns", "del", e->d_name, NULL });
	}
	closedir(d);
}

int hx_topo_enter(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int add_ns(struct hx_topo *ns, char kind, char *err, size_t len)
{
	char *name = ns->ns[ns->n];
	int r;

	snprintf(name, sizeof(ns->ns[0]), PREFIX "%c%d", kind, (int)getpid());
	r = run_cmd((const char *const[]){ "ip", "netns", "add", name, NULL });
	if (r != 0) {
		snprintf(err, len, "cannot create network namespace %s (ip netns add: %s)", name,
			 r < 0 ? strerror(-r) : "failed; root is needed");
		return -EPERM;
	}
	ns->n++;
	if (run_cmd((const char *const[]){ "ip", "-n", name, "link", "set", "lo", "up",
					   NULL }) != 0) {
		snprintf(err, len, "cannot bring lo up in %s", name);
		return -EIO;
	}
	return 0;
}

static int enter_engine_ns(struct hx_topo *ns, char *err, size_t len)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/run/netns/%s", ns->ns[0]);
	r = hx_topo_enter(path);
	if (r < 0)
		snprintf(err, len, "cannot enter network namespace %s: %s", ns->ns[0],
			 strerror(-r));
	return r;
}

/* One namespace for both sides, entered. */
static int make_shared(struct hx_topo *ns, char *err, size_t len)
{
	int r = add_ns(ns, 't', err, len);

	return r == 0 ? enter_engine_ns(ns, err, len) : r;
}

/* One veth end: up, its role's address on a sockets side, offloads off if a DPDK side is on
 * the wire. */
static int veth_end(const struct hx_topology *t, const char *ns, enum hx_side side,
		    enum tl_attach kind, bool offloads_off)
{
	const char *dev = t->ifname[side];
	char cidr[32];
	int r = 0;

	if (kind == TL_ATTACH_SOCKETS && t->plan != NULL) {
		snprintf(cidr, sizeof(cidr), "%s/%u", t->plan->addr[side], t->plan->prefix_len);
		r = run_cmd((const char *const[]){ "ip", "-n", ns, "addr", "add", cidr, "dev", dev,
						   NULL });
	}
	if (r == 0 && offloads_off)
		r = run_cmd((const char *const[]){ "ip", "netns", "exec", ns, "ethtool", "-K", dev,
						   "tx", "off", "tso", "off", "gso", "off",
						   "gro", "off", NULL });
	if (r == 0)
		r = run_cmd((const char *const[]){ "ip", "-n", ns, "link", "set", dev, "up",
						   NULL });
	return r;
}

static int make_veth(struct hx_topo *ns, const struct hx_topology *t,
		     const enum tl_attach kinds[HX_SIDES], char *err, size_t len)
{
	bool dpdk = kinds[HX_SIDE_ENGINE] == TL_ATTACH_DPDK || kinds[HX_SIDE_SUT] == TL_ATTACH_DPDK;
	const char *const add[] = { "ip", "link", "add", t->ifname[HX_SIDE_ENGINE], "netns",
				    ns->ns[0], "type", "veth", "peer", "name",
				    t->ifname[HX_SIDE_SUT], "netns", ns->ns[1], NULL };

	if (run_cmd(add) != 0 ||
	    veth_end(t, ns->ns[0], HX_SIDE_ENGINE, kinds[HX_SIDE_ENGINE], dpdk) != 0 ||
	    veth_end(t, ns->ns[1], HX_SIDE_SUT, kinds[HX_SIDE_SUT], dpdk) != 0) {
		snprintf(err, len, "cannot set up the veth pair between %s and %s", ns->ns[0],
			 ns->ns[1]);
		return -EIO;
	}
	return 0;
}

/* A namespace a side, joined by the entry's link; the engine's entered, the SUT's for its
 * child to enter. */
static int make_per_side(struct hx_topo *ns, const struct hx_topology *t,
			 const enum tl_attach kinds[HX_SIDES], char *err, size_t len)
{
	int r = add_ns(ns, 'e', err, len);

	if (r == 0)
		r = add_ns(ns, 's', err, len);
	if (r == 0 && t->link == HX_LINK_VETH)
		r = make_veth(ns, t, kinds, err, len);
	if (r < 0)
		return r;
	snprintf(ns->sut_ns_path, sizeof(ns->sut_ns_path), "/run/netns/%s", ns->ns[1]);
	return enter_engine_ns(ns, err, len);
}

int hx_topo_make(struct hx_topo *ns, const struct hx_topology *t,
		 const enum tl_attach kinds[HX_SIDES], char *err, size_t len)
{
	int r = 0;

	memset(ns, 0, sizeof(*ns));
	if (t->namespaces == HX_NS_NONE)
		return 0;
	remove_stale();
	if (t->namespaces == HX_NS_SHARED)
		r = make_shared(ns, err, len);
	else
		r = make_per_side(ns, t, kinds, err, len);
	if (r < 0)
		hx_topo_remove(ns);
	return r;
}

void hx_topo_remove(struct hx_topo *ns)
{
	while (ns->n > 0) {
		ns->n--;
		run_cmd((const char *const[]){ "ip", "netns", "del", ns->ns[ns->n], NULL });
	}
}
