// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: any bytes as a JSON string value and key (comm names can be
 * any bytes) must come out as one valid JSON object: checked by a strict
 * validator of the grammar JSON's RFC 8259 gives strings, UTF-8 included. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/json.h"

/* A JSON string starting at *p; advances past it. 0 if invalid. */
static int string_ok(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;

	if (s >= end || *s++ != '"')
		return 0;
	while (s < end && *s != '"') {
		if (*s < 0x20)
			return 0;
		if (*s == '\\') {
			s++;
			if (s >= end)
				return 0;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (s + i >= end ||
					    !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
						return 0;
				s += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *s) || !*s)
				return 0;
			s++;
			continue;
		}
		if (*s >= 0x80) {
			int n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc2 ? 2 : 0;

			if (!n || *s > 0xf4 || s + n > end)
				return 0;
			for (int i = 1; i < n; i++)
				if ((s[i] & 0xc0) != 0x80)
					return 0;
			/* Overlong 3/4-byte forms, surrogates, > U+10FFFF. */
			if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
			    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
				return 0;
			s += n;
			continue;
		}
		s++;
	}
	if (s >= end)
		return 0;
	*p = s + 1;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out = NULL;
	const unsigned char *p, *end;
	size_t len = 0;
	struct json j;
	FILE *f;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	f = open_memstream(&out, &len);
	if (!f) {
		free(in);
		return 0;
	}
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_string(&j, in, in);
	json_object_end(&j);
	fclose(f);
	/* {"KEY":"VALUE"} exactly. */
	p = (const unsigned char *)out;
	end = p + len;
	if (p >= end || *p++ != '{' || !string_ok(&p, end) || p >= end || *p++ != ':' ||
	    !string_ok(&p, end) || p >= end || *p++ != '}' || p != end)
		abort();
	free(out);
	free(in);
	return 0;
}
