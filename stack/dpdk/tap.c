/* SPDX-License-Identifier: MIT */
/*
 * tap.c - the kernel side of port=tap and port=af_packet. port=tap is a DPDK net_tap port
 * whose Linux netdev appears in the network namespace this process runs in; dpk_port_open
 * addresses its kernel end (tap_addr=) once the port has started, before the stack starts.
 * port=af_packet takes a kernel interface (iface=) that the run put in this namespace.
 *
 * Safety (DESIGN.md, "Backends, plug-ins and topologies"): a kernel interface is only ever
 * touched inside a network namespace that the run created: unless this process runs in a
 * named namespace (`ip netns exec NS`, a bind mount under /run/netns) that is not the
 * initial one (/proc/1/ns/net), both ports are refused before DPDK starts (settings.c). The
 * tap netdev belongs to the tap PMD's file descriptor, so it disappears with the process
 * however the process ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpdk_pvt.h"

static bool same_ns(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* A named namespace (`ip netns add`, a bind mount under /run/netns) that is this one. */
static bool in_named_ns(const struct stat *self)
{
	char path[300];
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/run/netns");

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		found = same_ns(self, path);
	}
	closedir(d);
	return found;
}

/*
 * The tap is only made in a namespace a run created: this process's network namespace must
 * be a named one (`ip netns exec NS`) and must not be the initial one (/proc/1/ns/net, where
 * it can be read: in a container it often cannot).
 */
int dpk_netns_check(const char *what, char *err, size_t len)
{
	struct stat self;

	if (stat("/proc/self/ns/net", &self) < 0) {
		snprintf(err, len, "%s: cannot tell which network namespace this is (%s)", what,
			 strerror(errno));
		return -EPERM;
	}
	if (same_ns(&self, "/proc/1/ns/net") || !in_named_ns(&self)) {
		snprintf(err, len, "%s: refusing to take a kernel interface outside a namespace the "
			 "run created: run it under `ip netns exec NS`", what);
		return -EPERM;
	}
	return 0;
}

/* "tl" + 8 hex digits of an FNV-1a hash of the run id + "-s"/"-c": 12 characters (IFNAMSIZ
 * is 16), the same for both commands of one run, different between runs. */
void dpk_tap_name(char *buf, size_t len, const char *run_id, enum tl_role role)
{
	uint32_t h = 2166136261u;
	const char *c;

	for (c = run_id; *c != '\0'; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	snprintf(buf, len, "tl%08x-%c", h, role == TL_ROLE_SERVER ? 's' : 'c');
}

static int parse_prefix(const char *spec, struct in_addr *addr, struct in_addr *mask)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(spec, '/');
	unsigned long bits = 24;
	char *end;

	if (slash == NULL || (size_t)(slash - spec) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(slash - spec), spec);
	bits = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || bits < 1 || bits > 30 ||
	    inet_pton(AF_INET, host, addr) != 1)
		return -EINVAL;
	mask->s_addr = htonl(~0u << (32 - bits));
	return 0;
}

bool dpk_tap_addr_valid(const char *spec)
{
	struct in_addr addr, mask;

	return parse_prefix(spec, &addr, &mask) == 0;
}

static int set_addr(int fd, const char *name, unsigned long req, struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	return ioctl(fd, req, &ifr) < 0 ? -errno : 0;
}

static int set_up(int fd, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* IPv6 on the netdev only adds router solicitations and MLD reports lwIP would drop. */
static void no_ipv6(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		fprintf(stderr, "dpdk: tap %s: IPv6 left on (%s)\n", name, strerror(errno));
	close(fd);
}

int dpk_tap_configure(const struct dpk_cfg *cfg, char *err, size_t len)
{
	struct in_addr addr, mask;
	int fd, r;

	if (strcmp(cfg->tap_addr, "none") == 0)
		return 0;
	if (parse_prefix(cfg->tap_addr, &addr, &mask) < 0) {
		snprintf(err, len, "stack option tap_addr: expected ADDRESS/BITS (e.g. "
			 "10.99.0.1/24) or none, got '%s'", cfg->tap_addr);
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "tap %s: socket: %s", cfg->tap_name, strerror(errno));
		return -errno;
	}
	no_ipv6(cfg->tap_name);
	r = set_addr(fd, cfg->tap_name, SIOCSIFADDR, addr);
	if (r == 0)
		r = set_addr(fd, cfg->tap_name, SIOCSIFNETMASK, mask);
	if (r == 0)
		r = set_up(fd, cfg->tap_name);
	close(fd);
	if (r < 0)
		snprintf(err, len, "tap %s: cannot set %s and bring it up (%s)", cfg->tap_name,
			 cfg->tap_addr, strerror(-r));
	return r;
}
