/* SPDX-License-Identifier: MIT */
/*
 * gv_shared.h - what the gvisor plug-in's two halves share: the C glue (gvisor.c: the ops
 * table, the DPDK port, the poll loop) and netstack's Go side (netstack.go, a c-shared
 * object). Private to stack/gvisor.
 *
 * Each call from C into Go is a crossing of cgo. The glue keeps them few: a poll pass crosses
 * only when frames came in or when Go left word in this struct that it has work (frames
 * queued by one of netstack's own goroutines, a socket whose readiness changed), and it
 * answers tl_poll from the readiness Go keeps here, without crossing.
 *
 * Threading rule: the polling thread writes the TX staging slots' lengths only through Go's
 * calls (it reads them after a crossing); tx_waiting and dirty are set by any goroutine and
 * read and cleared by the polling thread, atomically; ready[] is written by Go inside a
 * crossing only, on the polling thread, and so are changed[] and its marks (the glue takes
 * them after the crossing); next_timer_ns is written by Go under its clock's lock
 * and read by the polling thread, atomically.
 */
#ifndef GV_SHARED_H
#define GV_SHARED_H

#include <stdint.h>

#define GV_MAX_SOCKETS 16384
#define GV_TX_SLOTS 64
#define GV_RX_BURST 32

struct gv_shared {
	/* TX staging: Go copies up to GV_TX_SLOTS frames a crossing into slots of slot_size
	 * bytes; the glue puts them on the port in order */
	uint8_t *tx_slots;
	uint32_t slot_size;
	uint32_t tx_n;
	uint16_t tx_len[GV_TX_SLOTS];
	/* RX: the frames of one burst, handed to Go by pointer (the glue frees them after) */
	const uint8_t *rx_data[GV_RX_BURST];
	uint16_t rx_len[GV_RX_BURST];
	uint32_t rx_n;
	/* set by any goroutine: frames wait in netstack's queue / some readiness changed */
	uint32_t tx_waiting;
	uint32_t dirty;
	/* netstack's earliest timer, CLOCK_MONOTONIC ns (INT64_MAX: none): the glue crosses
	 * when it passes, and the crossing runs it (go/loopclock.go) */
	int64_t next_timer_ns;
	/* per socket: the Linux poll bits (POLLIN, POLLOUT, POLLERR, POLLHUP) */
	uint16_t ready[GV_MAX_SOCKETS];
	/* the sockets whose ready[] Go rewrote since the glue last took them (after each
	 * crossing: the wait sets look at those only), each once: changed_mark[s] is set while
	 * s is in changed[] */
	uint32_t n_changed;
	int32_t changed[GV_MAX_SOCKETS];
	uint8_t changed_mark[GV_MAX_SOCKETS];
};

#endif /* GV_SHARED_H */
