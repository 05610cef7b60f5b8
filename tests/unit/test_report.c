// SPDX-License-Identifier: GPL-2.0
/* The arithmetic between the BPF maps and what stat, top and export print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "family/swiotlb_rates.h"
#include "out/fmt.h"
#include "out/report.h"

static void test_rates_over_an_interval(void **state)
{
	static struct snapshot prev, cur;
	struct dev_snapshot *p, *c;
	struct dev_rates r;

	(void)state;
	prev.time_s = 10;
	cur.time_s = 12;
	p = snapshot_dev(&prev, &(struct dmaw_names){ .dev = "vda" }, 1);
	c = snapshot_dev(&cur, &(struct dmaw_names){ .dev = "vda" }, 1);
	p->sw.maps[DMAW_DIR_TO_DEVICE] = 100;
	p->sw.bytes[DMAW_DIR_TO_DEVICE] = 409600;
	c->sw.maps[DMAW_DIR_TO_DEVICE] = 300;
	c->sw.bytes[DMAW_DIR_TO_DEVICE] = 1228800;
	c->sw.maps[DMAW_DIR_BIDI] = 2;
	c->sw.bytes[DMAW_DIR_BIDI] = 32;
	c->sw.failures = 4;
	dev_rates_between(&r, &prev, c, cur.time_s - prev.time_s);
	assert_true(r.maps_s == 101);                     /* 202 maps in 2 s */
	assert_true(r.to_dev_Bps == (819200 + 32) / 2.0); /* bidi counts both ways */
	assert_true(r.from_dev_Bps == 32 / 2.0);
	assert_true(r.fail_s == 2);
	assert_true(r.avg_size == (819200 + 32) / 202.0);
	/* A device absent before counts from zero; no previous: no rates. */
	dev_rates_between(&r, NULL, c, 2);
	assert_true(r.maps_s == 0);
}

/* A device removed and added again under its name: the departed row has
 * no rates, and the new device's rates count from 0, not from the old
 * device's counters (lower or higher). */
static void test_rates_across_a_departure(void **state)
{
	static struct snapshot prev, cur;
	struct dev_snapshot *p, *c, *g;
	struct dev_rates r;

	(void)state;
	prev.time_s = 10;
	cur.time_s = 12;
	p = snapshot_dev(&prev, &(struct dmaw_names){ .dev = "nvme" }, 1);
	p->sw.maps[DMAW_DIR_TO_DEVICE] = 100;
	c = snapshot_dev(&cur, &(struct dmaw_names){ .dev = "nvme" }, 2);
	c->sw.maps[DMAW_DIR_TO_DEVICE] = 150; /* more than the old one had */
	c->departures = 1;
	g = &cur.devs[cur.ndevs++];
	*g = *p;
	g->sw.maps[DMAW_DIR_TO_DEVICE] = 120;
	g->gone = true;
	g->departures = 1;
	dev_rates_between(&r, &prev, c, 2);
	assert_true(r.maps_s == 75); /* 150 since it appeared, not 50 */
	dev_rates_between(&r, &prev, g, 2);
	assert_true(r.maps_s == 0);
	/* The next interval: both rows have one departure. */
	c->departures = 1;
	prev = cur;
	cur.time_s = 14;
	cur.devs[0].sw.maps[DMAW_DIR_TO_DEVICE] = 170;
	dev_rates_between(&r, &prev, &cur.devs[0], 2);
	assert_true(r.maps_s == 10);
}

static void test_fmt_bytes(void **state)
{
	char buf[16];

	(void)state;
	fmt_bytes(buf, sizeof(buf), 512);
	assert_string_equal(buf, "512");
	fmt_bytes(buf, sizeof(buf), 4096);
	assert_string_equal(buf, "4.0K");
	fmt_bytes(buf, sizeof(buf), 262144);
	assert_string_equal(buf, "256K");
	fmt_bytes(buf, sizeof(buf), 1.5 * 1024 * 1024);
	assert_string_equal(buf, "1.5M");
}

/* Runs the kernel skipped are said, per family: in JSON always, in the
 * text only when there are some. */
static void test_missed_runs(void **state)
{
	static struct snapshot s;
	char want[256];
	char *t = NULL;
	size_t len = 0;
	struct json j;
	FILE *f;

	(void)state;
	f = open_memstream(&t, &len);
	assert_non_null(f);
	json_init(&j, f);
	report_json(&j, NULL, &s);
	report_text(f, NULL, &s);
	s.missed_runs[FAMILY_ID_requeue] = 4;
	report_json(&j, NULL, &s);
	report_text(f, NULL, &s);
	fclose(f);
	/* Every family of the table, in its order, 0 where none were missed. */
	want[0] = 0;
	for (size_t i = 0, off = 0; i < FAMILY_IDS; i++)
		off += snprintf(want + off, sizeof(want) - off, "%s\"%s\":0", i ? "," : "",
				family_table[i]->name);
	assert_non_null(strstr(t, "\"missed_runs\":{"));
	assert_non_null(strstr(strstr(t, "\"missed_runs\":{"), want));
	/* And the one that missed some, by its id. */
	assert_non_null(strstr(t, "\"requeue\":4"));
	assert_null(strstr(strstr(t, "\"requeue\":4") + 1, "\"requeue\":4"));
	/* Said once: by the second text report only. */
	assert_non_null(strstr(t, "\nrequeue: 4 calls not counted"));
	assert_null(strstr(strstr(t, "calls not counted") + 1, "calls not counted"));
	free(t);
}

/* Every place an event comes from has its name in trace's output: the
 * DMA API's tracepoint beside swiotlb_map, the list hook and the
 * virtqueue. */
static void test_event_source_names(void **state)
{
	(void)state;
	assert_string_equal(event_source_name(DMAW_SRC_SWIOTLB_MAP), "swiotlb_map");
	assert_string_equal(event_source_name(DMAW_SRC_DMA_MAP), "dma_map_page");
	assert_string_equal(event_source_name(DMAW_SRC_DMA_MAP_SG), "dma_map_sg");
	assert_string_equal(event_source_name(DMAW_SRC_VIRTQUEUE), "virtqueue_add");
	assert_string_equal(event_source_name(0), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_over_an_interval),
		cmocka_unit_test(test_rates_across_a_departure),
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_missed_runs),
		cmocka_unit_test(test_event_source_names),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
