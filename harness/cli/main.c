/* SPDX-License-Identifier: MIT */
/*
 * main.c - the tcplab binary: dispatch to a command. The ./tcplab script at the top of the
 * tree builds this binary and adds the commands that are not C (test, bench).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "tcplab_build_commit.h"
#include "tcplab_config.h"

struct command {
	const char *name;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "run", "run a scenario and write its result JSON", hx_cmd_run },
	{ "serve", "run a SUT program (echo, sink, source) on a backend", hx_cmd_serve },
	{ "list", "list scenarios, backends, topologies and SUT programs", hx_cmd_list },
	{ "case", "run one side of a conformance case, printing its trace", hx_cmd_case },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* What the ./tcplab script adds (not C): listed here so that one --help shows every command. */
static const struct command script_commands[] = {
	{ "test", "the whole test suite: unit, sanitizer, pytest (ci/test.sh)", NULL },
	{ "bench", "a benchmark or a suite of runs (python/tcplab/bench)", NULL },
	{ "conform", "conformance: socket cases, packet checks, .pkt scripts, kernel as oracle",
	  NULL },
	{ "packets", "the packet checks alone (scapy on the wire)", NULL },
	{ "pkt", "run .pkt scripts on every backend", NULL },
	{ "soak", "a long mixed run against long-lived SUTs: nothing may grow", NULL },
	{ "kill", "either side of runs killed at seeded points, checked", NULL },
	{ "compare", "compare two result sets: verdicts per metric", NULL },
	{ "report", "an HTML report of result sets, with plots", NULL },
	{ "baseline", "keep a result set as the baseline of its host kind", NULL },
	{ "history", "metrics across commits, with change points", NULL },
	{ "junit", "a run's checks as JUnit XML, a testcase per check", NULL },
	{ "csv", "result files as CSV, one row per run", NULL },
};

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: tcplab COMMAND [ARGS]\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "through ./tcplab:\n");
	for (i = 0; i < sizeof(script_commands) / sizeof(script_commands[0]); i++)
		fprintf(f, "  %-9s %s\n", script_commands[i].name, script_commands[i].summary);
	fprintf(f, "  tcplab COMMAND --help for its flags; tcplab --version\n");
}

static void names(char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;

	for (i = 0; i < N_COMMANDS; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s, ", commands[i].name);
	for (i = 0; i < sizeof(script_commands) / sizeof(script_commands[0]) && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", script_commands[i].name,
					 i + 1 < sizeof(script_commands) / sizeof(script_commands[0])
					 ? ", " : "");
}

int main(int argc, char **argv)
{
	char valid[256];
	unsigned int i;

	if (argc < 2) {
		usage(stderr);
		return HX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return HX_EXIT_PASS;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("tcplab %s (commit %s, %s build, optimization %s%s, sanitize %s)\n",
		       TCPLAB_VERSION, TCPLAB_BUILD_COMMIT, TCPLAB_BUILD_TYPE,
		       TCPLAB_BUILD_OPTIMIZATION, TCPLAB_BUILD_LTO ? ", LTO" : "",
		       TCPLAB_BUILD_SANITIZE);
		return HX_EXIT_PASS;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	names(valid, sizeof(valid));
	fprintf(stderr, "tcplab: unknown command '%s' (valid: %s)\n", argv[1], valid);
	return HX_EXIT_USAGE;
}
