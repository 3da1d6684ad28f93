/* SPDX-License-Identifier: MIT */
/*
 * topology.h - the network namespaces of `tcplab run --topology tap|veth`, made before either
 * side starts and removed on every exit path; names carry the run's pid, and a run killed
 * too hard to clean up is tidied by the next one (every tcplab-r?<pid> whose pid is gone).
 *
 *   tap   one namespace, entered by the run process itself: the SUT it forks, the engine's
 *         stack and the DPDK tap's kernel end all live in it.
 *   veth  two namespaces joined by a veth pair (tlv-c, tlv-s), the two-host simulation: the
 *         run process enters the engine's, the SUT's child enters the SUT's. A kernel side
 *         gets an address on its end (engine 10.99.2.1, SUT 10.99.2.2); an lwip side takes its
 *         end with DPDK's af_packet, so the kernel's offloads are turned off on both ends
 *         (lwIP sees every frame at most MTU long with its checksum done).
 */
#ifndef HX_TOPOLOGY_H
#define HX_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#define HX_VETH_ENGINE_ADDR "10.99.2.1"
#define HX_VETH_SUT_ADDR "10.99.2.2"

struct hx_topo {
	char ns[2][32];		/* [0] the engine's (entered), [1] the SUT's (veth only) */
	unsigned int n;
	char sut_ns_path[64];	/* what the SUT's child enters; "" when it stays */
};

/** One namespace, entered. 0, or -errno with a reason in @p err. */
int hx_topo_tap(struct hx_topo *t, char *err, size_t len);

/** Two namespaces and a veth pair; the engine's entered. @p engine_kernel/@p sut_kernel: which
 * sides are the Linux stack (they get addresses). */
int hx_topo_veth(struct hx_topo *t, bool engine_kernel, bool sut_kernel, char *err,
		 size_t len);

/** Remove what this run made. Accepts a topology never made. */
void hx_topo_remove(struct hx_topo *t);

/** Enter the namespace at @p path (a child, before exec). 0 or -errno. */
int hx_topo_enter(const char *path);

#endif /* HX_TOPOLOGY_H */
