// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/ksyms.h"

/* A kallsyms excerpt, out of order, with data symbols and a module. */
static const char sample[] = "ffffffff81200000 T swiotlb_map\n"
			     "ffffffff81100000 T _text\n"
			     "ffffffff81300000 D some_data\n"
			     "ffffffff811ff000 t swiotlb_bounce\n"
			     "ffffffffc0001000 t dmawatch_lab_map_single\t[dmawatch_lab]\n"
			     "ffffffff81200400 T swiotlb_tbl_map_single\n";

static char path[] = "/tmp/dmawatch-ksyms-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, sample, sizeof(sample) - 1) != sizeof(sample) - 1)
		return -1;
	close(fd);
	*state = ksyms_load(path);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ksyms_free(*state);
	unlink(path);
	return 0;
}

static void test_find_addr(void **state)
{
	const struct ksym *s = ksyms_find_addr(*state, 0xffffffff81200123);

	assert_non_null(s);
	assert_string_equal(s->name, "swiotlb_map");
	assert_null(s->module);
	s = ksyms_find_addr(*state, 0xffffffff81200400);
	assert_string_equal(s->name, "swiotlb_tbl_map_single");
	assert_null(ksyms_find_addr(*state, 0x1000));
}

static void test_data_symbols_skipped(void **state)
{
	const struct ksym *s = ksyms_find_addr(*state, 0xffffffff81300010);

	/* some_data is 'D': the nearest text symbol below wins. */
	assert_string_equal(s->name, "swiotlb_tbl_map_single");
	assert_null(ksyms_find_name(*state, "some_data"));
}

static void test_module_and_format(void **state)
{
	char buf[128];

	ksyms_format(*state, 0xffffffffc0001010, buf, sizeof(buf));
	assert_string_equal(buf, "dmawatch_lab_map_single+0x10 [dmawatch_lab]");
	ksyms_format(*state, 0xffffffff81200000, buf, sizeof(buf));
	assert_string_equal(buf, "swiotlb_map+0x0");
	/* Far past every symbol: not attributed to the last one. */
	ksyms_format(*state, 0xffffffffc8000000, buf, sizeof(buf));
	assert_string_equal(buf, "0xffffffffc8000000");
	assert_non_null(ksyms_find_name(*state, "swiotlb_bounce"));
}

/* The variables asked for by name: vmlinux only, hidden addresses as 0. */
static void test_data_lookup(void **state)
{
	static const char hidden[] = "0000000000000000 D __per_cpu_offset\n"
				     "0000000000000000 T swiotlb_map\n";
	static const char *const want[] = { "some_data", "dmawatch_lab_map_single", "absent",
					    "__per_cpu_offset" };
	struct ksyms *ks = ksyms_load_with(path, want, 4);
	uint64_t addr = 1;
	FILE *f;

	assert_non_null(ks);
	assert_int_equal(ksyms_data(ks, "some_data", &addr), 0);
	assert_true(addr == 0xffffffff81300000ULL);
	/* A module's symbol is not vmlinux's. */
	assert_int_equal(ksyms_data(ks, "dmawatch_lab_map_single", &addr), -ENOENT);
	assert_int_equal(ksyms_data(ks, "absent", &addr), -ENOENT);
	assert_int_equal(ksyms_data(ks, "not_asked_for", &addr), -ENOENT);
	/* Text lookups work as before. */
	assert_non_null(ksyms_find_name(ks, "swiotlb_map"));
	ksyms_free(ks);

	f = fmemopen((void *)hidden, sizeof(hidden) - 1, "r");
	assert_non_null(f);
	ks = ksyms_read_with(f, want, 4);
	fclose(f);
	assert_non_null(ks);
	addr = 1;
	assert_int_equal(ksyms_data(ks, "__per_cpu_offset", &addr), 0);
	assert_true(addr == 0);
	ksyms_free(ks);
	/* A plain load answers no data lookup. */
	assert_int_equal(ksyms_data(*state, "some_data", &addr), -ENOENT);
}

/* The hand parser (sscanf's replacement) on what sscanf took: upper-case
 * hex, blanks of either kind, a module whose ']' is missing, lines that are
 * not symbols, and a file listed out of address order. */
static void test_parse_edges(void **state)
{
	static const char text[] = "FFFFFFFF81000010 T upper_hex\n"
				   "ffffffff81000000\tt\ttabbed  \n"
				   "ffffffffc0000000 t mod_fn\t[some_mod\n"
				   "ffffffffc0000100 t empty_mod\t[]\n"
				   "not a symbol line\n"
				   "ffffffff81000020 T\n"
				   "ffffffff81000030\n"
				   "\n"
				   "ffffffff81000008 T out_of_order\n";
	char buf[128];
	struct ksyms *ks;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	const struct ksym *s;

	(void)state;
	assert_non_null(f);
	ks = ksyms_read(f);
	fclose(f);
	assert_non_null(ks);
	s = ksyms_find_name(ks, "upper_hex");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffff81000010ULL);
	assert_null(s->module);
	s = ksyms_find_name(ks, "tabbed");
	assert_non_null(s);
	assert_true(s->addr == 0xffffffff81000000ULL);
	s = ksyms_find_name(ks, "mod_fn");
	assert_non_null(s);
	assert_string_equal(s->module, "some_mod");
	s = ksyms_find_name(ks, "empty_mod");
	assert_non_null(s);
	assert_null(s->module);
	/* Sorted by address although listed out of order. */
	ksyms_format(ks, 0xffffffff8100000cULL, buf, sizeof(buf));
	assert_string_equal(buf, "out_of_order+0x4");
	ksyms_format(ks, 0xffffffff81000004ULL, buf, sizeof(buf));
	assert_string_equal(buf, "tabbed+0x4");
	ksyms_free(ks);
}

static void test_missing_file(void **state)
{
	(void)state;
	assert_null(ksyms_load("/nonexistent/kallsyms"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_addr),
		cmocka_unit_test(test_data_symbols_skipped),
		cmocka_unit_test(test_module_and_format),
		cmocka_unit_test(test_data_lookup),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests_name("ksyms", tests, setup, teardown);
}
