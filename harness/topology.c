/* SPDX-License-Identifier: MIT */
/* topology.c - the run's own network namespace (topology.h), made and removed with ip(8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topology.h"

#define PREFIX "tcplab-rt"

/* ip ARGS..., quietly; its exit status (or -errno when it could not run). */
static int run_ip(const char *const *args)
{
	char *argv[8];
	int status, i, null;
	pid_t pid;

	argv[0] = "ip";
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execvp("ip", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/* Names of runs that are gone: what a SIGKILLed run could not remove. */
static void remove_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	long pid;
	char *end;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(PREFIX), &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		run_ip((const char *const[]){ "netns", "del", e->d_name, NULL });
	}
	closedir(d);
}

int hx_netns_enter_new(struct hx_netns *ns, char *err, size_t len)
{
	char path[64];
	int fd, r;

	remove_stale();
	snprintf(ns->name, sizeof(ns->name), PREFIX "%d", (int)getpid());
	r = run_ip((const char *const[]){ "netns", "add", ns->name, NULL });
	if (r != 0) {
		snprintf(err, len, "cannot create network namespace %s (ip netns add: %s)",
			 ns->name, r < 0 ? strerror(-r) : "failed; root is needed");
		return -EPERM;
	}
	ns->created = true;
	snprintf(path, sizeof(path), "/run/netns/%s", ns->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		snprintf(err, len, "cannot enter network namespace %s: %s", ns->name, strerror(-r));
		if (fd >= 0)
			close(fd);
		hx_netns_remove(ns);
		return r;
	}
	close(fd);
	if (run_ip((const char *const[]){ "link", "set", "lo", "up", NULL }) != 0) {
		snprintf(err, len, "cannot bring lo up in %s", ns->name);
		hx_netns_remove(ns);
		return -EIO;
	}
	return 0;
}

void hx_netns_remove(struct hx_netns *ns)
{
	if (!ns->created)
		return;
	run_ip((const char *const[]){ "netns", "del", ns->name, NULL });
	ns->created = false;
}
