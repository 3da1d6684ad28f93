/* SPDX-License-Identifier: MIT */
/*
 * capture.c - `tcplab run --pcap` (capture.h): each side's capture file, the pcap= setting
 * of a DPDK side, tcpdump for a sockets side in a namespace of the run, and what is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "harness.h"
#include "json.h"

#define TCPDUMP_READY_MS 5000
#define TCPDUMP_STOP_MS 5000
#define PCAP_HEADER_LEN 24
#define SNAP "256"		/* as the DPDK ring's (stack/dpdk/capture.h, DPK_CAPTURE_SNAP) */

static const char *const mode_names[] = {
	[HX_PCAP_ON_FAILURE] = "on-failure",
	[HX_PCAP_ALWAYS] = "always",
	[HX_PCAP_NEVER] = "never",
};

static const char *const side_names[HX_SIDES] = {
	[HX_SIDE_ENGINE] = "engine",
	[HX_SIDE_SUT] = "sut",
};

int hx_capture_mode(enum hx_pcap_mode *mode, const char *arg)
{
	unsigned int i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(arg, mode_names[i]) == 0) {
			*mode = (enum hx_pcap_mode)i;
			return 0;
		}
	fprintf(stderr, "tcplab run: --pcap '%s': expected on-failure, always or never\n", arg);
	return -EINVAL;
}

int hx_capture_check_opts(const char *const *opts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (strncmp(opts[i], "pcap=", 5) == 0) {
			fprintf(stderr, "tcplab run: --stack-opt %s: a run names its capture files "
				"itself (--pcap always|on-failure|never; pcap_frames= sets how many "
				"frames)\n", opts[i]);
			return -EINVAL;
		}
	return 0;
}

/* ---- tcpdump, for a sockets side ---- */

static void exec_tcpdump(const char *netns, const char *path, int err_fd, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (netns != NULL && hx_topo_enter(netns) < 0) {
		fprintf(stderr, "tcpdump: cannot enter %s: %s\n", netns, strerror(errno));
		_exit(127);
	}
	dup2(err_fd, STDERR_FILENO);
	dup2(err_fd, STDOUT_FILENO);
	/* every interface of the namespace (a tap's appears only once its port starts);
	 * --immediate-mode: each frame reaches the file at once, else frames of the last
	 * second wait in the kernel's ring and are lost when it is stopped; -Z root:
	 * Debian's tcpdump would otherwise write the file as user tcpdump */
	execlp("tcpdump", "tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-s", SNAP,
	       "-Z", "root", "-w", path, (char *)NULL);
	fprintf(stderr, "tcpdump: cannot run it: %s (Debian's tcpdump, ci/packages.txt)\n",
		strerror(errno));
	_exit(127);
}

/* Its "listening on" line on stderr, within TCPDUMP_READY_MS: it captures from then on. */
static int tcpdump_ready(int fd, char *line, size_t len)
{
	int64_t deadline = hx_now_ns() + (int64_t)TCPDUMP_READY_MS * 1000000;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t got;

	while (n + 1 < len) {
		int left = (int)((deadline - hx_now_ns()) / 1000000), r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pf, 1, left);
		if (r < 0 && errno == EINTR)	/* a stop: the run still starts, then stops */
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		got = read(fd, line + n, len - 1 - n);
		if (got <= 0)
			return -EPIPE;
		n += (size_t)got;
		line[n] = '\0';
		if (strstr(line, "listening on") != NULL)
			return 0;
	}
	return -EPROTO;
}

static void stop_tcpdump(struct hx_capture *c, enum hx_side side)
{
	int64_t deadline = hx_now_ns() + (int64_t)TCPDUMP_STOP_MS * 1000000;
	pid_t pid = c->tcpdump[side];
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);	/* tcpdump writes what it has and exits */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (hx_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	close(c->tcpdump_err[side]);
	c->tcpdump[side] = 0;
}

static int start_tcpdump(struct hx_capture *c, enum hx_side side, const char *netns)
{
	pid_t parent = getpid();
	char line[512] = "";
	int err[2], r;

	if (pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	c->tcpdump[side] = fork();
	if (c->tcpdump[side] == 0)
		exec_tcpdump(netns, c->path[side], err[1], parent);
	close(err[1]);
	if (c->tcpdump[side] < 0) {
		c->tcpdump[side] = 0;
		close(err[0]);
		return -errno;
	}
	c->tcpdump_err[side] = err[0];
	r = tcpdump_ready(err[0], line, sizeof(line));
	if (r < 0) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(stderr, "tcplab run: the %s side's tcpdump did not start%s%s\n",
			side_names[side], line[0] ? ": " : "", line);
		stop_tcpdump(c, side);
	}
	return r;
}

/* ---- the plan ---- */

/* What the side runs in: the namespace path a sockets side's tcpdump enters (NULL: the run's
 * own, already entered), or why it is not captured. */
static const char *side_netns(const struct hx_topology *t, const struct hx_topo *ns,
			      enum hx_side side, const char **why)
{
	if (t->namespaces == HX_NS_NONE || ns->n == 0) {
		*why = "a sockets side in the host's own network namespace (no namespace of the "
		       "run's): nothing may capture outside the run's namespaces";
		return NULL;
	}
	return side == HX_SIDE_SUT && ns->sut_ns_path[0] != '\0' ? ns->sut_ns_path : NULL;
}

