// SPDX-License-Identifier: GPL-2.0
/* The memory a cgroup v2 memory.max leaves dmawatch: the paths read from
 * /proc's text, and the tightest limit over a fabricated cgroup tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/memlimit.h"

#define MIB (1024ull * 1024)

static void test_cgroup_path(void **state)
{
	char path[64];

	(void)state;
	assert_int_equal(
		memlimit_cgroup_path("0::/system.slice/dmawatch.service\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/system.slice/dmawatch.service");
	/* Hybrid hierarchy: v1 lines first. */
	assert_int_equal(memlimit_cgroup_path("12:memory:/x\n1:name=systemd:/y\n0::/z", path,
					      sizeof(path)),
			 0);
	assert_string_equal(path, "/z");
	assert_int_equal(memlimit_cgroup_path("12:memory:/x\n", path, sizeof(path)), -1);
	assert_int_equal(memlimit_cgroup_path("0::/far-too-long-for-the-buffer-given-here-at-all",
					      path, 16),
			 -1);
}

static void test_cgroup_root(void **state)
{
	char root[64];
	const char *mi = "22 28 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
			 "26 22 0:23 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw\n";

	(void)state;
	assert_int_equal(memlimit_cgroup_root(mi, root, sizeof(root)), 0);
	assert_string_equal(root, "/sys/fs/cgroup/unified");
	assert_int_equal(memlimit_cgroup_root("22 28 0:21 / /sys rw - sysfs sysfs rw\n", root,
					      sizeof(root)),
			 -1);
}

static void put(const char *dir, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* root/a (memory.max 64 MiB, 10 MiB used) / b (max) / c (100 MiB, 90 MiB
 * used): c leaves the least, though a's limit is lower. */
static void test_tightest_limit(void **state)
{
	char root[] = "/tmp/dmawatch-memlimit-XXXXXX", dir[256];
	struct mem_limit m = {};

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/a", root);
	mkdir(dir, 0700);
	put(dir, "memory.max", "67108864\n");
	put(dir, "memory.current", "10485760\n");
	snprintf(dir, sizeof(dir), "%s/a/b", root);
	mkdir(dir, 0700);
	put(dir, "memory.max", "max\n");
	put(dir, "memory.current", "99\n");
	snprintf(dir, sizeof(dir), "%s/a/b/c", root);
	mkdir(dir, 0700);
	put(dir, "memory.max", "104857600\n");
	put(dir, "memory.current", "94371840\n");

	assert_int_equal(memlimit_read(root, "/a/b/c", &m), 1);
	assert_string_equal(m.cgroup, "/a/b/c");
	assert_int_equal(m.headroom, 10 * MIB);
	assert_int_equal(m.max, 100 * MIB);
	/* From b: only a binds. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(memlimit_read(root, "/a/b", &m), 1);
	assert_string_equal(m.cgroup, "/a");
	assert_int_equal(m.headroom, 54 * MIB);
	/* Over its limit already: no room, not a wrap-around. */
	put(dir, "memory.current", "209715200\n");
	assert_int_equal(memlimit_read(root, "/a/b/c", &m), 1);
	assert_int_equal(m.headroom, 0);
	/* No limit anywhere (the root has no memory.max). */
	assert_int_equal(memlimit_read(root, "/", &m), 0);
	assert_int_equal(memlimit_read(root, "relative", &m), 0);

	snprintf(dir, sizeof(dir), "rm -rf %s", root);
	assert_int_equal(system(dir), 0);
}

/* What a start needs grows with the kernel's BTF and stays above what the
 * lab measured (tests/lab/guest/faults.sh prints it per kernel). */
static void test_start_need(void **state)
{
	(void)state;
	assert_true(memlimit_start_need(5 * MIB) > memlimit_start_need(4 * MIB));
	assert_true(memlimit_start_floor(5 * MIB) > memlimit_start_floor(4 * MIB));
	/* What starts in the lab: the floor under it, the need over it
	 * (6.1: 14 MiB for 4360537 bytes of BTF; 6.12: 20 MiB for 4922357;
	 * 7.3: 28 to 32 MiB for 5547854), and what did not start under the need
	 * (6.12: 18 MiB; 7.3: 24 MiB). */
	assert_true(memlimit_start_floor(4360537) <= 14 * MIB);
	assert_true(memlimit_start_floor(4922357) <= 20 * MIB);
	assert_true(memlimit_start_floor(5547854) <= 28 * MIB);
	assert_true(memlimit_start_need(4922357) > 18 * MIB);
	assert_true(memlimit_start_need(5547854) >= 32 * MIB);
	assert_true(memlimit_start_floor(5547854) < memlimit_start_need(5547854));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_path),
		cmocka_unit_test(test_cgroup_root),
		cmocka_unit_test(test_tightest_limit),
		cmocka_unit_test(test_start_need),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
