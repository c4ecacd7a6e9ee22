/*
 * checksum.h - the index body's checksum: corruption, not attacks.
 */
#ifndef CCMFS_CHECKSUM_H
#define CCMFS_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Of n bytes in memory (when saving). */
uint64_t checksum_mem(const char *p, size_t n);
/* Of the file's bytes [off, off + len), read with pread, on two threads
 * when there is enough; 0 or a negative errno. */
int checksum_file(int fd, uint64_t off, uint64_t len, uint64_t *out);
/* Exactly len bytes at off, or -errno (-EIO at the end of the file). */
int pread_full(int fd, void *dst, size_t len, uint64_t off);

#endif
