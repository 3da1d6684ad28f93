/* SPDX-License-Identifier: MIT */
/* janitor.c - the process of janitor.h that cleans up after a run whose engine died. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "janitor.h"
#include "topology.h"

#define DEATH_WAIT_MS 2000	/* for the engine's exit to complete after its files closed */
#define PIPE_FD 3

/* Whether @p pid has finished exiting (a zombie, or reaped): its children (the SUT) have
 * been sent their death signal by then, so none can make anything more. */
static bool exited(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool done = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		done = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return done;
}

static void ignore(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigaction(sig, &sa, NULL);
}

/* Out of the terminal's session (Ctrl-C and a hang-up are for the engine), deaf to the
 * signals that stop a run, holding nothing of the engine's but the pipe: not its output (the
 * engine's readers see it end with the engine), nor a lock its caller took. The pipe is
 * fd 3 after it. */
static void detach(int fd)
{
	int null = open("/dev/null", O_RDWR);

	setsid();
	ignore(SIGINT);
	ignore(SIGTERM);
	ignore(SIGHUP);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	if (fd != PIPE_FD)
		dup2(fd, PIPE_FD);
	close_range(PIPE_FD + 1, ~0U, 0);
}

static void run_janitor(int fd, pid_t engine, const char *run_id,
			const struct tl_ops *const *stacks, unsigned int n_stacks)
{
	unsigned int i;

	int64_t deadline;
	ssize_t n;
	char c;

	detach(fd);
	do
		n = read(PIPE_FD, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {	/* end of file: the engine died */
		deadline = hx_now_ns() + (int64_t)DEATH_WAIT_MS * 1000000;
		while (!exited(engine) && hx_now_ns() < deadline)
			usleep(10000);
	}
	hx_topo_remove_run(engine);
	for (i = 0; i < n_stacks; i++)
		if (stacks[i] != NULL && stacks[i]->cleanup != NULL)
			stacks[i]->cleanup(run_id);
	_exit(0);
}

int hx_janitor_start(struct hx_janitor *j, const char *run_id,
		     const struct tl_ops *const *stacks, unsigned int n_stacks)
{
	pid_t engine = getpid();
	int p[2];

	j->pid = -1;
	j->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	j->pid = fork();
	if (j->pid == 0) {
		close(p[1]);
		run_janitor(p[0], engine, run_id, stacks, n_stacks);
	}
	close(p[0]);
	if (j->pid < 0) {
		close(p[1]);
		return -errno;
	}
	j->fd = p[1];
	return 0;
}

void hx_janitor_stop(struct hx_janitor *j)
{
	if (j->pid <= 0)
		return;
	if (write(j->fd, "d", 1) < 0) {
		/* it is gone already (killed by hand): waitpid reaps it */
	}
	close(j->fd);
	while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
		;
	j->pid = -1;
	j->fd = -1;
}
