/* SPDX-License-Identifier: MIT */
/* topology.c - the run's own network namespaces (topology.h), made and removed with ip(8). */
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

#define PREFIX "tcplab-r"	/* + t (tap), e, s (veth engine, SUT) + pid */

/* Run ARGV quietly; its exit status, or -errno when it could not run. */
static int run_cmd(const char *const *argv)
{
	int status, null;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
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
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 ||
		    strchr("tes", e->d_name[strlen(PREFIX)]) == NULL)
			continue;
		pid = strtol(e->d_name + strlen(PREFIX) + 1, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		run_cmd((const char *const[]){ "ip", "netns", "del", e->d_name, NULL });
	}
	closedir(d);
}

int hx_topo_enter(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int add_ns(struct hx_topo *t, char kind, char *err, size_t len)
{
	char *name = t->ns[t->n];
	int r;

	snprintf(name, sizeof(t->ns[0]), PREFIX "%c%d", kind, (int)getpid());
	r = run_cmd((const char *const[]){ "ip", "netns", "add", name, NULL });
	if (r != 0) {
		snprintf(err, len, "cannot create network namespace %s (ip netns add: %s)", name,
			 r < 0 ? strerror(-r) : "failed; root is needed");
		return -EPERM;
	}
	t->n++;
	if (run_cmd((const char *const[]){ "ip", "-n", name, "link", "set", "lo", "up",
					   NULL }) != 0) {
		snprintf(err, len, "cannot bring lo up in %s", name);
		return -EIO;
	}
	return 0;
}

static int enter_engine_ns(struct hx_topo *t, char *err, size_t len)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/run/netns/%s", t->ns[0]);
	r = hx_topo_enter(path);
	if (r < 0)
		snprintf(err, len, "cannot enter network namespace %s: %s", t->ns[0], strerror(-r));
	return r;
}

int hx_topo_tap(struct hx_topo *t, char *err, size_t len)
{
	int r;

	remove_stale();
	memset(t, 0, sizeof(*t));
	r = add_ns(t, 't', err, len);
	if (r == 0)
		r = enter_engine_ns(t, err, len);
	if (r < 0)
		hx_topo_remove(t);
	return r;
}

/* One end: up, an address if it is the kernel's, offloads off if lwIP is on the wire. */
static int veth_end(const char *ns, const char *dev, const char *addr, bool offloads_off)
{
	char cidr[32];
	int r = 0;

	if (addr != NULL) {
		snprintf(cidr, sizeof(cidr), "%s/24", addr);
		r = run_cmd((const char *const[]){ "ip", "-n", ns, "addr", "add", cidr, "dev", dev,
						   NULL });
	}
	if (r == 0 && offloads_off)
		r = run_cmd((const char *const[]){ "ip", "netns", "exec", ns, "ethtool", "-K", dev,
						   "tx", "off", "tso", "off", "gso", "off",
						   "gro", "off", NULL });
	if (r == 0)
		r = run_cmd((const char *const[]){ "ip", "-n", ns, "link", "set", dev, "up",
						   NULL });
	return r;
}

int hx_topo_veth(struct hx_topo *t, bool engine_kernel, bool sut_kernel, char *err,
		 size_t len)
{
	bool lwip = !engine_kernel || !sut_kernel;
	int r;

	remove_stale();
	memset(t, 0, sizeof(*t));
	r = add_ns(t, 'e', err, len);
	if (r == 0)
		r = add_ns(t, 's', err, len);
	if (r == 0 && (run_cmd((const char *const[]){ "ip", "link", "add", "tlv-c", "netns",
						      t->ns[0], "type", "veth", "peer", "name",
						      "tlv-s", "netns", t->ns[1], NULL }) != 0 ||
		       veth_end(t->ns[0], "tlv-c", engine_kernel ? HX_VETH_ENGINE_ADDR : NULL,
				lwip) != 0 ||
		       veth_end(t->ns[1], "tlv-s", sut_kernel ? HX_VETH_SUT_ADDR : NULL,
				lwip) != 0)) {
		snprintf(err, len, "cannot set up the veth pair between %s and %s", t->ns[0],
			 t->ns[1]);
		r = -EIO;
	}
	if (r == 0) {
		snprintf(t->sut_ns_path, sizeof(t->sut_ns_path), "/run/netns/%s", t->ns[1]);
		r = enter_engine_ns(t, err, len);
	}
	if (r < 0)
		hx_topo_remove(t);
	return r;
}

void hx_topo_remove(struct hx_topo *t)
{
	while (t->n > 0) {
		t->n--;
		run_cmd((const char *const[]){ "ip", "netns", "del", t->ns[t->n], NULL });
	}
}
