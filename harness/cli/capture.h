/* SPDX-License-Identifier: MIT */
/*
 * capture.h - `tcplab run --pcap`: the packet captures of a run. Each DPDK side gets
 * pcap=<result dir>/<result name>-<side>.pcap among its stack settings (its port keeps the
 * last frames and writes them when it closes: stack/dpdk/capture.h); a sockets side in a
 * namespace the run made gets tcpdump in that namespace, started before the sides and
 * stopped after them. After the run the files are kept (on-failure: the run did not pass;
 * always) or deleted, and the result JSON names what was kept ("captures").
 *
 * Flow in run.c: hx_capture_mode (the flag) -> hx_capture_plan (once the namespaces exist,
 * before either side starts: names, settings, tcpdump) -> the run -> hx_capture_json (into
 * the result) -> the sides stop (their files are written) -> hx_capture_finish.
 */
#ifndef HX_CAPTURE_H
#define HX_CAPTURE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "topology.h"

enum hx_pcap_mode {
	HX_PCAP_ON_FAILURE,
	HX_PCAP_ALWAYS,
	HX_PCAP_NEVER,
};

struct hx_capture {
	enum hx_pcap_mode mode;
	char path[HX_SIDES][PATH_MAX];		/* "" when the side is not captured */
	const char *why_not[HX_SIDES];		/* why a side is not captured */
	char opt[HX_SIDES][PATH_MAX + 8];	/* pcap=PATH */
	const char *opts[HX_SIDES][HX_CLI_MAX_OPTS + 1];	/* the user's, then opt */
	unsigned int n_opts[HX_SIDES];
	pid_t tcpdump[HX_SIDES];		/* 0: none running */
	int tcpdump_err[HX_SIDES];		/* its stderr, read until it is ready */
	char json[2 * PATH_MAX + 512];
	bool named;				/* the result names the files kept */
};

/** --pcap @p arg into @p mode; -EINVAL with one line on stderr. */
int hx_capture_mode(enum hx_pcap_mode *mode, const char *arg);

/** The user's --stack-opt may not name pcap= (the run names the files): -EINVAL, one line. */
int hx_capture_check_opts(const char *const *opts, unsigned int n);

/**
 * Decide each side's capture for a run of @p t whose sides are of @p kinds (a side not run
 * here: @p sut_remote), its result written as @p dir/@p name.json: the file names, each
 * side's settings (c->opts: that side's @p user settings, then pcap= on a DPDK side), and tcpdump started on a
 * sockets side in a namespace of @p ns. 0, or -errno with one line on stderr.
 */
int hx_capture_plan(struct hx_capture *c, const struct hx_topology *t,
		    const enum tl_attach kinds[HX_SIDES], bool sut_remote, const struct hx_topo *ns,
		    const char *dir, const char *name, const char *const *user[HX_SIDES],
		    const unsigned int n_user[HX_SIDES]);

/** The result's "captures" object, as it will be once the run is over (@p passed or not). */
const char *hx_capture_json(struct hx_capture *c, bool passed);

/** Once both sides have stopped: stop tcpdump, keep the files (@p keep) or delete them. */
void hx_capture_finish(struct hx_capture *c, bool keep);

#endif /* HX_CAPTURE_H */
