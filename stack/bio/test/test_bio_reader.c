/* SPDX-License-Identifier: MIT */
/*
 * test_bio_reader.c - unit tests of the buffered reader over the memory, file, stream and
 * fault-injecting sources: the copy and request counts behind the seek-in-buffer and
 * large-read-bypass rules, short reads, EOF, errors surfacing once, and a seeded random
 * sequence of operations checked against an in-memory model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bio.h"
#include "bio_test_util.h"
#include "test.h"

#define OBJ (1u << 20)
#define CAP (64u * 1024u)

struct fixture {
	uint8_t *obj;
	struct bio_source *src;
	struct bio_reader *r;
};

static int setup(struct fixture *fx, size_t cap)
{
	fx->obj = tu_pattern(OBJ, 7);
	fx->src = bio_mem_source_create(fx->obj, OBJ);
	fx->r = fx->src ? bio_reader_create(fx->src, cap) : NULL;
	return fx->r ? 0 : -1;
}

static void teardown(struct fixture *fx)
{
	bio_reader_free(fx->r);
	bio_source_free(fx->src);
	free(fx->obj);
}

static int test_small_reads_copy_once(void)
{
	struct fixture fx;
	uint8_t *dst = malloc(OBJ);
	size_t got = 0;
	ssize_t n;
	int rc = 1;

	if (dst == NULL || setup(&fx, CAP) < 0)
		return 1;
	while ((n = bio_reader_read(fx.r, dst + got, 1000)) > 0)
		got += (size_t)n;
	EXPECT_EQ_INT(n, 0);
	EXPECT_EQ_INT(got, OBJ);
	EXPECT_BYTES(dst, fx.obj, OBJ);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 1);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, OBJ);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->source_bytes, OBJ);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bypass_reads, 0);
	rc = 0;
	teardown(&fx);
	free(dst);
	return rc;
}

static int test_drop_rereads(void)
{
	struct fixture fx;
	uint8_t dst[4096];

	if (setup(&fx, CAP) < 0)
		return 1;
	EXPECT_EQ_INT(bio_reader_read_exact(fx.r, dst, sizeof(dst)), 0);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 0, SEEK_SET), 0);	/* inside: no request */
	EXPECT_EQ_INT(bio_reader_read_exact(fx.r, dst, sizeof(dst)), 0);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 1);
	bio_reader_drop(fx.r);
	EXPECT_EQ_INT(bio_reader_tell(fx.r), sizeof(dst));
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 0, SEEK_SET), 0);	/* dropped: one more request */
	EXPECT_EQ_INT(bio_reader_read_exact(fx.r, dst, sizeof(dst)), 0);
	EXPECT_BYTES(dst, fx.obj, sizeof(dst));
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 2);
	teardown(&fx);
	return 0;
}

static int test_large_read_bypasses(void)
{
	struct fixture fx;
	uint8_t *dst = malloc(OBJ);
	size_t got = 0;
	ssize_t n;

	if (dst == NULL || setup(&fx, CAP) < 0)
		return 1;
	while ((n = bio_reader_read(fx.r, dst + got, CAP)) > 0)
		got += (size_t)n;
	EXPECT_EQ_INT(got, OBJ);
	EXPECT_BYTES(dst, fx.obj, OBJ);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bypass_reads, OBJ / CAP);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, 0);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 1);
	teardown(&fx);
	free(dst);
	return 0;
}

static int test_short_read_returns_buffered(void)
{
	struct fixture fx;
	uint8_t *dst = malloc(OBJ);

	if (dst == NULL || setup(&fx, CAP) < 0)
		return 1;
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 10), 10);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst + 10, OBJ), CAP - 10);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, CAP);
	/* The buffer is out: the next big read goes straight to the caller. */
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst + CAP, OBJ - CAP), OBJ - CAP);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bypass_reads, 1);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, CAP);
	EXPECT_BYTES(dst, fx.obj, OBJ);
	teardown(&fx);
	free(dst);
	return 0;
}

static int test_seek_in_buffer_no_request(void)
{
	struct fixture fx;
	uint8_t dst[4096];

	if (setup(&fx, CAP) < 0)
		return 1;
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 100), 100);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 50000, SEEK_SET), 50000);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 4096), 4096);
	EXPECT_BYTES(dst, fx.obj + 50000, 4096);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, -40000, SEEK_CUR), 14096);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 4096), 4096);
	EXPECT_BYTES(dst, fx.obj + 14096, 4096);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 0, SEEK_SET), 0);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 10), 10);
	EXPECT_BYTES(dst, fx.obj, 10);
	/* The end of the buffer counts as inside: nothing is dropped. */
	EXPECT_EQ_INT(bio_reader_seek(fx.r, CAP, SEEK_SET), CAP);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 1);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->fills, 1);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->seeks_in_buffer, 4);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->seeks_dropped, 0);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->source_bytes, CAP);
	teardown(&fx);
	return 0;
}

