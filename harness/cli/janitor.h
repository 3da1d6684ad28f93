/* SPDX-License-Identifier: MIT */
/*
 * janitor.h - what removes a run's namespaces, and what its stacks left (tl_ops.cleanup),
 * when its engine cannot: the engine killed by SIGKILL (or crashed), with its SUT killed too (the SUT dies
 * with its parent: sut.h), before or while they were being removed.
 *
 * `tcplab run` starts the janitor first (a forked process out of the terminal's process
 * group, deaf to SIGINT, SIGTERM and SIGHUP), joined by a pipe whose write end only the
 * engine holds. It removes the engine's namespaces left (topology.h, hx_topo_remove_run)
 * and asks each side's stack to remove what it left outside its processes (tl_ops.cleanup:
 * a DPDK stack's side killed inside rte_eal_init leaves its runtime directory,
 * stack/dpdk/eal.c), then exits: at once when the run, ending on
 * its own paths with both sides stopped, tells it to (a byte) and reaps it (a SUT killed in
 * its start up leaves such a directory, the engine alive); on end of file, once the engine
 * has died. It outlives only an engine that died.
 */
#ifndef HX_JANITOR_H
#define HX_JANITOR_H

#include <sys/types.h>

#include <tcplab/stack.h>

struct hx_janitor {
	pid_t pid;	/* <= 0: none */
	int fd;		/* the pipe's write end */
};

/**
 * Start the janitor of run @p run_id, this process's, whose sides run @p stacks (NULL
 * entries skipped; their cleanup is called in the janitor's process). 0 or -errno (then
 * there is none).
 */
int hx_janitor_start(struct hx_janitor *j, const char *run_id,
		     const struct tl_ops *const *stacks, unsigned int n_stacks);

/** Both sides have stopped and the run removed what it made: the janitor removes what they
 * could not, exits, and is reaped. Accepts none started. */
void hx_janitor_stop(struct hx_janitor *j);

#endif /* HX_JANITOR_H */
