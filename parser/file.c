/*
 * file.c - open and map one export file read-only.
 *
 * The mapping is shared by every slice the parser hands out.  A zero-length
 * file cannot be mapped, so it is represented by data == NULL, size == 0.
 * The mapping is used while indexing only: if the file shrank while mapped,
 * touching the vanished pages would raise SIGBUS, so a mounted archive
 * drops it (ccm_archive_unmap) and reads with pread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ccm.h"

static char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return strdup(s ? s + 1 : path);
}

int ccm_file_open(struct ccm_file *f, const char *path)
{
	struct stat st;
	void *map;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	/* O_NONBLOCK: a FIFO given as a source must not hang us; it is
	 * refused below like any non-regular file. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	f->size = (uint64_t)st.st_size;
	f->mtime = (int64_t)st.st_mtime;
	f->tail = f->size;
	f->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->path = strdup(path);
	f->name = base_name(path);
	if (!f->path || !f->name) {
		err = -ENOMEM;
		goto out_free;
	}
	if (f->size > 0) {
		map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (map == MAP_FAILED) {
			err = -errno;
			goto out_free;
		}
		madvise(map, f->size, MADV_SEQUENTIAL);
		f->data = map;
	}
	return 0;

out_free:
	free(f->path);
	free(f->name);
out_close:
	close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	return err;
}

void ccm_file_close(struct ccm_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->name);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}
