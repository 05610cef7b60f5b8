// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(parse_u64("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(parse_u64("0x10", 0, 100, &v));
	assert_int_equal(v, 16);
	assert_false(parse_u64("101", 0, 100, &v));
	assert_false(parse_u64("4x", 0, 100, &v));
	assert_false(parse_u64("", 0, 100, &v));
	assert_false(parse_u64("-1", 0, UINT64_MAX, &v));
	assert_false(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v));
	assert_false(parse_u64("0", 1, 10, &v));
}

static void test_parse_seconds(void **state)
{
	double s = 0;

	(void)state;
	assert_true(parse_seconds("0.5", 3600, &s));
	assert_true(s == 0.5);
	assert_true(parse_seconds("2", 3600, &s));
	assert_false(parse_seconds("0", 3600, &s));
	assert_false(parse_seconds("-1", 3600, &s));
	assert_false(parse_seconds("nan", 3600, &s));
	assert_false(parse_seconds("1s", 3600, &s));
	assert_false(parse_seconds("7200", 3600, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_seconds),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
