/* SPDX-License-Identifier: MIT */
/* sut.c - starting, querying and stopping the SUT process of sut.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "json.h"
#include "sut.h"
#include "topology.h"
#include "transport.h"

#define STOP_WAIT_MS 5000

static void exec_child(const struct hx_sut_params *p, int in, int out, pid_t parent)
{
	char *argv[18 + 2 * HX_CLI_MAX_OPTS], cpu[16], conns[16];
	unsigned int n = 0, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (p->netns != NULL && hx_topo_enter(p->netns) < 0) {
		fprintf(stderr, "tcplab: cannot enter %s: %s\n", p->netns, strerror(errno));
		_exit(127);
	}
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	argv[n++] = "tcplab";
	argv[n++] = "serve";
	argv[n++] = (char *)p->program;
	argv[n++] = "--backend";
	argv[n++] = (char *)p->backend;
	argv[n++] = "--run-id";
	argv[n++] = (char *)p->run_id;
	argv[n++] = "--topology";
	argv[n++] = (char *)p->topology;
	argv[n++] = "--errors-json";
	for (i = 0; i < p->n_opts; i++) {
		argv[n++] = "--stack-opt";
		argv[n++] = (char *)p->opts[i];
	}
	if (p->cpu >= 0) {
		snprintf(cpu, sizeof(cpu), "%d", p->cpu);
		argv[n++] = "--cpu";
		argv[n++] = cpu;
	}
	if (p->conns > 0) {
		snprintf(conns, sizeof(conns), "%u", p->conns);
		argv[n++] = "--conns";
		argv[n++] = conns;
	}
	argv[n] = NULL;
	execv("/proc/self/exe", argv);
	fprintf(stderr, "tcplab: cannot start the SUT: %s\n", strerror(errno));
	_exit(127);
}

/*
 * One line from the SUT within @p timeout_ms. With @p st, the wait polls that stack in 1 ms
 * turns instead of sleeping: a user-space stack moves only when it is polled, and what the
 * SUT waits for (this side's last segments and FIN) may still be in it.
 */
static int read_line(struct hx_sut *s, struct tl_stack *st, char *line, int timeout_ms)
{
	int64_t deadline = hx_now_ns() + (int64_t)timeout_ms * 1000000;
	struct pollfd pf = { .fd = s->from_child, .events = POLLIN };
	char *nl;
	ssize_t n;
	int left;

	for (;;) {
		nl = memchr(s->buf, '\n', s->len);
		if (nl != NULL) {
			*nl = '\0';
			snprintf(line, HX_SUT_LINE, "%s", s->buf);
			s->len -= (size_t)(nl + 1 - s->buf);
			memmove(s->buf, nl + 1, s->len);
			return 0;
		}
		left = (int)((deadline - hx_now_ns()) / 1000000);
		if (left <= 0 || s->len == sizeof(s->buf))
			return -ETIMEDOUT;
		if (poll(&pf, 1, st != NULL ? 0 : left) <= 0) {
			if (st != NULL)
				tl_poll(st, NULL, 0, 1);
			continue;
		}
		n = read(s->from_child, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n <= 0)
			return -EPIPE;
		s->len += (size_t)n;
	}
}

static int parse_ready(struct hx_sut *s, struct sockaddr_storage *addr, socklen_t *len)
{
	char host[64], spec[96];
	uint64_t port;

	if (hx_json_find_str(s->ready, "addr", host, sizeof(host)) < 0 ||
	    hx_json_find_uint(s->ready, "port", &port) < 0)
		return -EPROTO;
	snprintf(spec, sizeof(spec), "%s:%llu", host, (unsigned long long)port);
	return hx_parse_addr(spec, addr, len);
}

int hx_sut_start(struct hx_sut *s, const struct hx_sut_params *p, struct sockaddr_storage *addr,
		 socklen_t *addrlen, char *err, size_t errlen)
{
	int in[2], out[2], r;
	pid_t parent = getpid();
	char msg[768];

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_close_in;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0)
		exec_child(p, in[0], out[1], parent);
	if (s->pid < 0) {
		r = -errno;
		goto err_close_out;
	}
	close(in[0]);
	close(out[1]);
	s->to_child = in[1];
	s->from_child = out[0];
	/* stdout carries JSON lines only; a library that prints there anyway (DPDK's EAL
	 * before its logging is set up) is passed on to stderr */
	while ((r = read_line(s, NULL, s->ready, p->ready_timeout_ms)) == 0 && s->ready[0] != '{')
		fprintf(stderr, "%s\n", s->ready);
	if (r == 0 && hx_json_find_str(s->ready, "event", msg, sizeof(msg)) == 0 &&
	    strcmp(msg, "error") == 0) {
		/* the SUT's stack did not start (serve --errors-json): its reason is the run's
		 * one line */
		if (hx_json_find_str(s->ready, "message", msg, sizeof(msg)) < 0)
			snprintf(msg, sizeof(msg), "stack did not start");
		snprintf(err, errlen, "the SUT's %s", msg);
		hx_sut_stop(s);
		return -EIO;
	}
	if (r == 0)
		r = parse_ready(s, addr, addrlen);
	if (r < 0) {
		snprintf(err, errlen, "the SUT (tcplab serve %s --backend %s) %s", p->program,
			 p->backend, r == -ETIMEDOUT ? "did not signal ready in time"
			 : r == -EPIPE ? "exited before it was ready (see its message above)"
			 : "sent a malformed ready line");
		hx_sut_stop(s);
	}
	return r;

err_close_out:
	close(out[0]);
	close(out[1]);
err_close_in:
	close(in[0]);
	close(in[1]);
	return r;
}

int hx_sut_stats(struct hx_sut *s, struct tl_stack *st, int timeout_ms)
{
	char line[HX_SUT_LINE], ev[32];
	int r;

	if (write(s->to_child, "stats\n", 6) != 6)
		return -EPIPE;
	do {
		r = read_line(s, st, line, timeout_ms);
		if (r < 0)
			return r;
	} while (hx_json_find_str(line, "event", ev, sizeof(ev)) < 0 || strcmp(ev, "stats") != 0);
	snprintf(s->stats, sizeof(s->stats), "%s", line);
	return 0;
}

void hx_sut_stop(struct hx_sut *s)
{
	int64_t deadline = hx_now_ns() + (int64_t)STOP_WAIT_MS * 1000000;
	int status;

	if (s->pid <= 0)
		return;
	if (write(s->to_child, "quit\n", 5) < 0) {
		/* it is gone already; waitpid below reaps it */
	}
	close(s->to_child);
	while (waitpid(s->pid, &status, WNOHANG) == 0) {
		if (hx_now_ns() > deadline) {
			fprintf(stderr, "tcplab: the SUT (pid %d) did not exit; killing it\n",
				(int)s->pid);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	close(s->from_child);
	s->pid = -1;
}
