/* SPDX-License-Identifier: MIT */
/*
 * heap.c - lwIP's heap for tcplab's build: the C library's malloc behind a per-size free
 * list. lwipopts.h points mem_clib_malloc, mem_clib_free and mem_clib_calloc here, so every
 * mem_malloc and, with MEMP_MEM_MALLOC, every memp_malloc (pcbs, segments, netconns) comes
 * from this file.
 *
 * Why: a 64-byte request/response makes each side allocate and free a PBUF_RAM pbuf and a
 * tcp_seg per send. With glibc that is two malloc/free pairs per send, about 4 % of the
 * echo_rr round trip on this VM (perf: malloc, _int_malloc and _int_free); a pop and a push
 * on a list cost a fraction of that. The caps stay as they are: nothing is allocated up
 * front, a block is only reused once lwIP has freed one of its class, and the lists hold
 * at most HEAP_CACHE_BYTES per class (the rest goes back to malloc).
 *
 * Threading: lwIP runs in one thread only in this build (arch/sys_arch.h; the port aborts
 * on a second), so the lists take no lock.
 *
 * Under AddressSanitizer the lists are left out and each call is malloc's own, so a
 * use-after-free or an overflow of an lwIP block is still reported where it happens.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_LISTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_LISTS 0
#endif
#endif
#ifndef HEAP_LISTS
#define HEAP_LISTS 1
#endif

#define HEAP_MIN_SHIFT 6			/* the smallest class: 64 bytes with the header */
#define HEAP_CLASSES 9				/* 64 B .. 16 KiB */
#define HEAP_CACHE_BYTES (8u << 20)		/* freed blocks kept per class */

/* In front of every block: its class (HEAP_CLASSES: a plain malloc), padded so the block
 * keeps malloc's alignment. */
union heap_head {
	unsigned int cls;
	struct heap_block *next;	/* while on a list */
	max_align_t align;
};

struct heap_block {
	union heap_head h;
};

static struct {
	struct heap_block *free[HEAP_CLASSES];
	unsigned int held[HEAP_CLASSES];	/* blocks on each list */
} heap;

/* The class whose blocks hold @size bytes and the header, or HEAP_CLASSES when none does. */
static unsigned int class_of(size_t size)
{
	size_t need = size + sizeof(union heap_head);
	unsigned int cls = 0;

	while (cls < HEAP_CLASSES && ((size_t)1 << (cls + HEAP_MIN_SHIFT)) < need)
		cls++;
	return cls;
}

void *tcplab_heap_malloc(size_t size)
{
	struct heap_block *b;
	unsigned int cls;

	if (!HEAP_LISTS)
		return malloc(size);
	cls = class_of(size);
	b = cls < HEAP_CLASSES ? heap.free[cls] : NULL;
	if (b != NULL) {
		heap.free[cls] = b->h.next;
		heap.held[cls]--;
	} else {
		size_t len = cls < HEAP_CLASSES ? (size_t)1 << (cls + HEAP_MIN_SHIFT)
						: size + sizeof(union heap_head);

		if (len < size)
			return NULL;
		b = malloc(len);
		if (b == NULL)
			return NULL;
	}
	b->h.cls = cls;
	return b + 1;
}

void tcplab_heap_free(void *p)
{
	struct heap_block *b;
	unsigned int cls;

	if (!HEAP_LISTS || p == NULL) {
		free(p);
		return;
	}
	b = (struct heap_block *)p - 1;
	cls = b->h.cls;
	if (cls >= HEAP_CLASSES ||
	    (size_t)(heap.held[cls] + 1) << (cls + HEAP_MIN_SHIFT) > HEAP_CACHE_BYTES) {
		free(b);
		return;
	}
	b->h.next = heap.free[cls];
	heap.free[cls] = b;
	heap.held[cls]++;
}

void *tcplab_heap_calloc(size_t n, size_t size)
{
	void *p;

	/* before the sanitizer's calloc, which aborts where the C library's returns NULL */
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	if (!HEAP_LISTS)
		return calloc(n, size);
	p = tcplab_heap_malloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}
