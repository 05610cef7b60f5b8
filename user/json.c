// SPDX-License-Identifier: GPL-2.0
#include <math.h>

#include "json.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->has_items[0] = false;
}

static void put_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (c < 0x20)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
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

void json_object_begin(struct json *j, const char *key) { push(j, key, '{'); }
void json_object_end(struct json *j) { pop(j, '}'); }
void json_array_begin(struct json *j, const char *key) { push(j, key, '['); }
void json_array_end(struct json *j) { pop(j, ']'); }

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
