/* SPDX-License-Identifier: MIT */
/*
 * capture.c - the capture ring (capture.h): two rings of fixed slots, one a direction, and
 * the pcap writer that merges them at close. Recording a frame is a copy of its first
 * DPK_CAPTURE_SNAP bytes into the next slot, overwriting the oldest: no allocation, memory
 * bounded by N x (DPK_CAPTURE_SNAP + 16) bytes a direction.
 *
 * The TX ring has a batch more slots than N: a flush records its whole batch before the
 * burst and takes back what the ring did not take, and those spare slots keep the tentative
 * records from overwriting any of the last N sent.
 *
 * The file format is libpcap's classic one (global header, then a 16-byte header per
 * record), written in this host's byte order with the nanosecond magic, so readers (tcpdump,
 * scapy, wireshark) take the times as ns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dpdk_port.h"

#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define LINKTYPE_ETHERNET 1
#define NS_PER_S 1000000000u

enum { DIR_RX, DIR_TX, DIR__COUNT };

struct rec {
	uint64_t tsc;
	uint32_t len;		/* the frame's length */
	uint32_t caplen;	/* bytes kept: at most DPK_CAPTURE_SNAP */
};

struct ring {
	uint64_t head;		/* records ever made (less those taken back); slot head % slots */
	uint32_t slots;
	struct rec *rec;
	uint8_t *data;		/* slots x DPK_CAPTURE_SNAP */
};

struct dpk_capture {
	struct ring ring[DIR__COUNT];
	unsigned int keep;	/* N: what the file holds at most */
	uint64_t hz, tsc0;
	int64_t wall0_ns;
	char path[];
};

/* The pcap global header and record header (libpcap's file format, classic). */
struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, network;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_frac, caplen, len;
};

static int ring_init(struct ring *r, uint32_t slots)
{
	r->slots = slots;
	r->rec = calloc(slots, sizeof(r->rec[0]));
	r->data = malloc((size_t)slots * DPK_CAPTURE_SNAP);
	return r->rec != NULL && r->data != NULL ? 0 : -ENOMEM;
}

