/* SPDX-License-Identifier: MIT */
/*
 * test_ws.c - ws.c, the wait sets' bookkeeping: ws_ctl's errors, a wait that sees only what
 * was touched or ready, level-triggered reports (a ready socket stays a candidate, one found
 * not ready leaves), turns among more ready sockets than a wait takes, and a closed socket
 * out of every set.
 */
#include <errno.h>
#include <string.h>

#include "../ws.h"
#include "test.h"

#define N 16

static struct dpk_ws_table t = { .n_sockets = N };
static struct pollfd pf[N];
static struct tl_event ev[N];

/* A wait: the candidates' revents from @p ready (a bit per socket, POLLIN). */
static unsigned int wait(struct dpk_ws *w, unsigned int ready, unsigned int max,
			 unsigned int *looked)
{
	unsigned int n = dpk_ws_take(w, pf), i;

	for (i = 0; i < n; i++)
		pf[i].revents = (ready >> pf[i].fd) & 1 ? POLLIN : 0;
	*looked = n;
	return dpk_ws_report(w, pf, n, ev, max);
}

static int test_ctl_errors(void)
{
	int ws = dpk_ws_create(&t);
	struct dpk_ws *w = dpk_ws_of(&t, ws);

	EXPECT_TRUE(w != NULL);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_MOD, 3, POLLIN, 1), -ENOENT);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_DEL, 3, POLLIN, 1), -ENOENT);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_ADD, 3, POLLIN, 1), 0);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_ADD, 3, POLLIN, 1), -EEXIST);
	EXPECT_EQ_INT(dpk_ws_ctl(w, 9, 3, POLLIN, 1), -EINVAL);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_ADD, N, POLLIN, 1), -EBADF);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_DEL, 3, 0, 0), 0);
	EXPECT_EQ_INT(dpk_ws_close(&t, ws), 0);
	EXPECT_EQ_INT(dpk_ws_close(&t, ws), -EBADF);
	EXPECT_TRUE(dpk_ws_of(&t, ws) == NULL);
	return 0;
}

static int test_level_triggered(void)
{
	int ws = dpk_ws_create(&t);
	struct dpk_ws *w = dpk_ws_of(&t, ws);
	unsigned int looked, s;

	for (s = 0; s < 8; s++)
		EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_ADD, (int)s, POLLIN, 100 + s), 0);
	/* just added: all looked at once; none ready, so none looked at again */
	EXPECT_EQ_INT(wait(w, 0, N, &looked), 0);
	EXPECT_EQ_INT(looked, 8);
	EXPECT_EQ_INT(wait(w, 1u << 5, N, &looked), 0);
	EXPECT_EQ_INT(looked, 0);
	/* touched: looked at; ready: reported, and again while it stays ready */
	dpk_ws_touch(&t, 5);
	dpk_ws_touch(&t, 5);
	EXPECT_EQ_INT(wait(w, 1u << 5, N, &looked), 1);
	EXPECT_EQ_INT(looked, 1);
	EXPECT_EQ_INT(ev[0].cookie, 105);
	EXPECT_EQ_INT(ev[0].revents, POLLIN);
	EXPECT_EQ_INT(wait(w, 1u << 5, N, &looked), 1);
	/* no longer ready: it leaves the list */
	EXPECT_EQ_INT(wait(w, 0, N, &looked), 0);
	EXPECT_EQ_INT(looked, 1);
	EXPECT_EQ_INT(wait(w, 0, N, &looked), 0);
	EXPECT_EQ_INT(looked, 0);
	/* a socket outside the set is never a candidate; a closed one leaves every set */
	dpk_ws_touch(&t, 12);
	dpk_ws_touch(&t, 6);
	dpk_ws_forget(&t, 6);
	EXPECT_EQ_INT(wait(w, 0xffff, N, &looked), 0);
	EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_MOD, 6, POLLIN, 0), -ENOENT);
	EXPECT_EQ_INT(dpk_ws_close(&t, ws), 0);
	return 0;
}

static int test_turns(void)
{
	int ws = dpk_ws_create(&t);
	struct dpk_ws *w = dpk_ws_of(&t, ws);
	unsigned int looked, s, round, seen = 0;

	for (s = 0; s < 6; s++)
		EXPECT_EQ_INT(dpk_ws_ctl(w, TL_WS_ADD, (int)s, POLLIN, s), 0);
	/* six ready, two a wait: three waits report each once */
	for (round = 0; round < 3; round++) {
		EXPECT_EQ_INT(wait(w, 0x3f, 2, &looked), 2);
		EXPECT_EQ_INT(looked, 6);
		seen |= 1u << ev[0].cookie | 1u << ev[1].cookie;
	}
	EXPECT_EQ_INT(seen, 0x3f);
	EXPECT_EQ_INT(dpk_ws_close(&t, ws), 0);
	return 0;
}

static int test_sets_are_counted(void)
{
	int ws[DPK_WS_MAX], i;

	for (i = 0; i < DPK_WS_MAX; i++)
		EXPECT_TRUE((ws[i] = dpk_ws_create(&t)) >= 0);
	EXPECT_EQ_INT(dpk_ws_create(&t), -EMFILE);
	dpk_ws_close_all(&t);
	EXPECT_TRUE(dpk_ws_of(&t, ws[0]) == NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "ctl_errors", test_ctl_errors },
		{ "level_triggered", test_level_triggered },
		{ "turns", test_turns },
		{ "sets_are_counted", test_sets_are_counted },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
