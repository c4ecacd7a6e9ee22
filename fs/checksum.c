/*
 * checksum.c - the index body's checksum.
 *
 * The body is cut into 1 MiB blocks.  A block is hashed a word at a step
 * in four lanes, so that four multiplications are in flight instead of one
 * chain (one chain over a 22 MB index took 4.4 ms); the block hashes are
 * then chained in order.  Blocks are independent, so a remount checks the
 * two halves of the file on two threads, each reading its half with pread
 * into a small buffer: touching every page of a fresh mapping instead costs
 * four times the copy on the VMs measured here (BENCHMARKS, session 10).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"

#define BLOCK (1024 * 1024)
#define CHUNK (64 * 1024)	/* a multiple of 32, dividing BLOCK */
#define MUL 0xff51afd7ed558ccdULL
#define SEED 0x9e3779b97f4a7c15ULL

struct lanes {
	uint64_t h[4];
};

static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * MUL;
	return h ^ (h >> 32);
}

static void lanes_init(struct lanes *l, uint64_t block)
{
	int k;

	for (k = 0; k < 4; k++)
		l->h[k] = SEED + block * 4 + (uint64_t)k;
}

/* n a multiple of 32.  The lanes in locals: stored through l, every
 * store could alias p (a char pointer) and be reloaded. */
static void lanes_words(struct lanes *l, const char *p, size_t n)
{
	uint64_t h0 = l->h[0], h1 = l->h[1], h2 = l->h[2], h3 = l->h[3];
	uint64_t w[4];
	size_t i;

	for (i = 0; i + 32 <= n; i += 32) {
		memcpy(w, p + i, 32);
		h0 = mix(h0, w[0]);
		h1 = mix(h1, w[1]);
		h2 = mix(h2, w[2]);
		h3 = mix(h3, w[3]);
	}
	l->h[0] = h0;
	l->h[1] = h1;
	l->h[2] = h2;
	l->h[3] = h3;
}

/* The last n < 32 bytes of a block of len bytes. */
static uint64_t lanes_end(struct lanes *l, const char *p, size_t n,
			  uint64_t len)
{
	uint64_t r = len, w;
	size_t i;
	int k;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		l->h[0] = mix(l->h[0], w);
	}
	for (; i < n; i++)
		l->h[1] = mix(l->h[1], (unsigned char)p[i]);
	for (k = 0; k < 4; k++)
		r = mix(r, l->h[k]);
	return r;
}

static uint64_t block_mem(const char *p, size_t n, uint64_t block)
{
	struct lanes l;
	size_t w = n & ~(size_t)31;

	lanes_init(&l, block);
	lanes_words(&l, p, w);
	return lanes_end(&l, p + w, n - w, n);
}

static uint64_t chain(const uint64_t *bh, size_t nb, uint64_t len)
{
	uint64_t t = SEED;
	size_t i;

	for (i = 0; i < nb; i++)
		t = mix(t, bh[i]);
	return t ^ len;
}

uint64_t checksum_mem(const char *p, size_t n)
{
	size_t nb = (n + BLOCK - 1) / BLOCK, i;
	uint64_t t = SEED;

	for (i = 0; i < nb; i++) {
		size_t k = n - i * (size_t)BLOCK;

		t = mix(t, block_mem(p + i * (size_t)BLOCK,
				     k < BLOCK ? k : BLOCK, i));
	}
	return t ^ n;
}

int pread_full(int fd, void *dst, size_t len, uint64_t off)
{
	char *d = dst;
	ssize_t r;

	while (len) {
		r = pread(fd, d, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		d += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

struct part {
	int fd, err;
	uint64_t off, len;	/* the whole body */
	size_t first, last;	/* blocks [first, last) */
	uint64_t *bh;
};

static void *part_run(void *arg)
{
	struct part *pt = arg;
	struct lanes l;
	char *buf = malloc(CHUNK);
	size_t b, k;
	uint64_t at, end;

	if (!buf) {
		pt->err = -ENOMEM;
		return NULL;
	}
	for (b = pt->first; b < pt->last && !pt->err; b++) {
		at = (uint64_t)b * BLOCK;
		end = pt->len - at < BLOCK ? pt->len : at + BLOCK;
		lanes_init(&l, b);
		for (; at < end; at += k) {
			k = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
			pt->err = pread_full(pt->fd, buf, k, pt->off + at);
			if (pt->err)
				break;
			if (k == CHUNK && at + k < end) {
				lanes_words(&l, buf, k);
				continue;
			}
			/* The block's last chunk. */
			lanes_words(&l, buf, k & ~(size_t)31);
			pt->bh[b] = lanes_end(&l, buf + (k & ~(size_t)31),
					      k & 31,
					      end - (uint64_t)b * BLOCK);
		}
	}
	free(buf);
	return NULL;
}

int checksum_file(int fd, uint64_t off, uint64_t len, uint64_t *out)
{
	size_t nb = (size_t)((len + BLOCK - 1) / BLOCK);
	struct part pt[2];
	pthread_t tid;
	int threaded, err;

	pt[0].bh = calloc(nb ? nb : 1, sizeof(*pt[0].bh));
	if (!pt[0].bh)
		return -ENOMEM;
	pt[0].fd = fd;
	pt[0].err = 0;
	pt[0].off = off;
	pt[0].len = len;
	pt[0].first = 0;
	pt[0].last = nb;
	pt[1] = pt[0];
	/* Only worth a thread with a few blocks each. */
	threaded = nb >= 4;
	if (threaded) {
		pt[0].last = pt[1].first = nb / 2;
		threaded = pthread_create(&tid, NULL, part_run, &pt[1]) == 0;
		if (!threaded)
			pt[0].last = nb;
	}
	part_run(&pt[0]);
	if (threaded)
		pthread_join(tid, NULL);
	err = pt[0].err ? pt[0].err : threaded ? pt[1].err : 0;
	*out = chain(pt[0].bh, nb, len);
	free(pt[0].bh);
	return err;
}