struct dpk_capture *dpk_capture_create(const char *path, unsigned int frames, uint64_t hz,
				       uint64_t tsc0, int64_t wall0_ns)
{
	size_t plen = path != NULL ? strlen(path) : 0;
	struct dpk_capture *c;

	if (frames == 0 || hz == 0 || plen == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c) + plen + 1);
	if (c == NULL)
		return NULL;
	memcpy(c->path, path, plen + 1);
	c->keep = frames;
	c->hz = hz;
	c->tsc0 = tsc0;
	c->wall0_ns = wall0_ns;
	if (ring_init(&c->ring[DIR_RX], frames) < 0 ||
	    ring_init(&c->ring[DIR_TX], frames + DPK_TX_BATCH) < 0) {
		dpk_capture_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void dpk_capture_free(struct dpk_capture *c)
{
	unsigned int d;

	if (c == NULL)
		return;
	for (d = 0; d < DIR__COUNT; d++) {
		free(c->ring[d].rec);
		free(c->ring[d].data);
	}
	free(c);
}

static void record(struct ring *r, uint64_t tsc, const void *frame, unsigned int len)
{
	uint32_t slot = (uint32_t)(r->head++ % r->slots);
	uint32_t caplen = len < DPK_CAPTURE_SNAP ? len : DPK_CAPTURE_SNAP;

	r->rec[slot] = (struct rec){ .tsc = tsc, .len = len, .caplen = caplen };
	memcpy(r->data + (size_t)slot * DPK_CAPTURE_SNAP, frame, caplen);
}

void dpk_capture_rx(struct dpk_capture *c, uint64_t tsc, const void *frame, unsigned int len)
{
	record(&c->ring[DIR_RX], tsc, frame, len);
}

void dpk_capture_tx(struct dpk_capture *c, uint64_t tsc, const void *frame, unsigned int len)
{
	record(&c->ring[DIR_TX], tsc, frame, len);
}

void dpk_capture_tx_unsent(struct dpk_capture *c, unsigned int n)
{
	struct ring *r = &c->ring[DIR_TX];

	r->head -= n < r->head ? n : r->head;
}

/* The first record of @p r that the file may hold: the last keep. */
static uint64_t ring_first(const struct ring *r, unsigned int keep)
{
	return r->head > keep ? r->head - keep : 0;
}

unsigned int dpk_capture_count(const struct dpk_capture *c)
{
	uint64_t n = 0;
	unsigned int d;

	for (d = 0; d < DIR__COUNT; d++)
		n += c->ring[d].head - ring_first(&c->ring[d], c->keep);
	return (unsigned int)(n < c->keep ? n : c->keep);
}

/* TSC @p tsc as wall-clock ns: the anchor taken at open plus the cycles since, in ns. */
static int64_t wall_ns(const struct dpk_capture *c, uint64_t tsc)
{
	uint64_t d = tsc >= c->tsc0 ? tsc - c->tsc0 : c->tsc0 - tsc;
	int64_t ns = (int64_t)(d / c->hz * NS_PER_S + d % c->hz * NS_PER_S / c->hz);

	return tsc >= c->tsc0 ? c->wall0_ns + ns : c->wall0_ns - ns;
}

static int put_record(const struct dpk_capture *c, const struct ring *r, uint64_t i, FILE *f)
{
	uint32_t slot = (uint32_t)(i % r->slots);
	const struct rec *rec = &r->rec[slot];
	int64_t ns = wall_ns(c, rec->tsc);
	struct pcap_rec_hdr h = {
		.ts_sec = (uint32_t)(ns / NS_PER_S), .ts_frac = (uint32_t)(ns % NS_PER_S),
		.caplen = rec->caplen, .len = rec->len,
	};

	if (fwrite(&h, sizeof(h), 1, f) != 1 ||
	    fwrite(r->data + (size_t)slot * DPK_CAPTURE_SNAP, 1, rec->caplen, f) != rec->caplen)
		return -EIO;
	return 0;
}

/*
 * Both rings merged by time (a tie goes to RX: a frame is received, then answered), less
 * the oldest beyond N.
 */
static int put_records(const struct dpk_capture *c, FILE *f)
{
	const struct ring *rx = &c->ring[DIR_RX], *tx = &c->ring[DIR_TX];
	uint64_t i = ring_first(rx, c->keep), j = ring_first(tx, c->keep);
	uint64_t total = rx->head - i + tx->head - j;
	uint64_t skip = total > c->keep ? total - c->keep : 0, k;
	bool from_rx;
	int r = 0;

	for (k = 0; k < total && r == 0; k++) {
		from_rx = j == tx->head ||
			  (i < rx->head && rx->rec[i % rx->slots].tsc <= tx->rec[j % tx->slots].tsc);
		if (k >= skip)
			r = put_record(c, from_rx ? rx : tx, from_rx ? i : j, f);
		if (from_rx)
			i++;
		else
			j++;
	}
	return r;
}

int dpk_capture_write(const struct dpk_capture *c, char *err, size_t len)
{
	struct pcap_file_hdr h = {
		.magic = PCAP_MAGIC_NS, .version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR, .snaplen = DPK_CAPTURE_SNAP,
		.network = LINKTYPE_ETHERNET,
	};
	FILE *f = fopen(c->path, "wb");
	int r;

	if (f == NULL) {
		r = -errno;
		snprintf(err, len, "pcap %s: cannot create it (%s)", c->path, strerror(-r));
		return r;
	}
	r = fwrite(&h, sizeof(h), 1, f) == 1 ? put_records(c, f) : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		snprintf(err, len, "pcap %s: writing it failed (%s)", c->path, strerror(-r));
	return r;
}

void dpk_capture_dump(const struct dpk_capture *c, FILE *f)
{
	fprintf(f, "capture %s: last %u frames, recorded rx %llu tx %llu, file would hold %u\n",
		c->path, c->keep, (unsigned long long)c->ring[DIR_RX].head,
		(unsigned long long)c->ring[DIR_TX].head, dpk_capture_count(c));
}
