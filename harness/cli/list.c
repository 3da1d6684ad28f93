/* SPDX-License-Identifier: MIT */
/*
 * list.c - `tcplab list [--json]`: the scenarios (name and description), the backends (with
 * the limits each states: tl_limits, which the flood and scale checks read, and whether it
 * offers a wait set: tl_ops.ws_*, which the loops use instead of poll), the topologies
 * (topology.h: the Python tools make their namespaces from this) and the SUT programs this
 * binary has. Every scenario is parsed on the way, so a broken file
 * is reported here (file:line, exit 2) rather than at run time.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"
#include "json.h"
#include "lang.h"
#include "programs.h"
#include "scenario.h"
#include "scenario_dir.h"
#include "topology.h"

#define MAX_LISTED 256

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "backend", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* "engine sockets or dpdk, SUT sockets" and the defaults */
static void topology_text(const struct hx_topology *t)
{
	char e[32], s[32];

	hx_topology_kinds_text(t, HX_SIDE_ENGINE, e, sizeof(e));
	hx_topology_kinds_text(t, HX_SIDE_SUT, s, sizeof(s));
	printf("  %-20s %s\n  %-20s engine %s, SUT %s%s (default %s/%s)\n", t->name,
	       t->description, "", e, s, t->mix == HX_MIX_ONE_DPDK ? ", one of them dpdk" : "",
	       hx_topology_kind_name(t->dflt[HX_SIDE_ENGINE]),
	       hx_topology_kind_name(t->dflt[HX_SIDE_SUT]));
}

/* "16384 sockets; 1-48 KiB a connection; SYN-RCVD backlog + 1, 32 KiB each; ..." */
static void limits_text(const struct tl_limits *l)
{
	if (l == NULL) {
		printf("  %-20s limits: none stated\n", "");
		return;
	}
	printf("  %-20s limits: ", "");
	if (l->max_sockets != 0)
		printf("%u sockets; ", l->max_sockets);
	printf("%llu-%llu KiB an open connection; SYN-RCVD ",
	       (unsigned long long)(l->conn_bytes_min >> 10),
	       (unsigned long long)(l->conn_bytes_max >> 10));
	if (l->syn_cap == TL_SYN_CAP_BACKLOG)
		printf("backlog + %u", l->syn_over_backlog);
	else
		printf("uncapped");
	printf(", %llu B each; idle %llu B; slack %llu MiB\n",
	       (unsigned long long)l->syn_rcvd_bytes, (unsigned long long)l->idle_bytes,
	       (unsigned long long)(l->slack_bytes >> 20));
}

static void list_text(const struct hx_scenario *sc, unsigned int n)
{
	const struct hx_topology *const *t;
	const struct tl_backend *const *b;
	const struct hx_program *const *p;
	unsigned int i;

	printf("scenarios:\n");
	for (i = 0; i < n; i++)
		printf("  %-20s %s\n", sc[i].name, sc[i].description);
	printf("backends:\n");
	for (b = tl_backends(); *b != NULL; b++) {
		printf("  %-20s %s (%s, %s%s%s)\n", (*b)->ops->name, (*b)->ops->description,
		       hx_topology_kind_name((*b)->ops->attach), (*b)->origin,
		       (*b)->path != NULL ? " " : "", (*b)->path != NULL ? (*b)->path : "");
		limits_text((*b)->ops->limits);
		printf("  %-20s waits with: %s\n", "",
		       tl_ws_offered((*b)->ops) ? "its wait set" : "poll (no wait set)");
	}
	printf("topologies (tcplab run --topology):\n");
	for (t = hx_topologies(); *t != NULL; t++)
		topology_text(*t);
	printf("programs (tcplab serve):\n");
	for (p = hx_programs(); *p != NULL; p++)
		printf("  %-20s %s\n", (*p)->name, (*p)->description);
}

/* backends[].limits: tl_limits, each figure beside its reason; null when none stated */
static void limits_json(struct hx_json *j, const struct tl_limits *l)
{
	if (l == NULL) {
		hx_json_null(j, "limits");
		return;
	}
	hx_json_obj_begin(j, "limits");
	hx_json_obj_begin(j, "sockets");
	if (l->max_sockets != 0)
		hx_json_uint(j, "max", l->max_sockets);
	else
		hx_json_null(j, "max");
	hx_json_str(j, "reason", l->max_sockets_reason);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "conn_bytes");
	hx_json_uint(j, "min", l->conn_bytes_min);
	hx_json_uint(j, "max", l->conn_bytes_max);
	hx_json_str(j, "reason", l->conn_bytes_reason);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "syn_rcvd");
	hx_json_str(j, "cap", l->syn_cap == TL_SYN_CAP_BACKLOG ? "backlog" : "none");
	if (l->syn_cap == TL_SYN_CAP_BACKLOG)
		hx_json_uint(j, "over_backlog", l->syn_over_backlog);
	else
		hx_json_null(j, "over_backlog");
	hx_json_uint(j, "bytes", l->syn_rcvd_bytes);
	hx_json_str(j, "reason", l->syn_rcvd_reason);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "idle");
	hx_json_uint(j, "bytes", l->idle_bytes);
	hx_json_str(j, "reason", l->idle_reason);
	hx_json_obj_end(j);
	hx_json_obj_begin(j, "slack");
	hx_json_uint(j, "bytes", l->slack_bytes);
	hx_json_str(j, "reason", l->slack_reason);
	hx_json_obj_end(j);
	hx_json_obj_end(j);
}

