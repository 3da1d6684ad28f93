/* SPDX-License-Identifier: MIT */
/*
 * test_capture.c - capture.c, the capture ring and its pcap writer, with no DPDK: frames
 * recorded at made-up TSC values, the file written to a temporary directory and read back
 * byte by byte (global header, record headers, times from the anchor, the snap length), the
 * last N kept across both directions, TX frames taken back, and the refusals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture.h"
#include "test.h"

#define HZ 2000000000ull		/* 2 GHz: 2 cycles a ns */
#define TSC0 1000000ull
#define WALL0 1700000000123456789ll

struct file {
	unsigned char b[1 << 16];
	size_t n;
	char path[64];
};

/* A temporary file path; the file itself is capture.c's to create. */
static void temp_path(struct file *f)
{
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_capture_XXXXXX");
	fd = mkstemp(f->path);
	if (fd >= 0)
		close(fd);
}

static int slurp(struct file *f)
{
	FILE *fp = fopen(f->path, "rb");

	if (fp == NULL)
		return -errno;
	f->n = fread(f->b, 1, sizeof(f->b), fp);
	fclose(fp);
	unlink(f->path);
	return 0;
}

static uint32_t u32_at(const struct file *f, size_t off)
{
	uint32_t v;

	memcpy(&v, f->b + off, 4);
	return v;
}

static uint16_t u16_at(const struct file *f, size_t off)
{
	uint16_t v;

	memcpy(&v, f->b + off, 2);
	return v;
}

static void frame(unsigned char *buf, unsigned int len, unsigned char tag)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(tag + i);
}

/* Write @p c to @p f and read it back. */
static int write_back(struct dpk_capture *c, struct file *f)
{
	char err[256] = "";
	int r = dpk_capture_write(c, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "write: %s\n", err);
		return r;
	}
	return slurp(f);
}

/* The first byte of each record's frame, in file order, into @p tags; returns the count. */
static unsigned int record_tags(const struct file *f, unsigned char *tags, unsigned int max)
{
	size_t off = 24;
	unsigned int n = 0;

	while (off + 16 <= f->n && n < max) {
		tags[n++] = f->b[off + 16];
		off += 16 + u32_at(f, off + 8);
	}
	return n;
}

static int test_header_and_records_byte_by_byte(void)
{
	unsigned char a[60], b[300];
	struct file f;
	struct dpk_capture *c;

	temp_path(&f);
	c = dpk_capture_create(f.path, 4, HZ, TSC0, WALL0);
	EXPECT_TRUE(c != NULL);
	frame(a, sizeof(a), 1);
	frame(b, sizeof(b), 2);
	dpk_capture_rx(c, TSC0 + 10, a, sizeof(a));		/* 5 ns after the anchor */
	dpk_capture_tx(c, TSC0 + 3 * HZ + 2, b, sizeof(b));	/* 3 s and 1 ns after */
	EXPECT_EQ_INT(dpk_capture_count(c), 2);
	EXPECT_EQ_INT(write_back(c, &f), 0);
	dpk_capture_free(c);
	EXPECT_EQ_INT(f.n, 24 + 16 + 60 + 16 + 256);
	EXPECT_EQ_INT(u32_at(&f, 0), 0xa1b23c4d);	/* nanosecond magic */
	EXPECT_EQ_INT(u16_at(&f, 4), 2);
	EXPECT_EQ_INT(u16_at(&f, 6), 4);
	EXPECT_EQ_INT(u32_at(&f, 8), 0);			/* thiszone */
	EXPECT_EQ_INT(u32_at(&f, 12), 0);			/* sigfigs */
	EXPECT_EQ_INT(u32_at(&f, 16), DPK_CAPTURE_SNAP);
	EXPECT_EQ_INT(u32_at(&f, 20), 1);			/* LINKTYPE_ETHERNET */
	EXPECT_EQ_INT(u32_at(&f, 24), 1700000000);
	EXPECT_EQ_INT(u32_at(&f, 28), 123456789 + 5);
	EXPECT_EQ_INT(u32_at(&f, 32), 60);
	EXPECT_EQ_INT(u32_at(&f, 36), 60);
	EXPECT_TRUE(memcmp(f.b + 40, a, 60) == 0);
	EXPECT_EQ_INT(u32_at(&f, 100), 1700000003);
	EXPECT_EQ_INT(u32_at(&f, 104), 123456789 + 1);
	EXPECT_EQ_INT(u32_at(&f, 108), DPK_CAPTURE_SNAP);	/* cut at the snap length */
	EXPECT_EQ_INT(u32_at(&f, 112), 300);			/* the frame's whole length */
	EXPECT_TRUE(memcmp(f.b + 116, b, DPK_CAPTURE_SNAP) == 0);
	return 0;
}

