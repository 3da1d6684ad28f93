/* SPDX-License-Identifier: MIT */
/*
 * netem.c - a kernel side's impairment through netem (netem.h): the SPEC's kinds as netem
 * and tbf arguments, the ifb devices and filters in the side's namespace, the counters.
 *
 * What differs from the DPDK stage (stack/dpdk/README.md, "The impairment stage"), because
 * netem is what it is: its generator is the kernel's (seed= does not reach it: iproute2
 * 6.1 has no netem seed); jitter reorders frames (netem sorts by departure time; the stage
 * never lets a frame leave before the one ahead); corrupt= may flip a bit of the Ethernet
 * header too; reorder=P%/N, rate in frames/s and a bucket depth in bytes have no netem
 * match and are refused. rate= is a tbf below netem with the stage's default depth (10 ms
 * at the rate, at least one 9000-byte frame) and queue (1024 frames).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "netem.h"

#define NETEM_LIMIT 4096	/* frames in netem at once: the stage's delay line */
#define RATE_QUEUE_BYTES (1024 * 1514)	/* tbf's queue: the stage's 1024 frames */
#define RATE_LATENCY "1s"

static const char *const side_names[HX_SIDES] = {
	[HX_SIDE_ENGINE] = "engine",
	[HX_SIDE_SUT] = "sut",
};

static const char *const dir_names[DPK_IMPAIR__DIRS] = {
	[DPK_IMPAIR_TX] = "tx",
	[DPK_IMPAIR_RX] = "rx",
};

/* ---- the SPEC as netem's arguments ---- */

/* Append to @p buf; false when it did not fit. */
static bool add(char *buf, size_t len, const char *fmt, double a, double b)
{
	size_t used = strlen(buf);
	int n = snprintf(buf + used, len - used, fmt, a, b);

	return n >= 0 && (size_t)n < len - used;
}

/* TIME in microseconds, as tc reads it (it has no ns unit). */
static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static int refuse(char *err, size_t len, const char *kind, const char *why)
{
	snprintf(err, len, "%s has no netem match (%s)", kind, why);
	return -EINVAL;
}

int hx_netem_args(const struct dpk_impair_dir_spec *d, char *netem, size_t netem_len,
		  char *tbf, size_t tbf_len, char *err, size_t len)
{
	double depth = d->rate_bps / 100 > 8 * 9014 ? d->rate_bps / 100 : 8 * 9014;
	bool ok;

	if (d->reorder > 0)
		return refuse(err, len, "reorder=P%/N", "its reorder sends frames ahead of a "
			      "delay, it does not hold one behind the next N");
	if (d->rate_fps > 0)
		return refuse(err, len, "rate=Nfps", "netem and tbf count bits");
	if (d->rate_bps > 0 && d->burst_bits != depth)
		return refuse(err, len, "rate=N/BYTES", "a kernel side's bucket is the default "
			      "depth, 10 ms at the rate");
	netem[0] = tbf[0] = '\0';
	ok = add(netem, netem_len, "limit %.0f", NETEM_LIMIT, 0);
	if (ok && (d->delay_ns > 0 || d->jitter_ns > 0))
		ok = d->jitter_ns > 0
		     ? add(netem, netem_len, " delay %.3fus %.3fus", us(d->delay_ns), us(d->jitter_ns))
		     : add(netem, netem_len, " delay %.3fus", us(d->delay_ns), 0);
	if (ok && d->ge)	/* netem takes 1-h and 1-k: the loss in each state */
		ok = add(netem, netem_len, " loss gemodel %.6g%% %.6g%%", d->ge_p * 100,
			 d->ge_r * 100) &&
		     add(netem, netem_len, " %.6g%% %.6g%%", (1 - d->ge_h) * 100,
			 (1 - d->ge_k) * 100);
	else if (ok && d->loss > 0)
		ok = add(netem, netem_len, " loss random %.6g%%", d->loss * 100, 0);
	if (ok && d->dup > 0)
		ok = add(netem, netem_len, " duplicate %.6g%%", d->dup * 100, 0);
	if (ok && d->corrupt > 0)
		ok = add(netem, netem_len, " corrupt %.6g%%", d->corrupt * 100, 0);
	if (ok && d->rate_bps > 0)
		ok = add(tbf, tbf_len, "rate %.0fbit burst %.0f", d->rate_bps, depth / 8) &&
		     add(tbf, tbf_len, " limit %.0f", RATE_QUEUE_BYTES, 0);
	if (!ok) {
		snprintf(err, len, "netem's arguments do not fit in %zu bytes", netem_len);
		return -EINVAL;
	}
	return 0;
}

