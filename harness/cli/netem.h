/* SPDX-License-Identifier: MIT */
/*
 * netem.h - the impairment of a kernel side: the SPEC a DPDK side takes as impair=
 * (stack/dpdk/impair.h) put on the side's own link end with Linux's netem, so the kernel
 * baseline runs a scenario over the same bad link as the stacks under test.
 *
 * Each direction the spec names for a kernel side gets an ifb device in the side's
 * namespace: a u32 filter on the link end's clsact hook (egress for tx, ingress for rx)
 * redirects every frame to it (the filter's action counts what was offered), and the ifb's
 * root is netem, with a tbf below it for rate=. The namespace goes with the run, and all of
 * it with it.
 *
 * Flow in run.c: hx_netem_check (before anything starts: what netem cannot do is refused)
 * -> the namespaces -> hx_netem_apply -> the run -> hx_netem_json (counters, into the
 * result, while the namespaces exist).
 */
#ifndef HX_NETEM_H
#define HX_NETEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpdk/impair.h"
#include "topology.h"

#define HX_NETEM_ARGS_MAX 384

/** One impaired direction of a kernel side. */
struct hx_netem_dir {
	bool on;
	char netem[HX_NETEM_ARGS_MAX];	/* netem's arguments, as tc takes them */
	char tbf[128];			/* tbf's for rate=; "" none */
	char ifb[16];			/* the ifb device, in the side's namespace */
};

struct hx_netem {
	struct hx_netem_dir dir[HX_SIDES][DPK_IMPAIR__DIRS];
	const char *netns[HX_SIDES];	/* the side's namespace (of the run's hx_topo) */
	const char *dev[HX_SIDES];	/* its link end */
	char json[2048];
};

/**
 * What netem is told for one direction @p d: its arguments in @p netem, the tbf's in
 * @p tbf ("" without rate=). -EINVAL with a one-line reason in @p err for a kind netem has
 * no match for (reorder=P%/N, rate in frames/s, a bucket depth given in bytes).
 */
int hx_netem_args(const struct dpk_impair_dir_spec *d, char *netem, size_t netem_len,
		  char *tbf, size_t tbf_len, char *err, size_t len);

/**
 * Plan the kernel sides' impairment: for each side whose kind in @p kinds is sockets and
 * whose part of @p spec (parsed for that side) impairs a direction, its netem arguments.
 * -EINVAL with one line on stderr when netem cannot do a part, or when @p t gives the side
 * no link end of its own.
 */
int hx_netem_check(struct hx_netem *n, const struct hx_topology *t,
		   const enum tl_attach kinds[HX_SIDES], const char *spec);

/** Whether @p n impairs a side. */
bool hx_netem_on(const struct hx_netem *n);

/**
 * Set up what hx_netem_check planned, in the namespaces of @p ns. 0; -ENOTSUP with one
 * line on stderr when this kernel has no netem; -EIO when tc failed otherwise.
 */
int hx_netem_apply(struct hx_netem *n, const struct hx_topo *ns);

/**
 * The result's "netem" object: by side and direction, the arguments and the counters
 * (offered, sent, dropped, duplicated, backlog) read from tc now. NULL when no side is
 * impaired through netem.
 */
const char *hx_netem_json(struct hx_netem *n);

#endif /* HX_NETEM_H */