/* 40 frames, alternating directions, into a ring of 16: the file holds the last 16. */
static int test_keeps_the_last_n_of_both_directions(void)
{
	unsigned char buf[64], tags[64];
	struct file f;
	struct dpk_capture *c;
	unsigned int i, n;

	temp_path(&f);
	c = dpk_capture_create(f.path, 16, HZ, TSC0, WALL0);
	EXPECT_TRUE(c != NULL);
	for (i = 0; i < 40; i++) {
		frame(buf, sizeof(buf), (unsigned char)i);
		if (i % 3 == 0)
			dpk_capture_tx(c, TSC0 + i * 100, buf, sizeof(buf));
		else
			dpk_capture_rx(c, TSC0 + i * 100, buf, sizeof(buf));
	}
	EXPECT_EQ_INT(dpk_capture_count(c), 16);
	EXPECT_EQ_INT(write_back(c, &f), 0);
	dpk_capture_free(c);
	n = record_tags(&f, tags, sizeof(tags));
	EXPECT_EQ_INT(n, 16);
	EXPECT_EQ_INT(f.n, 24 + 16 * (16 + 64));
	for (i = 0; i < n; i++)
		EXPECT_EQ_INT(tags[i], 24 + i);
	return 0;
}

/* A flush records its batch, the ring takes part of it, the rest is taken back and goes
 * out at the next flush: each frame is in the file once, where it left. A whole batch
 * taken back overwrites none of the last N (the spare slots). */
static int test_unsent_frames_are_taken_back(void)
{
	unsigned char buf[64], tags[64];
	struct file f;
	struct dpk_capture *c;
	unsigned int i, n;

	temp_path(&f);
	c = dpk_capture_create(f.path, 4, HZ, TSC0, WALL0);
	EXPECT_TRUE(c != NULL);
	for (i = 0; i < 4; i++) {
		frame(buf, sizeof(buf), (unsigned char)(10 + i));
		dpk_capture_tx(c, TSC0 + i, buf, sizeof(buf));
	}
	for (i = 0; i < 64; i++) {
		frame(buf, sizeof(buf), 99);
		dpk_capture_tx(c, TSC0 + 10, buf, sizeof(buf));
	}
	dpk_capture_tx_unsent(c, 64);
	EXPECT_EQ_INT(dpk_capture_count(c), 4);
	EXPECT_EQ_INT(write_back(c, &f), 0);
	n = record_tags(&f, tags, sizeof(tags));
	EXPECT_EQ_INT(n, 4);
	for (i = 0; i < n; i++)
		EXPECT_EQ_INT(tags[i], 10 + i);
	frame(buf, sizeof(buf), 20);
	dpk_capture_tx(c, TSC0 + 20, buf, sizeof(buf));
	EXPECT_EQ_INT(write_back(c, &f), 0);
	dpk_capture_free(c);
	n = record_tags(&f, tags, sizeof(tags));
	EXPECT_EQ_INT(n, 4);
	EXPECT_EQ_INT(tags[0], 11);
	EXPECT_EQ_INT(tags[3], 20);
	return 0;
}

/* Same time both ways: the received frame first (it is what the sent one answers). */
static int test_a_tie_puts_the_received_frame_first(void)
{
	unsigned char buf[64], tags[4];
	struct file f;
	struct dpk_capture *c;

	temp_path(&f);
	c = dpk_capture_create(f.path, 8, HZ, TSC0, WALL0);
	EXPECT_TRUE(c != NULL);
	frame(buf, sizeof(buf), 2);
	dpk_capture_tx(c, TSC0 + 7, buf, sizeof(buf));
	frame(buf, sizeof(buf), 1);
	dpk_capture_rx(c, TSC0 + 7, buf, sizeof(buf));
	EXPECT_EQ_INT(write_back(c, &f), 0);
	dpk_capture_free(c);
	EXPECT_EQ_INT(record_tags(&f, tags, 4), 2);
	EXPECT_EQ_INT(tags[0], 1);
	EXPECT_EQ_INT(tags[1], 2);
	return 0;
}

static int test_refusals(void)
{
	char err[256] = "";
	struct dpk_capture *c;

	errno = 0;
	EXPECT_TRUE(dpk_capture_create("/tmp/x.pcap", 0, HZ, TSC0, WALL0) == NULL);
	EXPECT_EQ_INT(errno, EINVAL);
	EXPECT_TRUE(dpk_capture_create("", 4, HZ, TSC0, WALL0) == NULL);
	EXPECT_TRUE(dpk_capture_create("/tmp/x.pcap", 4, 0, TSC0, WALL0) == NULL);
	c = dpk_capture_create("/nonexistent-dir/x.pcap", 4, HZ, TSC0, WALL0);
	EXPECT_TRUE(c != NULL);
	EXPECT_EQ_INT(dpk_capture_write(c, err, sizeof(err)), -ENOENT);
	EXPECT_STR_CONTAINS(err, "pcap /nonexistent-dir/x.pcap: cannot create it");
	dpk_capture_free(c);
	dpk_capture_free(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "header_and_records_byte_by_byte", test_header_and_records_byte_by_byte },
		{ "keeps_the_last_n_of_both_directions",
		  test_keeps_the_last_n_of_both_directions },
		{ "unsent_frames_are_taken_back", test_unsent_frames_are_taken_back },
		{ "a_tie_puts_the_received_frame_first", test_a_tie_puts_the_received_frame_first },
		{ "refusals", test_refusals },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
