/* SPDX-License-Identifier: MIT */
/*
 * test_heap.c - heap.c, lwIP's heap in tcplab's build: every size gets a block it can fill
 * with malloc's alignment, blocks in use never overlap, a freed block is the next one of its
 * class (the point of the lists; under AddressSanitizer the lists are off and only the rest
 * is checked), calloc zeroes a reused block, and sizes past the largest class or an
 * overflowing calloc are handled.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lwip/opt.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define LISTS 0
#else
#define LISTS 1
#endif

static int test_sizes_are_aligned_and_disjoint(void)
{
	static const size_t sizes[] = { 0, 1, 47, 48, 49, 100, 1000, 4080, 4081, 9000, 16368,
					16369, 65536, 1 << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	unsigned char *p[N];
	unsigned int i, j, overwritten = 0;

	for (i = 0; i < N; i++) {
		p[i] = tcplab_heap_malloc(sizes[i]);
		EXPECT_TRUE(p[i] != NULL);
		EXPECT_TRUE((uintptr_t)p[i] % alignof(max_align_t) == 0);
		memset(p[i], (int)i + 1, sizes[i]);
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < sizes[i]; j++)
			overwritten += p[i][j] != (unsigned char)(i + 1);
	EXPECT_EQ_INT(overwritten, 0);	/* bytes one block's writes changed in another */
	for (i = 0; i < N; i++)
		tcplab_heap_free(p[i]);
	tcplab_heap_free(NULL);
	return 0;
}

static int test_freed_block_is_reused_within_its_class(void)
{
	void *a = tcplab_heap_malloc(200), *b, *c;

	EXPECT_TRUE(a != NULL);
	tcplab_heap_free(a);
	b = tcplab_heap_malloc(180);	/* the same class: 256 bytes with the header */
	EXPECT_TRUE(b != NULL);
	if (LISTS)
		EXPECT_TRUE(b == a);
	c = tcplab_heap_malloc(300);	/* the next class: never the block in use */
	EXPECT_TRUE(c != NULL && c != b);
	tcplab_heap_free(b);
	tcplab_heap_free(c);
	return 0;
}

static int test_calloc_zeroes_a_reused_block(void)
{
	unsigned char *a = tcplab_heap_malloc(64), *z;
	unsigned int i;

	EXPECT_TRUE(a != NULL);
	memset(a, 0xa5, 64);
	tcplab_heap_free(a);
	z = tcplab_heap_calloc(8, 8);
	EXPECT_TRUE(z != NULL);
	for (i = 0; i < 64; i++)
		EXPECT_EQ_INT(z[i], 0);
	tcplab_heap_free(z);
	EXPECT_TRUE(tcplab_heap_calloc(SIZE_MAX / 2, 4) == NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hx_test tests[] = {
		{ "sizes_are_aligned_and_disjoint", test_sizes_are_aligned_and_disjoint },
		{ "freed_block_is_reused_within_its_class",
		  test_freed_block_is_reused_within_its_class },
		{ "calloc_zeroes_a_reused_block", test_calloc_zeroes_a_reused_block },
	};

	return hx_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
