/* SPDX-License-Identifier: MIT */
/*
 * topology.h - the network namespace of a `tcplab run --topology tap`: made before either
 * side starts and entered by the run process itself, so the SUT it forks, the engine's stack
 * and the DPDK tap's kernel end all live in it; removed on every exit path (a tap dies with
 * the process that owns it, the namespace with its name). Runs killed too hard to clean up
 * leave a name behind: the next tap run removes every tcplab-rt<pid> whose pid is gone.
 */
#ifndef HX_TOPOLOGY_H
#define HX_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

struct hx_netns {
	char name[32];
	bool created;
};

/** Create tcplab-rt<pid>, enter it, bring lo up. 0, or -errno with a reason in @p err. */
int hx_netns_enter_new(struct hx_netns *ns, char *err, size_t len);

/** Remove the namespace if this run made it. Accepts one never created. */
void hx_netns_remove(struct hx_netns *ns);

#endif /* HX_TOPOLOGY_H */
