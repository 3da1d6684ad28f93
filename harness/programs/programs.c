/* SPDX-License-Identifier: MIT */
/*
 * programs.c - the SUT programs: echo (every byte back), sink (read, verify, discard) and
 * source (an endless pattern stream). Each is non-blocking: it moves what the socket allows
 * and tells serve.c which events to wait for next.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "programs.h"

static short echo_events(const struct hx_sconn *c)
{
	return c->pend_len > 0 ? POLLOUT : POLLIN;
}

static int echo_flush(struct hx_serve *sv, struct hx_sconn *c)
{
	while (c->pend_len > 0) {
		ssize_t n = tl_send(sv->st, c->s, c->buf + c->pend_off, c->pend_len, 0);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		c->pend_off += (size_t)n;
		c->pend_len -= (size_t)n;
		sv->stats.bytes_out += (uint64_t)n;
	}
	return 0;
}

/* One receive per readiness report: poll is level-triggered, so what is left is reported
 * again, and a request/response peer never has a second message waiting (an extra receive
 * would only return -EAGAIN). */
static int echo_ready(struct hx_serve *sv, struct hx_sconn *c, short revents)
{
	ssize_t n;

	(void)revents;
	if (c->pend_len == 0) {
		n = tl_recv(sv->st, c->s, c->buf, HX_SERVE_BUF, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return n == 0 ? 1 : (int)n;
		sv->stats.bytes_in += (uint64_t)n;
		c->pend_off = 0;
		c->pend_len = (size_t)n;
	}
	return echo_flush(sv, c);
}

static short sink_events(const struct hx_sconn *c)
{
	(void)c;
	return POLLIN;
}

static int sink_ready(struct hx_serve *sv, struct hx_sconn *c, short revents)
{
	ssize_t n;

	(void)revents;
	for (;;) {
		n = tl_recv(sv->st, c->s, sv->scratch, sizeof(sv->scratch), 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return n == 0 ? 1 : (int)n;
		if (!hx_pattern_check(&sv->pattern, sv->scratch, (size_t)n, c->rx_off))
			sv->stats.mismatches++;
		c->rx_off += (uint64_t)n;
		sv->stats.bytes_in += (uint64_t)n;
	}
}

static short source_events(const struct hx_sconn *c)
{
	(void)c;
	return POLLIN | POLLOUT;
}

static int source_ready(struct hx_serve *sv, struct hx_sconn *c, short revents)
{
	ssize_t n;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = tl_recv(sv->st, c->s, sv->scratch, sizeof(sv->scratch), 0);
		if (n == 0)
			return 1;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		if (n > 0)
			sv->stats.bytes_in += (uint64_t)n;
	}
	for (;;) {
		n = tl_send(sv->st, c->s, hx_pattern_at(&sv->pattern, c->tx_off), HX_PATTERN_CHUNK,
			    0);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		c->tx_off += (uint64_t)n;
		sv->stats.bytes_out += (uint64_t)n;
	}
}

static const struct hx_program echo = {
	.name = "echo",
	.description = "sends every byte it receives back",
	.events = echo_events,
	.ready = echo_ready,
};

static const struct hx_program sink = {
	.name = "sink",
	.description = "reads, verifies the pattern and discards; reports bytes",
	.events = sink_events,
	.ready = sink_ready,
};

static const struct hx_program source = {
	.name = "source",
	.description = "sends an endless pattern stream to every connection",
	.events = source_events,
	.ready = source_ready,
};

static const struct hx_program *const programs[] = { &echo, &sink, &source, &hx_program_objects,
						       NULL };

const struct hx_program *const *hx_programs(void)
{
	return programs;
}

const struct hx_program *hx_program_find(const char *name)
{
	unsigned int i;

	for (i = 0; programs[i] != NULL; i++)
		if (strcmp(programs[i]->name, name) == 0)
			return programs[i];
	return NULL;
}

void hx_program_names(char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; programs[i] != NULL && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					programs[i]->name);
}