static void side_opts(struct hx_capture *c, enum hx_side side, bool dpdk,
		      const char *const *user, unsigned int n_user)	/* that side's */
{
	unsigned int i;

	for (i = 0; i < n_user && i < HX_CLI_MAX_OPTS; i++)
		c->opts[side][i] = user[i];
	if (dpdk && c->path[side][0] != '\0') {
		snprintf(c->opt[side], sizeof(c->opt[side]), "pcap=%s", c->path[side]);
		c->opts[side][i++] = c->opt[side];
	}
	c->n_opts[side] = i;
}

static int plan_side(struct hx_capture *c, enum hx_side side, enum tl_attach kind,
		     const struct hx_topology *t, const struct hx_topo *ns, const char *dir,
		     const char *name)
{
	const char *netns = NULL;

	c->path[side][0] = '\0';
	if (kind == TL_ATTACH_SOCKETS) {
		netns = side_netns(t, ns, side, &c->why_not[side]);
		if (c->why_not[side] != NULL)
			return 0;
	}
	if ((size_t)snprintf(c->path[side], sizeof(c->path[side]), "%s/%s-%s.pcap", dir, name,
			     side_names[side]) >= sizeof(c->path[side]) - 8) {
		fprintf(stderr, "tcplab run: --pcap: the path %s/%s-%s.pcap is too long\n", dir,
			name, side_names[side]);
		return -ENAMETOOLONG;
	}
	if (kind == TL_ATTACH_SOCKETS && start_tcpdump(c, side, netns) < 0) {
		c->why_not[side] = "tcpdump did not start (see its line on stderr)";
		c->path[side][0] = '\0';
	}
	return 0;
}

int hx_capture_plan(struct hx_capture *c, const struct hx_topology *t,
		    const enum tl_attach kinds[HX_SIDES], bool sut_remote, const struct hx_topo *ns,
		    const char *dir, const char *name, const char *const *user[HX_SIDES],
		    const unsigned int n_user[HX_SIDES])
{
	char abs_dir[PATH_MAX];
	unsigned int s;
	int r = 0;

	for (s = 0; s < HX_SIDES; s++) {
		/* planned again (a default stack fell back): the first try's files go */
		stop_tcpdump(c, (enum hx_side)s);
		if (c->path[s][0] != '\0')
			unlink(c->path[s]);
		c->path[s][0] = '\0';
		c->why_not[s] = c->mode == HX_PCAP_NEVER ? "--pcap never" : NULL;
	}
	if (sut_remote)
		c->why_not[HX_SIDE_SUT] = "the SUT runs elsewhere (--peer)";
	if (c->mode != HX_PCAP_NEVER && realpath(dir, abs_dir) == NULL) {
		fprintf(stderr, "tcplab run: --pcap: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (s = 0; s < HX_SIDES && r == 0; s++) {
		if (c->why_not[s] == NULL)
			r = plan_side(c, (enum hx_side)s, kinds[s], t, ns, abs_dir, name);
		side_opts(c, (enum hx_side)s, kinds[s] == TL_ATTACH_DPDK, user[s], n_user[s]);
	}
	return r;
}

/* ---- after the run ---- */

const char *hx_capture_json(struct hx_capture *c, bool passed)
{
	bool keep = c->mode == HX_PCAP_ALWAYS || (c->mode == HX_PCAP_ON_FAILURE && !passed);
	FILE *f = fmemopen(c->json, sizeof(c->json), "w");
	struct hx_json j;
	unsigned int s;

	if (f == NULL)
		return NULL;
	hx_json_init(&j, f, false);
	hx_json_obj_begin(&j, NULL);
	hx_json_str(&j, "mode", mode_names[c->mode]);
	for (s = 0; s < HX_SIDES; s++) {
		if (keep && c->path[s][0] != '\0')
			hx_json_str(&j, side_names[s], c->path[s]);
		else
			hx_json_null(&j, side_names[s]);
	}
	hx_json_obj_begin(&j, "not_kept");
	for (s = 0; s < HX_SIDES; s++) {
		if (c->why_not[s] != NULL)
			hx_json_str(&j, side_names[s], c->why_not[s]);
		else if (!keep)
			hx_json_str(&j, side_names[s], "the run passed (--pcap on-failure)");
	}
	hx_json_obj_end(&j);
	hx_json_obj_end(&j);
	if (fclose(f) != 0)
		return NULL;
	c->named = keep;
	return c->json;
}

void hx_capture_finish(struct hx_capture *c, bool keep)
{
	struct stat st;
	unsigned int s;

	for (s = 0; s < HX_SIDES; s++) {
		stop_tcpdump(c, (enum hx_side)s);
		if (c->path[s][0] == '\0')
			continue;
		if (stat(c->path[s], &st) < 0) {
			if (keep && c->named)
				fprintf(stderr, "tcplab run: the %s side wrote no capture %s (did "
					"it end before its stack closed?)\n", side_names[s],
					c->path[s]);
			continue;
		}
		/* a run that ended before its result (a refused setting, a side that did not
		 * start) keeps only a capture that holds a frame: more than the pcap header */
		if (!keep || (!c->named && st.st_size <= PCAP_HEADER_LEN))
			unlink(c->path[s]);
		else
			fprintf(stderr, "tcplab run: capture kept: %s\n", c->path[s]);
	}
}
