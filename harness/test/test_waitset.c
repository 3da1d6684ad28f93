/* SPDX-License-Identifier: MIT */
/*
 * test_waitset.c - unit tests of the kernel backend's wait set (tl_ops.ws_*, an epoll
 * instance) over loopback TCP: the contract the engine and `tcplab serve` rely on when they
 * register a socket once instead of polling it every pass. Level-triggered like poll, errors
 * as stack.h lists them, and a closed socket out of the set.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "test.h"
#include "transport.h"

#define COOKIE_A UINT64_C(0x1234567800000001)
#define COOKIE_B UINT64_C(0xfedcba9800000002)

/* A connected pair on loopback: the client and the accepted socket, the listener closed. */
struct pair {
	struct tl_stack *st;
	int cli, srv;
};

static int pair_open(struct pair *p)
{
	struct tl_stack_params prm = { .role = TL_ROLE_CLIENT, .run_id = "test", .cpu = -1 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char err[256];
	int l;

	p->st = tl_stack_create("kernel", &prm, err, sizeof(err));
	EXPECT_TRUE(p->st != NULL);
	l = tl_socket(p->st);
	EXPECT_TRUE(l >= 0);
	EXPECT_EQ_INT(tl_bind(p->st, l, (struct sockaddr *)&a, len), 0);
	EXPECT_EQ_INT(tl_listen(p->st, l, 4), 0);
	EXPECT_EQ_INT(tl_getsockname(p->st, l, (struct sockaddr *)&a, &len), 0);
	p->cli = tl_socket(p->st);
	EXPECT_TRUE(p->cli >= 0);
	EXPECT_EQ_INT(tl_connect(p->st, p->cli, (struct sockaddr *)&a, len), 0);
	p->srv = tl_accept(p->st, l, NULL, NULL);
	EXPECT_TRUE(p->srv >= 0);
	tl_close(p->st, l);
	return 0;
}

/* Readable stays reported until read (level-triggered), with the cookie given. */
static int test_level_triggered(void)
{
	struct tl_event ev[4];
	struct pair p;
	char buf[8];
	int ws;

	EXPECT_EQ_INT(pair_open(&p), 0);
	ws = tl_ws_create(p.st);
	EXPECT_TRUE(ws >= 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.srv, POLLIN, COOKIE_A), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 0);
	EXPECT_EQ_INT(tl_send(p.st, p.cli, "ab", 2, 0), 2);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 1000), 1);
	EXPECT_TRUE(ev[0].cookie == COOKIE_A);
	EXPECT_EQ_INT(ev[0].revents, POLLIN);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 1);	/* not read: still there */
	EXPECT_EQ_INT(tl_recv(p.st, p.srv, buf, sizeof(buf), 0), 2);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 0);
	tl_ws_close(p.st, ws);
	tl_stack_free(p.st);
	return 0;
}

/* MOD changes the events and the cookie; writable is reported as poll reports it. */
static int test_modify(void)
{
	struct tl_event ev[4];
	struct pair p;
	int ws;

	EXPECT_EQ_INT(pair_open(&p), 0);
	ws = tl_ws_create(p.st);
	EXPECT_TRUE(ws >= 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.cli, POLLIN, COOKIE_A), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_MOD, p.cli, POLLIN | POLLOUT, COOKIE_B), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 1);
	EXPECT_TRUE(ev[0].cookie == COOKIE_B);
	EXPECT_EQ_INT(ev[0].revents, POLLOUT);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_DEL, p.cli, 0, 0), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 0);
	tl_ws_close(p.st, ws);
	tl_stack_free(p.st);
	return 0;
}

/* The errors stack.h names: ADD twice, DEL or MOD of a socket not in the set, a bad op. */
static int test_errors(void)
{
	struct pair p;
	int ws;

	EXPECT_EQ_INT(pair_open(&p), 0);
	ws = tl_ws_create(p.st);
	EXPECT_TRUE(ws >= 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.cli, POLLIN, 1), 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.cli, POLLIN, 1), -EEXIST);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_MOD, p.srv, POLLIN, 1), -ENOENT);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_DEL, p.srv, 0, 0), -ENOENT);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, 99, p.cli, POLLIN, 1), -EINVAL);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, 1 << 20, POLLIN, 1), -EBADF);
	tl_ws_close(p.st, ws);
	tl_stack_free(p.st);
	return 0;
}

/* A peer's close is reported (POLLIN: end of stream); closing a socket takes it out of the
 * set: nothing of it is reported after. */
static int test_close_removes(void)
{
	struct tl_event ev[4];
	struct pair p;
	int ws;

	EXPECT_EQ_INT(pair_open(&p), 0);
	ws = tl_ws_create(p.st);
	EXPECT_TRUE(ws >= 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.srv, POLLIN, COOKIE_A), 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.cli, POLLIN, COOKIE_B), 0);
	EXPECT_EQ_INT(tl_close(p.st, p.cli), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 1000), 1);
	EXPECT_TRUE(ev[0].cookie == COOKIE_A);
	EXPECT_TRUE((ev[0].revents & POLLIN) != 0);
	EXPECT_EQ_INT(tl_close(p.st, p.srv), 0);
	EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 4, 0), 0);
	tl_ws_close(p.st, ws);
	tl_stack_free(p.st);
	return 0;
}

/* More ready than one call takes: successive calls take turns, none is left out. */
static int test_takes_turns(void)
{
	struct tl_event ev[1];
	struct pair p;
	uint64_t seen = 0;
	int ws, i;

	EXPECT_EQ_INT(pair_open(&p), 0);
	ws = tl_ws_create(p.st);
	EXPECT_TRUE(ws >= 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.srv, POLLOUT, 1), 0);
	EXPECT_EQ_INT(tl_ws_ctl(p.st, ws, TL_WS_ADD, p.cli, POLLOUT, 2), 0);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ_INT(tl_ws_wait(p.st, ws, ev, 1, 0), 1);
		seen |= ev[0].cookie;
	}
	EXPECT_EQ_INT(seen, 3);
	tl_ws_close(p.st, ws);
	tl_stack_free(p.st);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "level_triggered", test_level_triggered },
		{ "modify", test_modify },
		{ "errors", test_errors },
		{ "close_removes", test_close_removes },
		{ "takes_turns", test_takes_turns },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
