/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what the tcplab commands share: the stop flag, the clock, exit codes and the
 * command entry points main.c dispatches to.
 */
#ifndef HX_HARNESS_H
#define HX_HARNESS_H

#include <signal.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"

/* Exit codes of every tcplab command. */
#define HX_EXIT_PASS 0
#define HX_EXIT_FAIL 1		/* a check failed */
#define HX_EXIT_USAGE 2		/* usage or setup error */

/** Set by SIGINT/SIGTERM; the one global (STYLE.md 6). Loops poll it and wind down. */
extern volatile sig_atomic_t hx_stop;

/** Install the SIGINT/SIGTERM handler that sets hx_stop to the signal; ignore SIGPIPE. */
void hx_signals_init(void);

/** CLOCK_MONOTONIC in ns (clock.h has the engine's clock). */
static inline int64_t hx_now_ns(void)
{
	return hx_clock_monotonic_ns();
}

/** Pin the calling thread to @p cpu (< 0: leave as is). Returns 0 or -errno. */
int hx_pin_cpu(int cpu);

/** The CPUs the calling thread may run on, as a list ("1", "0-1", "0,2-3"); "" unknown. */
void hx_cpu_list(char *buf, size_t len);

/** Parse "A.B.C.D:PORT" (or ":PORT") into @p ss; 0 or -EINVAL. */
int hx_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/** "A.B.C.D" and port of @p ss, for messages and JSON. */
void hx_format_addr(const struct sockaddr_storage *ss, char *host, size_t hostlen,
		    unsigned int *port);

/**
 * Run @p argv (execvp, a NULL-terminated list) and wait for it: its stdout into @p out (NULL:
 * dropped), the first line of its stderr into @p err (NULL: dropped). Returns its exit
 * status, -EINTR when a signal ended it, or -errno when it could not start.
 */
int hx_exec(const char *const *argv, char *out, size_t out_len, char *err, size_t err_len);

int hx_cmd_run(int argc, char **argv);
int hx_cmd_serve(int argc, char **argv);
int hx_cmd_list(int argc, char **argv);
int hx_cmd_case(int argc, char **argv);

#endif /* HX_HARNESS_H */
