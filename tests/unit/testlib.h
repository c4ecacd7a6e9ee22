/* testlib.h - shared helpers for the cmocka unit tests. */
#ifndef CCM_TESTLIB_H
#define CCM_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ccm.h"

/* A ccm_file over bytes in memory (the scanner only reads data/size). */
static inline struct ccm_file mem_file(const char *p, size_t n)
{
	struct ccm_file f;

	memset(&f, 0, sizeof(f));
	f.data = n ? p : NULL;
	f.size = n;
	f.fd = -1;
	f.dirfd = -1;
	f.name = (char *)"mem.ccm";
	return f;
}

#define assert_slice_equal(s, lit)                                           \
	do {                                                                 \
		struct ccm_slice s_ = (s);                                   \
		assert_int_equal(s_.len, strlen(lit));                      \
		assert_memory_equal(s_.p, (lit), s_.len);                    \
	} while (0)

#endif
