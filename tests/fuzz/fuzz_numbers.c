// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the parsers of numbers, durations and listen addresses the
 * command line feeds: no crash, and what they accept is in range and reads
 * back the same. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), back[32];
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint64_t v, w;
	double d;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (parse_u64(s, 1, 1000000, &v)) {
		if (v < 1 || v > 1000000)
			abort();
		snprintf(back, sizeof(back), "%" PRIu64, v);
		if (!parse_u64(back, 1, 1000000, &w) || w != v)
			abort();
	}
	if (parse_seconds(s, 86400, &d) && (!(d > 0) || d > 86400 || isnan(d)))
		abort();
	if (!http_parse_listen(s, &ss, &sslen) && sslen > sizeof(ss))
		abort();
	free(s);
	return 0;
}
