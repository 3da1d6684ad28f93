/* SPDX-License-Identifier: MIT */
/*
 * file.c - the local-file source and sink: a request is only an offset (pread from there);
 * the sink appends with pwrite and fsyncs on close, so close's 0 means the bytes are on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bio.h"

struct file_source {
	struct bio_source base;
	int fd;
	uint64_t next;
	uint64_t end;		/* BIO_TO_END: up to the end of the file */
	bool open;
};

static int file_open(struct bio_source *src, uint64_t off, uint64_t len)
{
	struct file_source *f = (struct file_source *)src;

	f->next = off;
	f->end = len == BIO_TO_END || len > UINT64_MAX - off ? BIO_TO_END : off + len;
	f->open = true;
	return 0;
}

static ssize_t file_read(struct bio_source *src, void *buf, size_t len)
{
	struct file_source *f = (struct file_source *)src;
	ssize_t n;

	if (!f->open)
		return -EINVAL;
	if (f->end != BIO_TO_END && f->end - f->next < len)
		len = (size_t)(f->end - f->next);
	if (len == 0)
		return 0;
	do
		n = pread(f->fd, buf, len, (off_t)f->next);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	f->next += (uint64_t)n;
	return n;
}

static int file_size(struct bio_source *src, uint64_t *size)
{
	struct stat sb;

	if (fstat(((struct file_source *)src)->fd, &sb) < 0)
		return -errno;
	*size = (uint64_t)sb.st_size;
	return 0;
}

static void file_source_free(struct bio_source *src)
{
	close(((struct file_source *)src)->fd);
	free(src);
}

static const struct bio_source_ops file_source_ops = {
	.name = "file",
	.open = file_open,
	.read = file_read,
	.size = file_size,
	.free = file_source_free,
};

struct bio_source *bio_file_source_create(const char *path)
{
	struct file_source *f = calloc(1, sizeof(*f));
	int saved;

	if (f == NULL)
		return NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		goto err_free_source;
	f->base.ops = &file_source_ops;
	return &f->base;

err_free_source:
	saved = errno;
	free(f);
	errno = saved;
	return NULL;
}

struct file_sink {
	struct bio_sink base;
	int fd;
	uint64_t off;
};

static ssize_t file_write(struct bio_sink *snk, const void *buf, size_t len)
{
	struct file_sink *f = (struct file_sink *)snk;
	ssize_t n;

	do
		n = pwrite(f->fd, buf, len, (off_t)f->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	f->off += (uint64_t)n;
	return n;
}

static int file_flush(struct bio_sink *snk)
{
	(void)snk;
	return 0;	/* pwrite already handed the bytes to the kernel */
}

static int file_close(struct bio_sink *snk)
{
	return fsync(((struct file_sink *)snk)->fd) < 0 ? -errno : 0;
}

static void file_sink_free(struct bio_sink *snk)
{
	close(((struct file_sink *)snk)->fd);
	free(snk);
}

static const struct bio_sink_ops file_sink_ops = {
	.name = "file",
	.write = file_write,
	.flush = file_flush,
	.close = file_close,
	.free = file_sink_free,
};

struct bio_sink *bio_file_sink_create(const char *path)
{
	struct file_sink *f = calloc(1, sizeof(*f));
	int saved;

	if (f == NULL)
		return NULL;
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0)
		goto err_free_sink;
	f->base.ops = &file_sink_ops;
	return &f->base;

err_free_sink:
	saved = errno;
	free(f);
	errno = saved;
	return NULL;
}