/* ---- the plan ---- */

/* "veth": the topologies that give a sockets side @p side a link end of its own. */
static void netem_topologies(enum hx_side side, char *buf, size_t len)
{
	const struct hx_topology *const *t;
	size_t used = 0;

	buf[0] = '\0';
	for (t = hx_topologies(); *t != NULL && used < len; t++)
		if ((*t)->ifname[side] != NULL && hx_topology_takes(*t, side, TL_ATTACH_SOCKETS))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 (*t)->name);
}

static int plan_dir(struct hx_netem *n, enum hx_side side, enum dpk_impair_dir dir,
		    const struct dpk_impair_dir_spec *d, const struct hx_topology *t)
{
	struct hx_netem_dir *nd = &n->dir[side][dir];
	char err[256], names[128];

	if (t->ifname[side] == NULL) {
		netem_topologies(side, names, sizeof(names));
		fprintf(stderr, "tcplab run: impair: the %s side is kernel sockets, impaired with "
			"netem on its own link end, and topology %s gives it none (topologies "
			"that do: %s)\n", side_names[side], t->name, names);
		return -EINVAL;
	}
	if (hx_netem_args(d, nd->netem, sizeof(nd->netem), nd->tbf, sizeof(nd->tbf), err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "tcplab run: impair: the %s side's %s (kernel sockets, through "
			"netem): %s\n", side_names[side], dir_names[dir], err);
		return -EINVAL;
	}
	if ((size_t)snprintf(nd->ifb, sizeof(nd->ifb), "%s-%s", t->ifname[side],
			     dir_names[dir]) >= sizeof(nd->ifb)) {
		fprintf(stderr, "tcplab run: impair: link end %s: no room for its ifb's name\n",
			t->ifname[side]);
		return -EINVAL;
	}
	nd->on = true;
	return 0;
}