static void list_json(const struct hx_scenario *sc, unsigned int n)
{
	const struct hx_topology *const *t;
	const struct tl_backend *const *b;
	const struct hx_program *const *p;
	struct hx_json j;
	unsigned int i;

	hx_json_init(&j, stdout, true);
	hx_json_obj_begin(&j, NULL);
	hx_json_arr_begin(&j, "scenarios");
	for (i = 0; i < n; i++) {
		hx_json_obj_begin(&j, NULL);
		hx_json_str(&j, "name", sc[i].name);
		hx_json_str(&j, "description", sc[i].description);
		hx_json_str(&j, "program", sc[i].program);
		hx_json_str(&j, "path", sc[i].path);
		hx_json_obj_end(&j);
	}
	hx_json_arr_end(&j);
	hx_json_arr_begin(&j, "backends");
	for (b = tl_backends(); *b != NULL; b++) {
		hx_json_obj_begin(&j, NULL);
		hx_json_str(&j, "name", (*b)->ops->name);
		hx_json_str(&j, "description", (*b)->ops->description);
		hx_json_str(&j, "attach", hx_topology_kind_name((*b)->ops->attach));
		hx_json_str(&j, "origin", (*b)->origin);
		if ((*b)->path != NULL)
			hx_json_str(&j, "path", (*b)->path);
		else
			hx_json_null(&j, "path");
		limits_json(&j, (*b)->ops->limits);
		hx_json_bool(&j, "wait_set", tl_ws_offered((*b)->ops));
		hx_json_obj_end(&j);
	}
	hx_json_arr_end(&j);
	hx_json_arr_begin(&j, "topologies");
	for (t = hx_topologies(); *t != NULL; t++)
		hx_topology_json(*t, &j);
	hx_json_arr_end(&j);
	hx_json_arr_begin(&j, "programs");
	for (p = hx_programs(); *p != NULL; p++) {
		hx_json_obj_begin(&j, NULL);
		hx_json_str(&j, "name", (*p)->name);
		hx_json_str(&j, "description", (*p)->description);
		hx_json_obj_end(&j);
	}
	hx_json_arr_end(&j);
	hx_lang_list_json(&j);	/* "steps" and "metrics", from the language's tables */
	hx_json_obj_end(&j);
}

int hx_cmd_list(int argc, char **argv)
{
	char (*names)[64], path[PATH_MAX], err[HX_ERR_MAX];
	struct hx_scenario *sc;
	unsigned int i, n, ok = 0;
	bool json = false;
	int c, code = HX_EXIT_PASS;

	while ((c = hx_cli_getopt(argc, argv, long_opts, "", "list")) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'b') {
			/* a plug-in by path joins the list, as a run would load it */
			if (hx_cli_check_backend(optarg, "tcplab list") < 0)
				return HX_EXIT_USAGE;
		} else if (c == 'h') {
			printf("usage: tcplab list [--json] [--backend PATH]...\n"
			       "  --backend PATH  also list a plug-in off the search path\n");
			return HX_EXIT_PASS;
		} else
			return HX_EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "tcplab list: unexpected argument '%s'\n", argv[optind]);
		return HX_EXIT_USAGE;
	}
	names = calloc(MAX_LISTED, sizeof(*names));
	sc = calloc(MAX_LISTED, sizeof(*sc));
	if (names == NULL || sc == NULL) {
		free(names);
		free(sc);
		return HX_EXIT_USAGE;
	}
	n = hx_scenario_names(names, MAX_LISTED);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/scenarios/%s%s", hx_source_root(), names[i],
			 HX_SCENARIO_EXT);
		if (hx_scenario_load(&sc[ok], names[i], path, NULL, 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			code = HX_EXIT_USAGE;
			continue;
		}
		ok++;
	}
	if (json)
		list_json(sc, ok);
	else
		list_text(sc, ok);
	free(names);
	free(sc);
	return code;
}
