// SPDX-License-Identifier: GPL-2.0
/* The requeue family's pieces (family/requeue.c), from a fabricated part of
 * a snapshot: stat's JSON and table, the exporter's counters (which never
 * go down), dmatop's line; all through the outputs' family loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"

#include "family/requeue.h"
#include "out/prom.h"
#include "out/report.h"
#include "top/canvas.h"

#define VDA ((254u << 20) | 0)

static void add_disk(struct snapshot *s, const char *name, __u32 devt, __u64 n, __u64 bytes)
{
	struct dmaw_requeue_snap *m = SNAPSHOT_MINE(s, requeue);
	struct dmaw_requeue_disk *d = &m->disks[m->ndisks++];

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->devt = devt;
	d->requeues = n;
	d->bytes = bytes;
}

static void test_json_and_text(void **state)
{
	static struct snapshot prev, cur;
	struct json j;
	char *t = NULL, *x = NULL;

	(void)state;
	prev.time_s = 10;
	cur.time_s = 12;
	add_disk(&prev, "vda", VDA, 100, 409600);
	add_disk(&cur, "vda", VDA, 300, 1228800);
	CAPTURE(t, (json_init(&j, f_), report_json(&j, &prev, &cur)));
	assert_non_null(strstr(t, "\"requeues\":[{\"disk\":\"vda\",\"dev\":\"254:0\","
				  "\"requeues\":300,\"bytes\":1228800}]"));
	CAPTURE(x, report_text(f_, &prev, &cur));
	/* 200 requeues in 2 s. */
	assert_non_null(strstr(x, "REQUEUED-DISK"));
	assert_non_null(strstr(x, "vda                     300        100\n"));
	free(t);
	free(x);
}

static void test_nothing_without_disks(void **state)
{
	static struct snapshot s;
	struct prom_health h = { .up = true };
	char *t = NULL, *x = NULL;
	struct json j;
	char *p = NULL;

	(void)state;
	CAPTURE(t, (json_init(&j, f_), report_json(&j, NULL, &s)));
	assert_non_null(strstr(t, "\"requeues\":[]"));
	CAPTURE(x, report_text(f_, NULL, &s));
	assert_null(strstr(x, "REQUEUED"));
	CAPTURE(p, prom_render(f_, &s, &h));
	assert_null(strstr(p, "dmawatch_block_requeue"));
	free(t);
	free(x);
	free(p);
}

static void test_prom_monotonic(void **state)
{
	static struct snapshot last, cur;
	struct prom_health h = { .up = true };
	char *t = NULL;

	(void)state;
	add_disk(&last, "vda", VDA, 50, 5000);
	add_disk(&last, "vdb", VDA + 16, 7, 700);
	/* Read lower (a disk removed and added again), vdb missing. */
	add_disk(&cur, "vda", VDA, 40, 6000);
	prom_keep_monotonic(&cur, &last);
	CAPTURE(t, prom_render(f_, &cur, &h));
	assert_non_null(strstr(t, "# TYPE dmawatch_block_requeues_total counter\n"));
	assert_non_null(strstr(t, "\ndmawatch_block_requeues_total{disk=\"vda\"} 50\n"));
	assert_non_null(strstr(t, "\ndmawatch_block_requeued_bytes_total{disk=\"vda\"} 6000\n"));
	assert_non_null(strstr(t, "\ndmawatch_block_requeues_total{disk=\"vdb\"} 7\n"));
	free(t);
}

static void test_top_line_only_while_requeueing(void **state)
{
	static struct snapshot prev, cur;
	const struct family *f = family_table[FAMILY_ID_requeue];
	struct canvas c = {};

	(void)state;
	assert_int_equal(canvas_resize(&c, 4, 60), 0);
	prev.time_s = 1;
	cur.time_s = 2;
	add_disk(&prev, "vda", VDA, 10, 0);
	add_disk(&cur, "vda", VDA, 10, 0);
	assert_int_equal(f->view.top(&c, 0, &prev, &cur), 0);
	((struct dmaw_requeue_snap *)SNAPSHOT_MINE(&cur, requeue))->disks[0].requeues = 25;
	assert_int_equal(f->view.top(&c, 0, &prev, &cur), 1);
	assert_memory_equal(c.ch, "Requeue vda 15/s", 16);
	free(c.ch);
	free(c.pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_and_text),
		cmocka_unit_test(test_nothing_without_disks),
		cmocka_unit_test(test_prom_monotonic),
		cmocka_unit_test(test_top_line_only_while_requeueing),
	};

	return cmocka_run_group_tests_name("requeue", tests, NULL, NULL);
}