static int test_seek_outside_one_request(void)
{
	struct fixture fx;
	uint8_t dst[4096];
	uint64_t s = 99, off, i;

	if (setup(&fx, CAP) < 0)
		return 1;
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 100), 100);
	for (i = 0; i < 50; i++) {
		off = CAP + tu_rand(&s) % (OBJ - CAP - 4096);
		EXPECT_EQ_INT(bio_reader_seek(fx.r, (int64_t)off, SEEK_SET), off);
		EXPECT_EQ_INT(bio_reader_read_exact(fx.r, dst, 4096), 0);
		EXPECT_BYTES(dst, fx.obj + off, 4096);
		EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 2 + i);
		/* the request after a seek moves what the read asked for, not a buffer */
		EXPECT_EQ_INT(bio_reader_stats(fx.r)->source_bytes, CAP + 4096 * (i + 1));
		/* the next miss must not land in this buffer */
		EXPECT_EQ_INT(bio_reader_seek(fx.r, 0, SEEK_SET), 0);
		EXPECT_EQ_INT(bio_reader_stats(fx.r)->seeks_dropped, 2 * i + 2);
	}
	teardown(&fx);
	return 0;
}

static int test_seek_then_stream(void)
{
	struct fixture fx;
	uint8_t *out, dst[100];
	size_t len;

	if (setup(&fx, CAP) < 0)
		return 1;

	EXPECT_EQ_INT(bio_reader_seek(fx.r, 300000, SEEK_SET), 300000);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 100), 100);
	EXPECT_BYTES(dst, fx.obj + 300000, 100);
	EXPECT_EQ_INT(bio_reader_read_to_end(fx.r, &out, &len), 0);
	EXPECT_EQ_INT(len, OBJ - 300100);
	EXPECT_BYTES(out, fx.obj + 300100, len);
	/* one bounded request for the first read, one to the end for the rest */
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->requests, 2);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, 100);
	free(out);
	teardown(&fx);
	return 0;
}

static int test_seek_end_and_eof(void)
{
	struct fixture fx;
	uint8_t dst[64];

	if (setup(&fx, CAP) < 0)
		return 1;
	EXPECT_EQ_INT(bio_reader_seek(fx.r, -10, SEEK_END), OBJ - 10);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 64), 10);
	EXPECT_BYTES(dst, fx.obj + OBJ - 10, 10);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 64), 0);
	EXPECT_EQ_INT(bio_reader_tell(fx.r), OBJ);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, -1, SEEK_SET), -EINVAL);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 0, 42), -EINVAL);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, 20, SEEK_END), OBJ + 20);
	EXPECT_EQ_INT(bio_reader_read(fx.r, dst, 64), 0);
	EXPECT_EQ_INT(bio_reader_seek(fx.r, -4, SEEK_END), OBJ - 4);
	EXPECT_EQ_INT(bio_reader_read_exact(fx.r, dst, 8), -ENODATA);
	teardown(&fx);
	return 0;
}

static int test_fill_consume(void)
{
	struct fixture fx;
	const uint8_t *d;
	uint64_t pos = 0;
	ssize_t n;

	if (setup(&fx, CAP) < 0)
		return 1;
	while ((n = bio_reader_fill(fx.r, &d)) > 0) {
		EXPECT_BYTES(d, fx.obj + pos, (size_t)n);
		bio_reader_consume(fx.r, (size_t)n / 2 + 1);
		pos += (size_t)n / 2 + 1;
		EXPECT_EQ_INT(bio_reader_tell(fx.r), pos);
	}
	EXPECT_EQ_INT(n, 0);
	EXPECT_EQ_INT(pos, OBJ);
	EXPECT_EQ_INT(bio_reader_stats(fx.r)->bytes_copied, 0);
	teardown(&fx);
	return 0;
}

static int test_file_source(void)
{
	char path[] = "/tmp/bio_test_XXXXXX";
	uint8_t *obj = tu_pattern(OBJ, 3), *out;
	struct bio_source *src;
	struct bio_reader *r;
	uint8_t dst[5000];
	size_t len;
	int fd = mkstemp(path);

	EXPECT_TRUE(fd >= 0 && obj != NULL);
	EXPECT_EQ_INT(write(fd, obj, OBJ), OBJ);
	close(fd);
	src = bio_file_source_create(path);
	unlink(path);
	EXPECT_TRUE(src != NULL);
	r = bio_reader_create(src, 4096);
	EXPECT_TRUE(r != NULL);
	EXPECT_EQ_INT(bio_reader_seek(r, 12345, SEEK_SET), 12345);
	EXPECT_EQ_INT(bio_reader_read_exact(r, dst, 5000), 0);
	EXPECT_BYTES(dst, obj + 12345, 5000);
	EXPECT_EQ_INT(bio_reader_seek(r, -100, SEEK_END), OBJ - 100);
	EXPECT_EQ_INT(bio_reader_read_to_end(r, &out, &len), 0);
	EXPECT_EQ_INT(len, 100);
	EXPECT_BYTES(out, obj + OBJ - 100, 100);
	free(out);
	bio_reader_free(r);
	bio_source_free(src);
	free(obj);
	return 0;
}

