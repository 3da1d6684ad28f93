/* SPDX-License-Identifier: MIT */
/*
 * memif_pingpong.c - the floor under every DPDK stack: raw 64-byte frames bounced between two
 * DPDK processes over the same memif pair the stacks use (this layer's eal.c and port.c, the
 * same EAL arguments), with no TCP/IP at all. `tcplab bench stack` divides a stack's echo_rr
 * p50 by the round trip measured here.
 *
 *   memif_pingpong server --run-id ID          prints {"event":"ready"} and echoes frames
 *                                              until the link drops or stdin closes
 *   memif_pingpong client --run-id ID [--duration S] [--warmup S]
 *                                              prints one JSON line: count, p50/p90/p99/max ns
 *
 * Each round trip: allocate an mbuf, write a sequence number, tx_burst one frame, spin on
 * rx_burst until it comes back. Time from the layer's clock (clock.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "../transport.h"
#include "clock.h"
#include "dpdk_port.h"

#define FRAME_LEN 64
#define MAX_SAMPLES (1u << 24)

struct pingpong {
	struct dpk_cfg cfg;
	struct dpk_port port;
	double duration_s, warmup_s;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct rte_mbuf *make_frame(struct pingpong *pp, uint64_t seq)
{
	struct rte_mbuf *m = dpk_port_tx_alloc(&pp->port, FRAME_LEN);
	struct rte_ether_hdr *eh;

	if (m == NULL)
		return NULL;
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memset(eh, 0, FRAME_LEN);
	memset(&eh->dst_addr, 0xff, sizeof(eh->dst_addr));
	eh->ether_type = rte_cpu_to_be_16(0x88b5);	/* IEEE local experimental */
	memcpy(eh + 1, &seq, sizeof(seq));
	return m;
}

static bool stdin_closed(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[64];

	return poll(&p, 1, 0) > 0 && read(STDIN_FILENO, buf, sizeof(buf)) <= 0;
}

static int serve(struct pingpong *pp)
{
	struct rte_mbuf *m[DPK_RX_BURST];
	uint64_t iter = 0;
	unsigned int n, sent;

	printf("{\"event\":\"ready\",\"pid\":%d}\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		n = dpk_port_rx(&pp->port, m, DPK_RX_BURST);
		if (n > 0) {
			sent = rte_eth_tx_burst(pp->port.port_id, 0, m, (uint16_t)n);
			while (sent < n)
				rte_pktmbuf_free(m[sent++]);
		}
		if ((++iter & 0xfffff) == 0) {
			if (stdin_closed())
				return 0;
			if (!dpk_port_link_up(&pp->port) && dpk_port_peer_lost(&pp->port))
				return 0;
		}
	}
}

/* One round trip; returns its cycles, or 0 when the frame did not come back in 1 s. */
static uint64_t round_trip(struct pingpong *pp, uint64_t seq, uint64_t hz)
{
	struct rte_mbuf *m = make_frame(pp, seq), *r[DPK_RX_BURST];
	uint64_t t0 = dpk_clock_cycles(), got = 0;
	unsigned int n, i;

	if (m == NULL || rte_eth_tx_burst(pp->port.port_id, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return 0;
	}
	while (dpk_clock_cycles() - t0 < hz) {
		n = dpk_port_rx(&pp->port, r, DPK_RX_BURST);
		for (i = 0; i < n; i++) {
			uint64_t s;

			memcpy(&s, rte_pktmbuf_mtod_offset(r[i], char *, RTE_ETHER_HDR_LEN),
			       sizeof(s));
			if (s == seq)
				got = dpk_clock_cycles() - t0;
			rte_pktmbuf_free(r[i]);
		}
		if (got)
			return got;
	}
	return 0;
}

static int client(struct pingpong *pp)
{
	uint64_t hz = dpk_clock_hz(), seq = 0, lost = 0, n = 0, t;
	uint64_t warm_end = dpk_clock_cycles() + (uint64_t)(pp->warmup_s * (double)hz);
	uint64_t end = warm_end + (uint64_t)(pp->duration_s * (double)hz);
	uint64_t *s = malloc(MAX_SAMPLES * sizeof(*s));
	double ns = 1e9 / (double)hz;

	if (s == NULL)
		return -ENOMEM;
	while ((t = dpk_clock_cycles()) < end && n < MAX_SAMPLES) {
		uint64_t rtt = round_trip(pp, ++seq, hz);

		if (rtt == 0)
			lost++;
		else if (t >= warm_end)
			s[n++] = rtt;
	}
	if (n == 0) {
		fprintf(stderr, "memif_pingpong: no frame came back (%llu lost)\n",
			(unsigned long long)lost);
		free(s);
		return -EIO;
	}
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("{\"count\":%llu,\"lost\":%llu,\"p50_ns\":%.0f,\"p90_ns\":%.0f,\"p99_ns\":%.0f,"
	       "\"min_ns\":%.0f,\"max_ns\":%.0f}\n", (unsigned long long)n,
	       (unsigned long long)lost, (double)s[n / 2] * ns, (double)s[n * 9 / 10] * ns,
	       (double)s[n * 99 / 100] * ns, (double)s[0] * ns, (double)s[n - 1] * ns);
	free(s);
	return 0;
}

static int parse(struct pingpong *pp, int argc, char **argv, struct tl_stack_params *p)
{
	int i;

	if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0))
		return -EINVAL;
	p->role = strcmp(argv[1], "server") == 0 ? TL_ROLE_SERVER : TL_ROLE_CLIENT;
	pp->duration_s = 1.0;
	pp->warmup_s = 0.2;
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--run-id") == 0)
			p->run_id = argv[i + 1];
		else if (strcmp(argv[i], "--duration") == 0)
			pp->duration_s = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--warmup") == 0)
			pp->warmup_s = atof(argv[i + 1]);
		else
			return -EINVAL;
	}
	return i == argc && p->run_id != NULL && pp->duration_s > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct tl_stack_params p = { .n_opts = 0 };
	struct pingpong pp = { .duration_s = 0 };
	char err[512];
	int r;

	if (parse(&pp, argc, argv, &p) < 0) {
		fprintf(stderr, "usage: memif_pingpong server|client --run-id ID "
			"[--duration S] [--warmup S]\n");
		return 2;
	}
	p.cpu = tl_auto_cpu(p.role);
	r = dpk_cfg_parse(&pp.cfg, &p, NULL, 0, err, sizeof(err));
	if (r == 0)
		r = dpk_eal_start(&pp.cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "memif_pingpong: %s\n", err);
		return 2;
	}
	r = dpk_port_open(&pp.port, &pp.cfg, 0, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "memif_pingpong: %s\n", err);
		return 1;
	}
	r = p.role == TL_ROLE_SERVER ? serve(&pp) : client(&pp);
	dpk_port_close(&pp.port);
	return r < 0 ? 1 : 0;
}
