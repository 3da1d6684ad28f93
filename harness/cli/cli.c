/* SPDX-License-Identifier: MIT */
/* cli.c - shared flag parsing and small helpers of harness.h and cli.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "tcplab_config.h"
#include "transport.h"

volatile sig_atomic_t hx_stop;

static void on_signal(int sig)
{
	hx_stop = sig;
}

void hx_signals_init(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int hx_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

void hx_cpu_list(char *buf, size_t len)
{
	cpu_set_t set;
	size_t used = 0;
	int cpu, first;

	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (cpu = 0; cpu < CPU_SETSIZE && used < len; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		for (first = cpu; cpu + 1 < CPU_SETSIZE && CPU_ISSET(cpu + 1, &set); cpu++)
			;
		used += (size_t)snprintf(buf + used, len - used, first == cpu ? "%s%d" : "%s%d-%d",
					 used ? "," : "", first, cpu);
	}
}

int hx_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *colon = strrchr(s, ':');
	char host[64];
	char *end;
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (host[0] == '\0')
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*sin);
	return 0;
}

void hx_format_addr(const struct sockaddr_storage *ss, char *host, size_t hostlen,
		    unsigned int *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET || inet_ntop(AF_INET, &sin->sin_addr, host,
						  (socklen_t)hostlen) == NULL) {
		snprintf(host, hostlen, "?");
		*port = 0;
		return;
	}
	*port = ntohs(sin->sin_port);
}

static void valid_flags(const struct option *opts, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; opts[i].name != NULL && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s--%s", i ? ", " : "",
					opts[i].name);
}

int hx_cli_getopt(int argc, char **argv, const struct option *opts, const char *shorts,
		  const char *cmd)
{
	const char *arg, *short_flag;
	char valid[512];
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shorts, opts, NULL);
	if (c != '?')
		return c;
	arg = argv[optind - 1 < argc ? optind - 1 : argc - 1];
	valid_flags(opts, valid, sizeof(valid));
	short_flag = optopt > 0 && optopt < 128 ? strchr(shorts, optopt) : NULL;
	if (optopt != 0 && (strncmp(arg, "--", 2) == 0 || (short_flag != NULL &&
							    short_flag[1] == ':')))
		fprintf(stderr, "tcplab %s: flag '%s' needs a value\n", cmd, arg);
	else
		fprintf(stderr, "tcplab %s: unknown flag '%s' (valid: %s)\n", cmd, arg, valid);
	return '?';
}

int hx_cli_add_opt(const char **list, unsigned int *n, const char *arg, const char *flag)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "tcplab: %s '%s': expected KEY=VALUE\n", flag, arg);
		return -EINVAL;
	}
	if (*n == HX_CLI_MAX_OPTS) {
		fprintf(stderr, "tcplab: more than %d %s flags\n", HX_CLI_MAX_OPTS, flag);
		return -EINVAL;
	}
	list[(*n)++] = arg;
	return 0;
}

int hx_cli_int(const char *arg, const char *flag, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "tcplab: %s '%s': expected a whole number from %d to %d\n", flag,
			arg, min, max);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

int hx_cli_check_backend(const char *name, const char *who)
{
	const struct tl_backend *b;
	char err[1024];
	int r = tl_backend_open(name, &b, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "%s: %s\n", who, err);
	return r;
}

const char *hx_cli_default_backend(enum tl_attach kind)
{
	const struct tl_ops *pref = tl_backend_find(TCPLAB_DEFAULT_STACK);
	const struct tl_backend *const *b;

	if (pref != NULL && pref->attach == kind)
		return pref->name;
	for (b = tl_backends(); *b != NULL; b++)
		if ((*b)->ops->attach == kind)
			return (*b)->ops->name;
	return NULL;
}

/* A pipe for one of the child's outputs when the caller wants it, else /dev/null. */
static int out_pipe(bool want, int fd[2])
{
	if (want)
		return pipe2(fd, O_CLOEXEC) < 0 ? -errno : 0;
	fd[0] = -1;
	fd[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return fd[1] < 0 ? -errno : 0;
}

static void close_pair(int fd[2])
{
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
}

int hx_exec(const char *const *argv, char *out, size_t out_len, char *err, size_t err_len)
{
	int fo[2] = { -1, -1 }, fe[2] = { -1, -1 }, status, r;
	size_t used = 0;
	ssize_t got;
	pid_t pid;

	r = out_pipe(out != NULL && out_len > 0, fo);
	if (r == 0)
		r = out_pipe(err != NULL && err_len > 0, fe);
	if (r == 0 && (pid = fork()) < 0)
		r = -errno;
	if (r < 0) {
		close_pair(fo);
		close_pair(fe);
		return r;
	}
	if (pid == 0) {
		dup2(fo[1], STDOUT_FILENO);
		dup2(fe[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fo[1]);
	close(fe[1]);
	while (fo[0] >= 0 && used + 1 < out_len &&
	       ((got = read(fo[0], out + used, out_len - used - 1)) > 0 ||
		(got < 0 && errno == EINTR)))
		used += got > 0 ? (size_t)got : 0;
	if (fo[0] >= 0)
		out[used] = '\0';
	if (fe[0] >= 0 && err_len > 0) {	/* it is, with a pipe: for the compiler */
		while ((got = read(fe[0], err, err_len - 1)) < 0 && errno == EINTR)
			;
		err[got > 0 ? got : 0] = '\0';
		err[strcspn(err, "\n")] = '\0';
	}
	if (fo[0] >= 0)
		close(fo[0]);
	if (fe[0] >= 0)
		close(fe[0]);
	/* a signal caught here (SIGINT for a stop) must not leave the child unreaped and its
	 * work half done: the caller sees hx_stop and stops once the step is complete */
	while ((r = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}
