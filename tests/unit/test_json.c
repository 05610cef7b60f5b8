// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "out/json.h"

/* Runs fn against a memory stream and returns what it wrote. */
static char *capture(void (*fn)(struct json *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(struct json *j)
{
	json_object_begin(j, NULL);
	json_string(j, "dev", "0000:00:01.0");
	json_u64(j, "bytes", 18446744073709551615ULL);
	json_array_begin(j, "hist");
	json_u64(j, NULL, 1);
	json_u64(j, NULL, 2);
	json_array_end(j);
	json_object_begin(j, "pool");
	json_bool(j, "ok", true);
	json_i64(j, "delta", -3);
	json_object_end(j);
	json_array_begin(j, "empty");
	json_array_end(j);
	json_object_end(j);
	json_end_line(j);
}

static void test_nesting_and_commas(void **state)
{
	char *out = capture(nested);

	(void)state;
	assert_string_equal(out, "{\"dev\":\"0000:00:01.0\",\"bytes\":18446744073709551615,"
				 "\"hist\":[1,2],\"pool\":{\"ok\":true,\"delta\":-3},"
				 "\"empty\":[]}\n");
	free(out);
}

static void escapes(struct json *j)
{
	json_object_begin(j, NULL);
	json_string(j, "s", "a\"b\\c\nd\x01");
	json_object_end(j);
}

static void test_escaping(void **state)
{
	char *out = capture(escapes);

	(void)state;
	assert_string_equal(out, "{\"s\":\"a\\\"b\\\\c\\nd\\u0001\"}");
	free(out);
}

static void non_finite(struct json *j)
{
	json_array_begin(j, NULL);
	json_double(j, NULL, 0.5);
	json_double(j, NULL, 1.0 / 0.0);
	json_array_end(j);
}

static void test_non_finite_is_null(void **state)
{
	char *out = capture(non_finite);

	(void)state;
	assert_string_equal(out, "[0.5,null]");
	free(out);
}

static void two_lines(struct json *j)
{
	json_object_begin(j, NULL);
	json_u64(j, "i", 1);
	json_object_end(j);
	json_end_line(j);
	json_object_begin(j, NULL);
	json_u64(j, "i", 2);
	json_object_end(j);
	json_end_line(j);
}

static void test_one_object_per_line(void **state)
{
	char *out = capture(two_lines);

	(void)state;
	/* No comma may leak from the first line into the second. */
	assert_string_equal(out, "{\"i\":1}\n{\"i\":2}\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_non_finite_is_null),
		cmocka_unit_test(test_one_object_per_line),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
