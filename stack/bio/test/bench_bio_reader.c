/* SPDX-License-Identifier: MIT */
/*
 * bench_bio_reader.c - how the reader's buffer size changes throughput: a sender thread
 * streams 256 MiB over TCP on 127.0.0.1 (kernel backend); the reader reads it in 4 KiB
 * application reads through buffers of 4 KiB .. 1 MiB. Prints MB/s per size, best of 3.
 * Used to pick BIO_DEFAULT_BUF_SIZE (README.md). A meson benchmark(), never a timed test.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"

#define TOTAL (256u << 20)

static void *sender(void *arg)
{
	int ls = *(int *)arg, c = accept(ls, NULL, NULL);
	static uint8_t chunk[1 << 20];
	size_t sent = 0;
	ssize_t n;

	while (c >= 0 && sent < TOTAL && (n = write(c, chunk, sizeof(chunk))) > 0)
		sent += (size_t)n;
	if (c >= 0)
		close(c);
	return NULL;
}

static double one_run(struct tl_stack *st, size_t buf_size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), s;
	static uint8_t dst[4096];
	struct bio_source *src;
	struct bio_reader *r;
	struct timespec t0, t1;
	pthread_t thr;
	size_t got = 0;
	ssize_t n;

	bind(ls, (struct sockaddr *)&a, len);
	listen(ls, 1);
	getsockname(ls, (struct sockaddr *)&a, &len);
	pthread_create(&thr, NULL, sender, &ls);
	s = tl_socket(st);
	tl_connect(st, s, (struct sockaddr *)&a, len);
	src = bio_stream_source_create(st, s);
	r = bio_reader_create(src, buf_size);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = bio_reader_read(r, dst, sizeof(dst))) > 0)
		got += (size_t)n;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thr, NULL);
	bio_reader_free(r);
	bio_source_free(src);
	tl_close(st, s);
	close(ls);
	return (double)got / 1e6 / ((double)(t1.tv_sec - t0.tv_sec) +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(void)
{
	static const size_t sizes[] = { 4096, 16384, 65536, 131072, 262144, 1048576 };
	struct tl_stack_params p = { .role = TL_ROLE_CLIENT, .run_id = "bench", .cpu = -1 };
	char tl_err[256];
	struct tl_stack *st = tl_stack_create("kernel", &p, tl_err, sizeof(tl_err));
	double best, mbs;
	unsigned int i, k;

	if (st == NULL)
		return 1;
	printf("buffer_bytes  MB/s (4 KiB reads of a 256 MiB TCP stream, best of 3)\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0, best = 0; k < 3; k++) {
			mbs = one_run(st, sizes[i]);
			best = mbs > best ? mbs : best;
		}
		printf("%12zu  %.0f\n", sizes[i], best);
	}
	tl_stack_free(st);
	return 0;
}
