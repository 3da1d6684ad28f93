/* SPDX-License-Identifier: MIT */
/*
 * main.c - the tcplab binary: dispatch to a command. The ./tcplab script at the top of the
 * tree builds this binary and adds the commands that are not C (test, bench).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

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

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: tcplab COMMAND [ARGS]\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  tcplab COMMAND --help for its flags\n");
}

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc < 2) {
		usage(stderr);
		return HX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return HX_EXIT_PASS;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "tcplab: unknown command '%s' (valid: run, serve, list, case, test, "
		"bench, conform, packets, compare, report, baseline)\n",
		argv[1]);
	return HX_EXIT_USAGE;
}
