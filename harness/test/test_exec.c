/* SPDX-License-Identifier: MIT */
/*
 * test_exec.c - unit tests of hx_exec (harness.h), the one way the harness runs ip and tc:
 * the child's status and output, and a stop signal (SIGINT, caught by hx_signals_init's
 * handler) that arrives while the child runs, as a ^C during a run's setup does.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

/* A process that sends SIGINT to this one after @p ms milliseconds. */
static pid_t interrupt_after(int ms)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		kill(parent, SIGINT);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int test_status_and_output(void)
{
	char out[64], err[64];

	EXPECT_EQ_INT(hx_exec((const char *const[]){ "sh", "-c", "echo one; echo two >&2; exit 3",
						     NULL }, out, sizeof(out), err, sizeof(err)), 3);
	EXPECT_TRUE(strcmp(out, "one\n") == 0);
	EXPECT_TRUE(strcmp(err, "two") == 0);
	EXPECT_EQ_INT(hx_exec((const char *const[]){ "sh", "-c", "kill -TERM $$", NULL },
			      NULL, 0, NULL, 0), -EINTR);
	EXPECT_EQ_INT(hx_exec((const char *const[]){ "/nonexistent/tcplab-none", NULL },
			      NULL, 0, NULL, 0), 127);
	return 0;
}

/* The signal sets hx_stop; the child still runs to its end and is reaped, with its status
 * (as `ip netns add` must, or its namespace is half made and never removed). */
static int test_a_stop_waits_for_the_child(void)
{
	pid_t k;
	int r;

	hx_stop = 0;
	k = interrupt_after(50);
	r = hx_exec((const char *const[]){ "sh", "-c", "sleep 0.3; exit 4", NULL },
		    NULL, 0, NULL, 0);
	reap(k);
	EXPECT_EQ_INT(hx_stop, SIGINT);
	EXPECT_EQ_INT(r, 4);
	EXPECT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);	/* no child left */
	return 0;
}

/* The same while its output is read. */
static int test_a_stop_keeps_the_output(void)
{
	char out[64], err[64];
	pid_t k;
	int r;

	hx_stop = 0;
	k = interrupt_after(50);
	r = hx_exec((const char *const[]){ "sh", "-c", "sleep 0.3; echo late; echo oops >&2",
					   NULL }, out, sizeof(out), err, sizeof(err));
	reap(k);
	EXPECT_EQ_INT(hx_stop, SIGINT);
	EXPECT_EQ_INT(r, 0);
	EXPECT_TRUE(strcmp(out, "late\n") == 0);
	k = interrupt_after(50);
	r = hx_exec((const char *const[]){ "sh", "-c", "sleep 0.3; echo oops >&2", NULL },
		    NULL, 0, err, sizeof(err));
	reap(k);
	EXPECT_EQ_INT(r, 0);
	EXPECT_TRUE(strcmp(err, "oops") == 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "status_and_output", test_status_and_output },
		{ "a_stop_waits_for_the_child", test_a_stop_waits_for_the_child },
		{ "a_stop_keeps_the_output", test_a_stop_keeps_the_output },
	};

	hx_signals_init();
	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
