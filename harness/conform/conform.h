/* SPDX-License-Identifier: MIT */
/*
 * conform.h - conformance cases (scenarios/conformance/NAME.case): one side's script of
 * socket calls, parsed and run one call at a time, each call's outcome written as one JSON
 * trace line. `tcplab case FILE --side sut|peer` runs a side; the orchestrator
 * (python/tcplab/conform.py, `tcplab conform`) runs the peer on Linux and the sut on each
 * backend, relays signals between them and compares the kernel trace with the stack's.
 *
 * A side's script, one call per line (see scenarios/conformance/README.md):
 *     [VAR =] OP ARGS...
 * Sockets live in named variables; `signal NAME` / `wait NAME` order the two sides.
 */
#ifndef HX_CONFORM_H
#define HX_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CF_MAX_STEPS 128
#define CF_MAX_VARS 8
#define CF_MAX_IOV 8
#define CF_NAME_MAX 32

enum cf_op {
	CF_SOCKET,
	CF_BIND,
	CF_LISTEN,
	CF_ACCEPT,
	CF_CONNECT,
	CF_SEND,
	CF_RECV,
	CF_SENDV,
	CF_RECVV,
	CF_SHUTDOWN,
	CF_CLOSE,
	CF_SETSOCKOPT,
	CF_GETSOCKOPT,
	CF_GETSOCKNAME,
	CF_GETPEERNAME,
	CF_NONBLOCK,
	CF_POLL,
	CF_AVAILABLE,
	CF_SIGNAL,
	CF_WAIT,
	CF_ACKED,
	CF_FILL,
	CF_DRAIN,
	CF_HANDLE,
	CF_GETFL,
};

/** Where an address argument points: resolved at run time from the topology's addresses. */
enum cf_host {
	CF_HOST_SUT,
	CF_HOST_PEER,
	CF_HOST_ANY,
};

struct cf_step {
	enum cf_op op;
	unsigned int line;
	int dst;			/* variable assigned (socket, accept), -1 if none */
	int sock;			/* variable used, -1 if none */
	enum cf_host host;		/* bind, connect */
	unsigned int port;
	int64_t n;			/* bytes, backlog, option value, timeout ms, handle */
	int flags;			/* MSG_* for send/recv, SHUT_* for shutdown, POLL* for poll,
					 * SOCK_NONBLOCK for socket */
	int level;			/* socket option */
	int name;
	unsigned int n_iov;
	uint32_t iov[CF_MAX_IOV];
	char text[CF_NAME_MAX];		/* signal/wait name, option name */
	bool timed;			/* `took MIN MAX`: the call's duration is checked */
	int64_t took_min_ms;
	int64_t took_max_ms;
};

struct cf_side {
	struct cf_step steps[CF_MAX_STEPS];
	unsigned int n_steps;
	char vars[CF_MAX_VARS][CF_NAME_MAX];
	unsigned int n_vars;
};

/**
 * Parse side @p side ("sut" or "peer") of the case at @p path. Returns 0, or -EINVAL with
 * "file:line: message" in @p err.
 */
int cf_side_load(struct cf_side *cs, const char *path, const char *side, char *err,
		 size_t errlen);
/** The same from memory (tests, the fuzz driver); @p path is only used in messages. */
int cf_side_parse(struct cf_side *cs, const char *path, const char *text, const char *side,
		  char *err, size_t errlen);

/** The first port the stacks draw ephemeral ports from; a case's fixed ports are below. */
#define CF_EPHEMERAL_MIN 32768

/**
 * Write @p port as a trace shows it into @p out (@p len bytes): a port below
 * CF_EPHEMERAL_MIN (the ports scripts name) as its number; one from there up, the stack's
 * pick, as "eph", unless it is a port the script @p cs names (bind, connect) with its bytes
 * swapped, which prints as "swapped:N" (a stack that forgot a byte order; no correct stack
 * shows it).
 */
void cf_port_text(const struct cf_side *cs, unsigned int port, char *out, size_t len);

#endif /* HX_CONFORM_H */
