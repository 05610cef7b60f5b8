/* SPDX-License-Identifier: GPL-2.0 */
/* One JSON writer for every --json output: nesting, commas and escaping are
 * handled here, so no subcommand formats JSON by hand. Keys are given inside
 * objects and must be NULL inside arrays. */
#ifndef DMAWATCH_JSON_H
#define DMAWATCH_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool has_items[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
void json_double(struct json *j, const char *key, double value);
void json_bool(struct json *j, const char *key, bool value);
/* Ends a top-level value with a newline (one object per line) and flushes. */
void json_end_line(struct json *j);

#endif