static int test_stream_source(void)
{
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = "bio", .cpu = -1 };
	char tl_err[256];
	struct tl_stack *st = tl_stack_create("kernel", &p, tl_err, sizeof(tl_err));
	uint8_t *obj = tu_pattern(100000, 5), dst[100000];
	struct bio_source *src;
	struct bio_reader *r;
	int sv[2];

	EXPECT_TRUE(st != NULL && obj != NULL);
	EXPECT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT_EQ_INT(write(sv[1], obj, 100000), 100000);
	close(sv[1]);
	src = bio_stream_source_create(st, sv[0]);
	r = bio_reader_create(src, 8192);
	EXPECT_TRUE(r != NULL);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 1000), 1000);
	EXPECT_EQ_INT(bio_reader_seek(r, 10, SEEK_SET), 10);
	EXPECT_EQ_INT(bio_reader_read_exact(r, dst, 100), 0);
	EXPECT_BYTES(dst, obj + 10, 100);
	EXPECT_EQ_INT(bio_reader_seek(r, 0, SEEK_END), -ESPIPE);
	EXPECT_EQ_INT(bio_reader_seek(r, 8192, SEEK_SET), 8192);
	EXPECT_EQ_INT(bio_reader_read_exact(r, dst, 100000 - 8192), 0);
	EXPECT_BYTES(dst, obj + 8192, 100000 - 8192);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 10), 0);
	EXPECT_EQ_INT(bio_reader_seek(r, 5, SEEK_SET), 5);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 10), -ESPIPE);
	bio_reader_free(r);
	bio_source_free(src);
	close(sv[0]);
	tl_stack_free(st);
	free(obj);
	return 0;
}

static int test_fault_short_reads(void)
{
	uint8_t *obj = tu_pattern(OBJ, 11), *out;
	struct bio_fault f = { .mode = BIO_FAULT_NONE, .max_io = 777, .seed = 1 };
	struct bio_source *src = bio_fault_source_create(bio_mem_source_create(obj, OBJ), &f);
	struct bio_reader *r = bio_reader_create(src, 4096);
	size_t len;

	EXPECT_TRUE(r != NULL);
	EXPECT_EQ_INT(bio_reader_read_to_end(r, &out, &len), 0);
	EXPECT_EQ_INT(len, OBJ);
	EXPECT_BYTES(out, obj, OBJ);
	EXPECT_TRUE(bio_reader_stats(r)->source_reads > OBJ / 777);
	free(out);
	bio_reader_free(r);
	bio_source_free(src);
	free(obj);
	return 0;
}

static int test_fault_once_surfaces_once(void)
{
	uint8_t *obj = tu_pattern(OBJ, 13), *dst = malloc(OBJ);
	struct bio_fault f = { .mode = BIO_FAULT_ONCE, .err = EIO, .after_bytes = 100000 };
	struct bio_source *src = bio_fault_source_create(bio_mem_source_create(obj, OBJ), &f);
	struct bio_reader *r = bio_reader_create(src, 4096);
	size_t got = 0, errors = 0;
	ssize_t n;

	EXPECT_TRUE(r != NULL && dst != NULL);
	while ((n = bio_reader_read(r, dst + got, 3000)) != 0) {
		if (n < 0) {
			EXPECT_EQ_INT(n, -EIO);
			errors++;
			continue;
		}
		got += (size_t)n;
	}
	EXPECT_EQ_INT(errors, 1);
	EXPECT_EQ_INT(bio_fault_injected_source(src), 1);
	EXPECT_EQ_INT(got, OBJ);
	EXPECT_BYTES(dst, obj, OBJ);
	bio_reader_free(r);
	bio_source_free(src);
	free(obj);
	free(dst);
	return 0;
}

static int test_fault_always(void)
{
	uint8_t obj[100] = { 1 }, dst[10];
	struct bio_fault f = { .mode = BIO_FAULT_ALWAYS, .err = ECONNREFUSED };
	struct bio_source *src = bio_fault_source_create(bio_mem_source_create(obj, 100), &f);
	struct bio_reader *r = bio_reader_create(src, 4096);

	EXPECT_TRUE(r != NULL);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 10), -ECONNREFUSED);
	EXPECT_EQ_INT(bio_reader_read(r, dst, 10), -ECONNREFUSED);
	EXPECT_EQ_INT(bio_reader_tell(r), 0);
	EXPECT_EQ_INT(bio_fault_injected_source(src), 2);
	bio_reader_free(r);
	bio_source_free(src);
	return 0;
}

