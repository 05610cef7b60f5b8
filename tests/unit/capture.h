/* SPDX-License-Identifier: GPL-2.0 */
/* For the unit tests (after cmocka.h): what a call wrote to f_, a
 * memstream, as a NUL-terminated string in buf; the caller frees it. */
#ifndef DMAWATCH_TEST_CAPTURE_H
#define DMAWATCH_TEST_CAPTURE_H

#include <stdio.h>

#define CAPTURE(buf, call)                                \
	do {                                              \
		size_t len_ = 0;                          \
		FILE *f_ = open_memstream(&(buf), &len_); \
		assert_non_null(f_);                      \
		call;                                     \
		fclose(f_);                               \
	} while (0)

#endif
