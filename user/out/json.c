// SPDX-License-Identifier: GPL-2.0
#include <math.h>

#include "out/json.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->has_items[0] = false;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
	int n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string: kernel names are usually ASCII, but a task's comm can be
 * any bytes (prctl PR_SET_NAME); what is not UTF-8 becomes U+FFFD, so
 * every line parses. */
static void put_escaped(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	while (*s) {
		unsigned char c = *s;
		int n;

		switch (c) {
		case '"':
			fputs("\\\"", out);
			s++;
			continue;
		case '\\':
			fputs("\\\\", out);
			s++;
			continue;
		case '\n':
			fputs("\\n", out);
			s++;
			continue;
		case '\t':
			fputs("\\t", out);
			s++;
			continue;
		case '\r':
			fputs("\\r", out);
			s++;
			continue;
		}
		if (c < 0x20) {
			fprintf(out, "\\u%04x", c);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		fwrite(s, 1, n, out);
		s += n;
	}
	fputc('"', out);
}

/* Separator and key before a value at the current depth. */
static void begin_item(struct json *j, const char *key)
{
	if (j->has_items[j->depth])
		fputc(',', j->out);
	j->has_items[j->depth] = true;
	if (key) {
		put_escaped(j->out, key);
		fputc(':', j->out);
	}
}

static void push(struct json *j, const char *key, char open)
{
	begin_item(j, key);
	fputc(open, j->out);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void pop(struct json *j, char close)
{
	if (j->depth > 0)
		j->depth--;
	fputc(close, j->out);
}

void json_object_begin(struct json *j, const char *key)
{
	push(j, key, '{');
}
void json_object_end(struct json *j)
{
	pop(j, '}');
}
void json_array_begin(struct json *j, const char *key)
{
	push(j, key, '[');
}
void json_array_end(struct json *j)
{
	pop(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
	begin_item(j, key);
	put_escaped(j->out, value ? value : "");
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
	begin_item(j, key);
	fprintf(j->out, "%llu", (unsigned long long)value);
}

void json_i64(struct json *j, const char *key, int64_t value)
{
	begin_item(j, key);
	fprintf(j->out, "%lld", (long long)value);
}

void json_double(struct json *j, const char *key, double value)
{
	begin_item(j, key);
	/* JSON has no NaN or Infinity. */
	if (isfinite(value))
		fprintf(j->out, "%.6g", value);
	else
		fputs("null", j->out);
}

void json_bool(struct json *j, const char *key, bool value)
{
	begin_item(j, key);
	fputs(value ? "true" : "false", j->out);
}

void json_end_line(struct json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
	j->depth = 0;
	j->has_items[0] = false;
}