/* One random operation against the model (the object itself and a position). */
static int random_op(struct bio_reader *r, const uint8_t *obj, size_t size, uint64_t *pos,
		     uint64_t *s, uint8_t *dst)
{
	uint64_t req0 = bio_reader_stats(r)->requests, in0 = bio_reader_stats(r)->seeks_in_buffer;
	size_t len = (size_t)(tu_rand(s) % 3 == 0 ? tu_rand(s) % 20000 : tu_rand(s) % 300);
	uint64_t want = *pos < size ? size - *pos : 0;
	const uint8_t *d;
	int64_t off;
	ssize_t n;

	switch (tu_rand(s) % 5) {
	case 0:
		n = bio_reader_read(r, dst, len);
		EXPECT_TRUE(n >= 0 && (size_t)n <= len && (uint64_t)n <= want);
		EXPECT_TRUE(n > 0 || len == 0 || want == 0);
		EXPECT_BYTES(dst, obj + *pos, (size_t)n);
		*pos += (uint64_t)n;
		break;
	case 1:
		EXPECT_EQ_INT(bio_reader_read_exact(r, dst, len), len <= want ? 0 : -ENODATA);
		if (len <= want)
			EXPECT_BYTES(dst, obj + *pos, len);
		*pos += len <= want ? len : want;
		break;
	case 2:
		n = bio_reader_fill(r, &d);
		EXPECT_TRUE(n >= 0 && (uint64_t)n <= want && (n > 0 || want == 0));
		EXPECT_BYTES(d, obj + *pos, (size_t)n);
		bio_reader_consume(r, len);
		*pos += len < (size_t)n ? len : (size_t)n;
		break;
	default:
		off = (int64_t)(tu_rand(s) % 4 ? tu_rand(s) % 2000 : tu_rand(s) % size) - 1000;
		if ((int64_t)*pos + off < 0)
			off = -(int64_t)*pos;
		EXPECT_EQ_INT(bio_reader_seek(r, off, SEEK_CUR), (int64_t)*pos + off);
		*pos += (uint64_t)off;
		if (bio_reader_stats(r)->seeks_in_buffer > in0)
			EXPECT_EQ_INT(bio_reader_stats(r)->requests, req0);
		return 0;
	}
	EXPECT_EQ_INT(bio_reader_tell(r), *pos);
	return 0;
}

static int test_random_against_model(void)
{
	uint64_t seed, s, pos;
	size_t size = 300000, cap;
	uint8_t *obj = tu_pattern(size, 17), *dst = malloc(20000);
	struct bio_fault f = { .mode = BIO_FAULT_NONE, .max_io = 5000 };
	struct bio_source *src;
	struct bio_reader *r;
	int i, rc;

	for (seed = 1; seed <= 20; seed++) {
		s = seed;
		f.seed = seed;
		cap = 512 + (size_t)(tu_rand(&s) % 16384);
		src = bio_fault_source_create(bio_mem_source_create(obj, size), &f);
		r = bio_reader_create(src, cap);
		pos = 0;
		for (i = 0, rc = 0; i < 2000 && rc == 0; i++)
			rc = random_op(r, obj, size, &pos, &s, dst);
		if (rc != 0) {
			fprintf(stderr, "seed %llu, op %d, cap %zu: ", (unsigned long long)seed, i,
				cap);
			bio_reader_dump(r, stderr);
		}
		bio_reader_free(r);
		bio_source_free(src);
		if (rc != 0)
			return rc;
	}
	free(obj);
	free(dst);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "small_reads_copy_once", test_small_reads_copy_once },
		{ "large_read_bypasses", test_large_read_bypasses },
		{ "drop_rereads", test_drop_rereads },
		{ "short_read_returns_buffered", test_short_read_returns_buffered },
		{ "seek_in_buffer_no_request", test_seek_in_buffer_no_request },
		{ "seek_outside_one_request", test_seek_outside_one_request },
		{ "seek_then_stream", test_seek_then_stream },
		{ "seek_end_and_eof", test_seek_end_and_eof },
		{ "fill_consume", test_fill_consume },
		{ "file_source", test_file_source },
		{ "stream_source", test_stream_source },
		{ "fault_short_reads", test_fault_short_reads },
		{ "fault_once_surfaces_once", test_fault_once_surfaces_once },
		{ "fault_always", test_fault_always },
		{ "random_against_model", test_random_against_model },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
