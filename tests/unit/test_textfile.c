// SPDX-License-Identifier: GPL-2.0
/* The textfile writer on a real directory: atomic replacement, mode,
 * no temporary file left, stale ones of dead exporters removed, and an
 * unusable directory refused at open with the reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "out/textfile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/dmawatch-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	if (d)
		closedir(d);
	return n;
}

static void read_file(const char *name, char *buf, size_t len)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void test_write_replaces_the_file(void **state)
{
	struct textfile t;
	struct stat st;
	char path[128], buf[64];

	(void)state;
	assert_int_equal(textfile_open(&t, dir, false), 0);
	assert_int_equal(entries(), 0); /* the probe file is gone again */
	assert_int_equal(textfile_write(&t, "a 1\n", 4), 0);
	assert_int_equal(textfile_write(&t, "b 2\n", 4), 0);
	read_file(PROM_FILE, buf, sizeof(buf));
	assert_string_equal(buf, "b 2\n");
	snprintf(path, sizeof(path), "%s/" PROM_FILE, dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(entries(), 1);
	textfile_close(&t);
	textfile_close(&t);
}

static void test_stale_temporary_files_are_removed(void **state)
{
	struct textfile t;
	char path[128];
	int fd;

	(void)state;
	/* pid 2^22+1 is above any pid_max: a dead exporter's leftover. */
	snprintf(path, sizeof(path), "%s/.dmawatch.prom.4194305.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	/* Not ours: kept. */
	snprintf(path, sizeof(path), "%s/.dmawatch.prom.x.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(textfile_open(&t, dir, false), 0);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/.dmawatch.prom.4194305.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	textfile_close(&t);
}

static void test_missing_directory_is_refused(void **state)
{
	struct textfile t;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/nonexistent", dir);
	assert_int_equal(textfile_open(&t, path, false), -ENOENT);
	textfile_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_replaces_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temporary_files_are_removed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("textfile", tests, NULL, NULL);
}
