/* SPDX-License-Identifier: MIT */
/*
 * capture.h - the capture ring of a DPDK port (dpk_capture_*): the last N frames a port
 * received and sent, each with its time and length, kept in memory allocated once and
 * written as a classic pcap file when the port closes (settings pcap=PATH, pcap_frames=N).
 *
 * Where it sits in the flow (port.c): dpk_port_open creates it, dpk_port_rx records each
 * received burst, dpk_port_tx_flush records the batch before the burst and takes back what
 * the ring did not take (it stays queued and is recorded again at the next flush), and
 * dpk_port_close writes the file and frees it. Nothing here calls DPDK: times come in as TSC
 * cycles with the rate and the anchor given at create, so the unit test needs no EAL.
 *
 * Threading rule: two rings, one a direction, each with one writer at a time: the RX ring
 * is written by the polling thread (dpk_port_rx), the TX ring under the stack's lock that
 * guards dpk_port_tx_* (dpdk_port.h). Writing the file is the closing thread's, after both
 * have stopped.
 */
#ifndef DPK_CAPTURE_H
#define DPK_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Bytes kept of each frame: Ethernet, IP and TCP headers with options, and the payload's
 *  start. The record keeps the frame's whole length (pcap's orig_len). */
#define DPK_CAPTURE_SNAP 256
/** Default of pcap_frames=. */
#define DPK_CAPTURE_FRAMES 4096

struct dpk_capture;

/**
 * A capture of the last @p frames frames to be written to @p path, with times from a TSC
 * running at @p hz cycles/s that read @p tsc0 when the wall clock (CLOCK_REALTIME) read
 * @p wall0_ns. All memory is allocated here. NULL and errno (EINVAL: frames or hz 0, or an
 * empty path; ENOMEM).
 */
struct dpk_capture *dpk_capture_create(const char *path, unsigned int frames, uint64_t hz,
				       uint64_t tsc0, int64_t wall0_ns);
/** Free @p c (NULL accepted); writes nothing. */
void dpk_capture_free(struct dpk_capture *c);
/** A received frame of @p len bytes at TSC @p tsc (the first DPK_CAPTURE_SNAP kept). */
void dpk_capture_rx(struct dpk_capture *c, uint64_t tsc, const void *frame, unsigned int len);
/** A frame about to be sent, likewise. */
void dpk_capture_tx(struct dpk_capture *c, uint64_t tsc, const void *frame, unsigned int len);
/** Take back the last @p n frames of dpk_capture_tx: the ring did not take them. */
void dpk_capture_tx_unsent(struct dpk_capture *c, unsigned int n);
/** How many frames the file would hold now: at most the ring's N. */
unsigned int dpk_capture_count(const struct dpk_capture *c);
/**
 * Write the last N frames of both directions, in time order, to the path given at create:
 * a pcap file (nanosecond magic 0xa1b23c4d, version 2.4, LINKTYPE_ETHERNET, snap length
 * DPK_CAPTURE_SNAP, this host's byte order). 0, or a negative errno and why in @p err.
 */
int dpk_capture_write(const struct dpk_capture *c, char *err, size_t len);
/** One line on @p f: path, N, frames recorded each way. */
void dpk_capture_dump(const struct dpk_capture *c, FILE *f);

#endif /* DPK_CAPTURE_H */
