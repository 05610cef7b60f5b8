// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: any bytes as a Prometheus label value: the output fits, is
 * printable ASCII, and every quote, backslash and newline is escaped, so a
 * device name cannot break a line of the exposition format. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	size_t len = size < 40 ? size + 1 : 40, n;

	if (!size)
		return 0;
	/* out holds len bytes; the input is read up to size bytes or a NUL. */
	prom_label_value(out, len, (const char *)data, size);
	n = strlen(out);
	if (n >= len)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = out[i];

		if (c < 0x20 || c >= 0x7f)
			abort();
		if (c == '\\') {
			if (i + 1 >= n || !strchr("\\\"n", out[i + 1]))
				abort();
			i++;
		} else if (c == '"') {
			abort();
		}
	}
	return 0;
}
