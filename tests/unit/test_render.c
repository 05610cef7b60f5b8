// SPDX-License-Identifier: GPL-2.0
/*
 * Rendering the metrics into memory when the stream fails: the stream is
 * closed and nothing is left allocated (export once skipped fclose() when
 * prom_render() failed). Linked with
 * --wrap=open_memstream,--wrap=fclose: the stream handed out can be one
 * that fails every write (/dev/full, unbuffered), and closes are counted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "out/prom.h"

static bool failing;
static FILE *handed_out;
static int opened, closed;

FILE *__real_open_memstream(char **buf, size_t *len);
int __real_fclose(FILE *f);

FILE *__wrap_open_memstream(char **buf, size_t *len)
{
	FILE *f;

	if (!failing)
		return __real_open_memstream(buf, len);
	f = fopen("/dev/full", "w");
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	handed_out = f;
	opened += !!f;
	return f;
}

int __wrap_fclose(FILE *f)
{
	if (f && f == handed_out) {
		closed++;
		handed_out = NULL;
	}
	return __real_fclose(f);
}

static void fill(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->pool.nslabs = 32768;
	s->pool.flags = DMAW_POOL_OK;
	strcpy(s->devs[0].id.dev, "0000:00:02.0");
	s->devs[0].sw.maps[DMAW_DIR_TO_DEVICE] = 1;
	s->ndevs = 1;
}

static void test_render_text_works(void **state)
{
	static struct snapshot s;
	struct prom_health h = { .up = true, .version = "test" };
	char *text;
	size_t len;

	(void)state;
	fill(&s);
	failing = false;
	assert_int_equal(prom_render_text(&s, &h, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "dmawatch_up 1"));
	free(text);
}

static void test_failed_render_closes_its_stream(void **state)
{
	static struct snapshot s;
	struct prom_health h = { .up = true, .version = "test" };
	char *text = (char *)1;
	size_t len = 1;

	(void)state;
	fill(&s);
	failing = true;
	opened = closed = 0;
	assert_int_equal(prom_render_text(&s, &h, &text, &len), -EIO);
	failing = false;
	assert_int_equal(opened, 1);
	assert_int_equal(closed, 1);
	assert_null(text);
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_text_works),
		cmocka_unit_test(test_failed_render_closes_its_stream),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
