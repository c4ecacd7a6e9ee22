/*
 * extract.c - write the tree into a directory: the same names, contents and
 * mtimes the mount shows.  Files are written through a temporary name and
 * renamed, so an interrupted extraction never leaves a partial .eml under a
 * final name.  Modes are the mount's (0444 files, 0555 directories) and
 * directory mtimes are set after their contents are written: the copy is
 * the same tree as the mount, for tar and rsync alike.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"

static int dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int set_mtime(int dirfd, const char *name, int64_t t)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_file(const struct tree *t, int dirfd, uint64_t ino,
		      struct ccm_buf *buf, char *err, size_t errlen)
{
	const char *name = tree_name(t, ino);
	const struct tree_node *n = tree_node(t, ino);
	char tmp[64];
	int fd, rc;

	ccm_buf_clear(buf);
	rc = tree_read(t, ino, buf);
	if (rc) {
		snprintf(err, errlen, "cannot render %s: %s", name,
			 ccm_strerror(rc));
		return rc;
	}
	snprintf(tmp, sizeof(tmp), ".ccmailfs-tmp.%llu", (unsigned long long)ino);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", name, strerror(-rc));
		return rc;
	}
	rc = write_all(fd, buf->p ? buf->p : "", buf->len);
	if (close(fd) < 0 && !rc)
		rc = -errno;
	/* The mount's own modes, so the copy is the same tree (tar, rsync). */
	if (!rc && fchmodat(dirfd, tmp, 0444, 0) < 0)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (!rc)
		rc = set_mtime(dirfd, name, n->mtime);
	if (rc) {
		unlinkat(dirfd, tmp, 0);
		snprintf(err, errlen, "cannot write %s: %s", name, strerror(-rc));
	}
	return rc;
}

static int write_dir(const struct tree *t, int dirfd, uint64_t ino,
		     struct ccm_buf *buf, char *err, size_t errlen)
{
	const struct tree_node *n = tree_node(t, ino);
	size_t i;
	int rc = 0;

	for (i = 0; i < n->nchildren && !rc; i++) {
		uint64_t c = tree_child(t, ino, i);
		const char *name = tree_name(t, c);
		int fd;

		if (tree_node(t, c)->kind != TREE_DIR) {
			rc = write_file(t, dirfd, c, buf, err, errlen);
			continue;
		}
		if (mkdirat(dirfd, name, 0700) < 0) {
			/* --force over an earlier extraction: it is 0555. */
			if (errno != EEXIST || fchmodat(dirfd, name, 0700, 0)) {
				rc = -errno;
				snprintf(err, errlen,
					 "cannot create directory %s: %s", name,
					 strerror(errno));
				break;
			}
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
						 O_NOFOLLOW);
		if (fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot open directory %s: %s",
				 name, strerror(errno));
			break;
		}
		rc = write_dir(t, fd, c, buf, err, errlen);
		/* Read-only like the mount, once its contents are written. */
		if (!rc && fchmod(fd, 0555) < 0)
			rc = -errno;
		close(fd);
		if (!rc)
			rc = set_mtime(dirfd, name, tree_node(t, c)->mtime);
	}
	return rc;
}

int extract_tree(const struct tree *t, const char *dir, int force, char *err,
		 size_t errlen)
{
	struct ccm_buf buf;
	int fd, rc, created = 0;

	if (mkdir(dir, 0700) == 0) {
		created = 1;
	} else {
		if (errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen, "cannot create %s: %s", dir,
				 strerror(errno));
			return rc;
		}
		rc = dir_empty(dir);
		if (rc < 0) {
			snprintf(err, errlen, "cannot read %s: %s", dir,
				 strerror(-rc));
			return rc;
		}
		if (rc == 0 && !force) {
			snprintf(err, errlen,
				 "%s is not empty (use --force to write into it)",
				 dir);
			return -ENOTEMPTY;
		}
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return rc;
	}
	ccm_buf_init(&buf);
	rc = write_dir(t, fd, TREE_ROOT, &buf, err, errlen);
	/* A directory we made is the tree's root: read-only like the mount. */
	if (!rc && created && fchmod(fd, 0555) < 0)
		rc = -errno;
	close(fd);
	ccm_buf_release(&buf);
	if (!rc)
		rc = set_mtime(AT_FDCWD, dir, tree_node(t, TREE_ROOT)->mtime);
	return rc;
}
