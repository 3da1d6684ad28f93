/* SPDX-License-Identifier: MIT */
/*
 * sut.h - the SUT process of a local run: `tcplab serve PROGRAM` started by `tcplab run`,
 * joined by two pipes (its stdin is the control channel, its stdout the ready and stats
 * lines). Readiness is the ready line, never a sleep. The child dies with its parent
 * (PR_SET_PDEATHSIG) and exits on end of stdin, so it never outlives the run.
 */
#ifndef HX_SUT_H
#define HX_SUT_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct tl_stack;

#define HX_SUT_LINE 4096

struct hx_sut {
	pid_t pid;
	int to_child;		/* its stdin */
	int from_child;		/* its stdout */
	char buf[HX_SUT_LINE];
	size_t len;
	char ready[HX_SUT_LINE];
	char stats[HX_SUT_LINE];	/* the last stats line, "" if none */
};

struct hx_sut_params {
	const char *program;
	const char *backend;
	const char *run_id;
	const char *topology;		/* its --topology: serve applies the SUT side's settings */
	const char *const *opts;	/* the user's --stack-opt values, after those */
	unsigned int n_opts;
	int cpu;			/* < 0: unpinned */
	unsigned int conns;		/* its --conns (tl_stack_params.conns); 0: none */
	const char *netns;		/* a namespace to start it in (path), NULL: this one */
	int ready_timeout_ms;
};

/**
 * Start the SUT and wait for its ready line; fill @p addr with where it listens.
 * Returns 0, or a negative errno with a one-line reason in @p err.
 */
int hx_sut_start(struct hx_sut *s, const struct hx_sut_params *p, struct sockaddr_storage *addr,
		 socklen_t *addrlen, char *err, size_t errlen);

/**
 * Ask for stats (answered once its connections have closed); 0 with s->stats set, or -errno.
 * The engine's stack @p st (NULL: none) is polled meanwhile, so it can finish sending.
 */
int hx_sut_stats(struct hx_sut *s, struct tl_stack *st, int timeout_ms);

/** End the SUT: quit, wait up to 5 s, then SIGKILL by PID. Accepts a never-started SUT. */
void hx_sut_stop(struct hx_sut *s);

#endif /* HX_SUT_H */