int hx_netem_check(struct hx_netem *n, const struct hx_topology *t,
		   const enum tl_attach kinds[HX_SIDES], const char *spec)
{
	struct dpk_impair_spec s;
	char err[256];
	unsigned int side, dir;

	memset(n, 0, sizeof(*n));
	for (side = 0; side < HX_SIDES; side++) {
		if (kinds[side] != TL_ATTACH_SOCKETS || spec[0] == '\0')
			continue;
		if (dpk_impair_parse(&s, spec, side == HX_SIDE_SUT ? TL_ROLE_SERVER
				     : TL_ROLE_CLIENT, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcplab run: impair: %s\n", err);
			return -EINVAL;
		}
		for (dir = 0; dir < DPK_IMPAIR__DIRS; dir++)
			if (s.dir[dir].on && plan_dir(n, side, dir, &s.dir[dir], t) < 0)
				return -EINVAL;
	}
	/* both ends, also a side not impaired: frames_not_segments */
	for (side = 0; side < HX_SIDES; side++)
		n->dev[side] = t->ifname[side];
	return 0;
}

bool hx_netem_on(const struct hx_netem *n)
{
	unsigned int side, dir;

	for (side = 0; side < HX_SIDES; side++)
		for (dir = 0; dir < DPK_IMPAIR__DIRS; dir++)
			if (n->dir[side][dir].on)
				return true;
	return false;
}

/* ---- tc ---- */

/* tc -n NS ARGS... (space-separated, at most 40 words) with @p extra appended. */
static int tc(const char *ns, const char *args, const char *extra, char *err, size_t len)
{
	const char *argv[48] = { "tc", "-n", ns };
	char words[HX_NETEM_ARGS_MAX * 2];
	unsigned int n = 3;
	char *w, *save;

	snprintf(words, sizeof(words), "%s %s", args, extra);
	for (w = strtok_r(words, " ", &save); w != NULL && n < 47; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	return hx_exec(argv, NULL, 0, err, len);
}

/* An ifb device @p dev in @p ns, up. */
static int add_ifb(const char *ns, const char *dev)
{
	const char *const add_argv[] = { "ip", "-n", ns, "link", "add", dev, "type", "ifb", NULL };
	const char *const up_argv[] = { "ip", "-n", ns, "link", "set", dev, "up", NULL };
	char err[256];

	if (hx_exec(add_argv, NULL, 0, err, sizeof(err)) != 0 ||
	    hx_exec(up_argv, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "tcplab run: impair: ifb %s in %s: %s\n", dev, ns, err);
		return -EIO;
	}
	return 0;
}

/*
 * Each end of the link sends and takes frames at most MTU long, so that netem decides per
 * frame as the stage does (a TSO or GRO frame of 64 KB would be one decision).
 */
static int frames_not_segments(const struct hx_netem *n)
{
	char err[256];
	unsigned int side;

	for (side = 0; side < HX_SIDES; side++) {
		const char *const argv[] = { "ip", "netns", "exec", n->netns[side], "ethtool",
					     "-K", n->dev[side], "tso", "off", "gso", "off", "gro",
					     "off", NULL };

		if (n->dev[side] != NULL && hx_exec(argv, NULL, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "tcplab run: impair: ethtool -K %s: %s\n", n->dev[side],
				err);
			return -EIO;
		}
	}
	return 0;
}

static int apply_dir(struct hx_netem *n, enum hx_side side, enum dpk_impair_dir dir)
{
	const struct hx_netem_dir *nd = &n->dir[side][dir];
	const char *ns = n->netns[side];
	char args[128], err[256];
	int r;

	if (add_ifb(ns, nd->ifb) < 0)
		return -EIO;
	snprintf(args, sizeof(args), "qdisc add dev %s root handle 1: netem", nd->ifb);
	r = tc(ns, args, nd->netem, err, sizeof(err));
	if (r != 0 && strstr(err, "kind is unknown") != NULL) {
		fprintf(stderr, "tcplab run: impair: the %s side is kernel sockets, impaired with "
			"netem, and this kernel has no netem (sch_netem; CONFIG_NET_SCH_NETEM)\n",
			side_names[side]);
		return -ENOTSUP;
	}
	if (r == 0 && nd->tbf[0] != '\0') {
		snprintf(args, sizeof(args), "qdisc add dev %s parent 1:1 handle 10: tbf",
			 nd->ifb);
		r = tc(ns, args, nd->tbf, err, sizeof(err));
	}
	if (r == 0) {
		/* every frame of this direction to the ifb, last: nothing passes unimpaired */
		snprintf(args, sizeof(args), "filter add dev %s %s protocol all u32 match u32 0 0 "
			 "action mirred egress redirect dev", n->dev[side],
			 dir == DPK_IMPAIR_TX ? "egress" : "ingress");
		r = tc(ns, args, nd->ifb, err, sizeof(err));
	}
	if (r != 0) {
		fprintf(stderr, "tcplab run: impair: tc in %s (%s %s): %s\n", ns, nd->ifb,
			dir_names[dir], err);
		return -EIO;
	}
	return 0;
}

int hx_netem_apply(struct hx_netem *n, const struct hx_topo *ns)
{
	char args[64], err[256];
	unsigned int side, dir;
	int r;

	if (!hx_netem_on(n))
		return 0;
	n->netns[HX_SIDE_ENGINE] = ns->ns[0];
	n->netns[HX_SIDE_SUT] = ns->ns[ns->n > 1 ? 1 : 0];
	r = frames_not_segments(n);
	for (side = 0; side < HX_SIDES && r == 0; side++) {
		if (!n->dir[side][DPK_IMPAIR_TX].on && !n->dir[side][DPK_IMPAIR_RX].on)
			continue;
		snprintf(args, sizeof(args), "qdisc add dev %s clsact", n->dev[side]);
		if (tc(n->netns[side], args, "", err, sizeof(err)) != 0) {
			fprintf(stderr, "tcplab run: impair: tc %s: %s\n", args, err);
			return -EIO;
		}
		for (dir = 0; dir < DPK_IMPAIR__DIRS && r == 0; dir++)
			if (n->dir[side][dir].on)
				r = apply_dir(n, side, dir);
	}
	return r;
}

/* ---- the counters ---- */

/* @p key's number in the first object after @p after in @p text; 0 when absent. */
static uint64_t field_after(const char *text, const char *after, const char *key)
{
	const char *p = strstr(text, after);
	uint64_t v = 0;

	if (p != NULL)
		hx_json_find_uint(p, key, &v);
	return v;
}

static void dir_json(struct hx_netem *n, enum hx_side side, enum dpk_impair_dir dir,
		     struct hx_json *j)
{
	const struct hx_netem_dir *nd = &n->dir[side][dir];
	const char *ns = n->netns[side];
	const char *const qd[] = { "tc", "-n", ns, "-s", "-j", "qdisc", "show", "dev", nd->ifb,
				   NULL };
	const char *const fl[] = { "tc", "-n", ns, "-s", "-j", "filter", "show", "dev",
				   n->dev[side], "parent", dir == DPK_IMPAIR_TX ? "ffff:fff3"
				   : "ffff:fff2", NULL };	/* clsact's egress, ingress */
	char out[8192], err[256];
	uint64_t offered = 0, sent, dropped, queued;

	hx_json_obj_begin(j, dir_names[dir]);
	hx_json_str(j, "netem", nd->netem);
	if (nd->tbf[0] != '\0')
		hx_json_str(j, "tbf", nd->tbf);
	if (hx_exec(fl, out, sizeof(out), err, sizeof(err)) == 0)
		offered = field_after(out, "\"kind\":\"mirred\"", "packets");
	if (hx_exec(qd, out, sizeof(out), err, sizeof(err)) == 0) {
		sent = field_after(out, "\"kind\":\"netem\"", "packets");
		dropped = field_after(out, "\"kind\":\"netem\"", "drops");
		queued = field_after(out, "\"kind\":\"netem\"", "qlen");
		hx_json_uint(j, "offered", offered);
		hx_json_uint(j, "sent", sent);
		hx_json_uint(j, "dropped", dropped);
		hx_json_uint(j, "queued", queued);
		/* a duplicate is one more frame into netem: in = offered + duplicated */
		hx_json_uint(j, "duplicated", sent + dropped + queued > offered
			     ? sent + dropped + queued - offered : 0);
	}
	hx_json_obj_end(j);
}

const char *hx_netem_json(struct hx_netem *n)
{
	FILE *f;
	struct hx_json j;
	unsigned int side, dir;

	if (!hx_netem_on(n) || (f = fmemopen(n->json, sizeof(n->json), "w")) == NULL)
		return NULL;
	hx_json_init(&j, f, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_bool(&j, "seeded", false);
	for (side = 0; side < HX_SIDES; side++) {
		if (!n->dir[side][DPK_IMPAIR_TX].on && !n->dir[side][DPK_IMPAIR_RX].on)
			continue;
		hx_json_obj_begin(&j, side_names[side]);
		hx_json_str(&j, "dev", n->dev[side]);
		for (dir = 0; dir < DPK_IMPAIR__DIRS; dir++)
			if (n->dir[side][dir].on)
				dir_json(n, side, dir, &j);
		hx_json_obj_end(&j);
	}
	hx_json_obj_end(&j);
	return fclose(f) == 0 ? n->json : NULL;
}
