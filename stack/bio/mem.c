/* SPDX-License-Identifier: MIT */
/*
 * mem.c - the memory source and sink: an object held in this process. Tests wrap them in the
 * fault injector and compare against them; the page-cache benchmark loads from them. Also
 * the two generic frees every source and sink goes through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"

void bio_source_free(struct bio_source *src)
{
	if (src != NULL)
		src->ops->free(src);
}

void bio_sink_free(struct bio_sink *snk)
{
	if (snk != NULL)
		snk->ops->free(snk);
}

struct mem_source {
	struct bio_source base;
	const uint8_t *data;
	size_t len;
	uint64_t next;		/* next byte the open request returns */
	uint64_t end;		/* its end, clamped to len */
	bool open;
};

static int mem_open(struct bio_source *src, uint64_t off, uint64_t len)
{
	struct mem_source *m = (struct mem_source *)src;

	m->next = off < m->len ? off : m->len;
	m->end = len == BIO_TO_END || len > m->len - m->next ? m->len : m->next + len;
	m->open = true;
	return 0;
}

static ssize_t mem_read(struct bio_source *src, void *buf, size_t len)
{
	struct mem_source *m = (struct mem_source *)src;
	size_t n;

	if (!m->open)
		return -EINVAL;
	n = (size_t)(m->end - m->next) < len ? (size_t)(m->end - m->next) : len;
	memcpy(buf, m->data + m->next, n);
	m->next += n;
	return (ssize_t)n;
}

static int mem_size(struct bio_source *src, uint64_t *size)
{
	*size = ((struct mem_source *)src)->len;
	return 0;
}

static void mem_source_free(struct bio_source *src)
{
	free(src);
}

static const struct bio_source_ops mem_source_ops = {
	.name = "mem",
	.open = mem_open,
	.read = mem_read,
	.size = mem_size,
	.free = mem_source_free,
};

struct bio_source *bio_mem_source_create(const void *data, size_t len)
{
	struct mem_source *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->base.ops = &mem_source_ops;
	m->data = data;
	m->len = len;
	return &m->base;
}

struct mem_sink {
	struct bio_sink base;
	uint8_t *data;
	size_t len;
	size_t cap;
	unsigned int closes;
};

static ssize_t mem_write(struct bio_sink *snk, const void *buf, size_t len)
{
	struct mem_sink *m = (struct mem_sink *)snk;
	size_t ncap = m->cap ? m->cap : 4096;
	uint8_t *p;

	while (ncap - m->len < len)
		ncap *= 2;
	if (ncap != m->cap) {
		p = realloc(m->data, ncap);
		if (p == NULL)
			return -ENOMEM;
		m->data = p;
		m->cap = ncap;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return (ssize_t)len;
}

static int mem_flush(struct bio_sink *snk)
{
	(void)snk;
	return 0;
}

static int mem_close(struct bio_sink *snk)
{
	((struct mem_sink *)snk)->closes++;
	return 0;
}

static void mem_sink_free(struct bio_sink *snk)
{
	free(((struct mem_sink *)snk)->data);
	free(snk);
}

static const struct bio_sink_ops mem_sink_ops = {
	.name = "mem",
	.write = mem_write,
	.flush = mem_flush,
	.close = mem_close,
	.free = mem_sink_free,
};

struct bio_sink *bio_mem_sink_create(void)
{
	struct mem_sink *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->base.ops = &mem_sink_ops;
	return &m->base;
}

const uint8_t *bio_mem_sink_data(const struct bio_sink *snk, size_t *len)
{
	const struct mem_sink *m = (const struct mem_sink *)snk;

	if (snk->ops != &mem_sink_ops)
		return NULL;
	*len = m->len;
	return m->data;
}

unsigned int bio_mem_sink_closes(const struct bio_sink *snk)
{
	if (snk->ops != &mem_sink_ops)
		return 0;
	return ((const struct mem_sink *)snk)->closes;
}
