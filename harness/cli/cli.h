/* SPDX-License-Identifier: MIT */
/*
 * cli.h - flag parsing shared by the tcplab commands, so every bad flag or value gets the
 * same one-line message naming the problem and the valid choices.
 */
#ifndef HX_CLI_H
#define HX_CLI_H

#include <getopt.h>

#include <tcplab/stack.h>

#define HX_CLI_MAX_OPTS 32

/**
 * getopt_long with tcplab's messages: an unknown flag or a missing value prints
 * "tcplab CMD: unknown flag '--x' (valid: --a, --b)" and returns '?'. @p shorts: getopt's
 * short options ("d:o:"), each the val of its long one; "" none.
 */
int hx_cli_getopt(int argc, char **argv, const struct option *opts, const char *shorts,
		  const char *cmd);

/** Append a KEY=VALUE @p arg to @p list; -EINVAL with a message when malformed or full. */
int hx_cli_add_opt(const char **list, unsigned int *n, const char *arg, const char *flag);

/** Parse an int in [min, max]; -EINVAL with a message naming @p flag. */
int hx_cli_int(const char *arg, const char *flag, int min, int max, int *out);

/** -ENOENT with "unknown backend 'x' (valid: ...)" when @p name is not found. */
int hx_cli_check_backend(const char *name, const char *who);

/**
 * The backend a side of kind @p kind takes when none is named: the build's default stack
 * (meson option default_stack) if it is of that kind, else the first of that kind in
 * tl_backends() order (the built-in ones first, so the Linux baseline for sockets). NULL if
 * there is none.
 */
const char *hx_cli_default_backend(enum tl_attach kind);

#endif /* HX_CLI_H */
