// SPDX-License-Identifier: GPL-2.0
/* The Prometheus text of `dmawatch export` (user/out/prom.c), from fabricated
 * snapshots: names, labels, values, histogram buckets, escaping, and
 * counters that never go down between two renders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "out/prom.h"

#define DEV "0000:00:01.0"
#define DEVL "device=\"" DEV "\",driver=\"virtio-pci\""

static const struct attach_note notes[] = {
	{ "swiotlb", "swiotlb_map", ATTACH_FENTRY, "" },
	{ "swiotlb", "swiotlb_map", ATTACH_KPROBE, "noted twice: the first stays" },
	{ "dmamap", "-", ATTACH_NONE, "left out by -F" },
	{ "pool", "used_hiwater", ATTACH_NONE, "" },
};

static struct prom_health health(void)
{
	struct prom_health h = {
		.up = true,
		.collected_at = 1717000000.25,
		.started_at = 1716999000,
		.version = "test",
		.nfamilies = 3,
		.families = { { "swiotlb", true }, { "dmamap", false }, { "pool", true } },
		.notes = notes,
		.nnotes = sizeof(notes) / sizeof(notes[0]),
	};
	return h;
}

static struct dev_snapshot *add_dev(struct snapshot *s, const char *name, const char *driver)
{
	struct dev_snapshot *d = &s->devs[s->ndevs++];

	memset(d, 0, sizeof(*d));
	strncpy(d->id.dev, name, sizeof(d->id.dev));
	strncpy(d->id.driver, driver, sizeof(d->id.driver));
	return d;
}

/* A virtio disk that bounced 4 KiB reads and 64 KiB writes, a virtqueue,
 * and the pool. */
static void fill(struct snapshot *s, unsigned long long k)
{
	struct dev_snapshot *d;
	struct vq_snapshot *v;

	memset(s, 0, sizeof(*s));
	s->pool.nslabs = 32768;
	s->pool.used = 512;
	s->pool.hiwater = 2048;
	s->pool.largest_free_run = 128;
	s->pool.flags = DMAW_POOL_OK;
	d = add_dev(s, DEV, "virtio-pci");
	d->sw.maps[DMAW_DIR_FROM_DEVICE] = 10 * k;
	d->sw.bytes[DMAW_DIR_FROM_DEVICE] = 10 * k * 4096;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 5 * k;
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = 5 * k * 65536;
	d->sw.size_hist[12] = 10 * k;             /* 4096 */
	d->sw.size_hist[16] = 5 * k;              /* 65536 */
	d->sw.size_hist[DMAW_HIST_SLOTS - 1] = k; /* clamped: >= 2^31 */
	d->sw.failures = k;
	d->sw.over_limit = 2 * k;
	d->sw.limit = 262144;
	d->sw.latency_hist[10] = 15 * k;
	d->sw.latency_ns = 15 * k * 1500;
	s->detail = true; /* as with --latency */
	d->api.never_fit = 3 * k;
	v = &s->vqs[s->nvqs++];
	strcpy(v->key.dev, "virtio0");
	strcpy(v->key.vq, "req.0");
	strcpy(v->st.names.dev, DEV);
	strcpy(v->st.names.driver, "virtio_blk");
	v->st.adds = 15 * k;
	v->st.failures[DMAW_VQ_ENOMEM] = 4 * k;
	v->st.never_fit_reqs = k;
	v->st.never_fit = 7 * k;
	s->event_drops = k;
}

static char *render(const struct snapshot *s, const struct prom_health *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(prom_render(f, s, h), 0);
	fclose(f);
	return buf;
}

/* The value of the sample whose name and labels are exactly `series`
 * (e.g. "dmawatch_up" or "name{a=\"b\"}"); fails the test if absent. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no sample %s", series);
	return -1;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static void test_names_labels_values(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char *t;

	(void)state;
	fill(&s, 1);
	t = render(&s, &h);
	assert_true(has_line(t, "dmawatch_bounce_bytes_total{" DEVL
				",direction=\"from_device\"} 40960"));
	assert_true(has_line(t, "dmawatch_bounce_bytes_total{" DEVL
				",direction=\"to_device\"} 327680"));
	assert_true(has_line(t, "dmawatch_bounce_mappings_total{" DEVL
				",direction=\"bidirectional\"} 0"));
	/* DMA_NONE is not a direction anything bounces in. */
	assert_null(strstr(t, "direction=\"none\""));
	assert_true(has_line(t, "dmawatch_map_failures_total{" DEVL "} 1"));
	assert_true(has_line(t, "dmawatch_over_limit_mappings_total{" DEVL "} 2"));
	assert_true(has_line(t, "dmawatch_never_fit_requests_total{" DEVL "} 3"));
	assert_true(has_line(t, "dmawatch_mapping_limit_bytes{" DEVL "} 262144"));
	assert_true(has_line(t, "dmawatch_pool_slots 32768"));
	assert_true(has_line(t, "dmawatch_pool_slots_used 512"));
	/* Neither the kernel's nor sampled at every mapping: a lower bound,
	 * under its own name. */
	assert_true(has_line(t, "dmawatch_pool_slots_most_seen 2048"));
	assert_null(strstr(t, "dmawatch_pool_slots_high_water"));
	assert_true(has_line(t, "dmawatch_pool_largest_free_run_slots 128"));
	assert_true(has_line(t, "dmawatch_virtqueue_submissions_total{device=\"virtio0\","
				"vq=\"req.0\",driver=\"virtio_blk\",dma_device=\"" DEV "\"} 15"));
	assert_true(has_line(t, "dmawatch_virtqueue_failures_total{device=\"virtio0\","
				"vq=\"req.0\",driver=\"virtio_blk\",dma_device=\"" DEV
				"\",reason=\"enomem\"} 4"));
	assert_true(has_line(t, "dmawatch_virtqueue_failures_total{device=\"virtio0\","
				"vq=\"req.0\",driver=\"virtio_blk\",dma_device=\"" DEV
				"\",reason=\"enospc\"} 0"));
	assert_true(has_line(t, "dmawatch_virtqueue_never_fit_requests_total{device=\"virtio0\","
				"vq=\"req.0\",driver=\"virtio_blk\",dma_device=\"" DEV "\"} 1"));
	assert_true(has_line(t, "dmawatch_virtqueue_never_fit_failures_total{device=\"virtio0\","
				"vq=\"req.0\",driver=\"virtio_blk\",dma_device=\"" DEV "\"} 7"));
	assert_true(has_line(t, "dmawatch_events_dropped_total 1"));
	assert_true(has_line(t, "dmawatch_last_collection_timestamp_seconds 1717000000.250"));
	assert_true(has_line(t, "dmawatch_probe_family_attached{family=\"dmamap\"} 0"));
	assert_true(has_line(t, "dmawatch_probe_family_attached{family=\"swiotlb\"} 1"));
	assert_true(has_line(t, "dmawatch_probe_attached{family=\"swiotlb\",hook=\"swiotlb_map\","
				"attach=\"fentry\"} 1"));
	assert_true(has_line(t, "dmawatch_probe_attached{family=\"pool\",hook=\"used_hiwater\","
				"attach=\"none\"} 0"));
	/* The second note of a hook and the "-" note add no series. */
	assert_null(strstr(t, "attach=\"kprobe\""));
	assert_null(strstr(t, "hook=\"-\""));
	/* No pid anywhere: label sets stay bounded. */
	assert_null(strstr(t, "pid="));
	free(t);
	/* Sampled after every mapping (-D): the high-water, dmawatch's own. */
	s.pool.flags |= DMAW_POOL_HIWATER_EVERY;
	t = render(&s, &h);
	assert_true(has_line(t, "dmawatch_pool_slots_high_water{source=\"dmawatch\"} 2048"));
	assert_null(strstr(t, "dmawatch_pool_slots_most_seen"));
	free(t);
}

/* Every sample belongs to a family announced by HELP and TYPE before it,
 * counters end in _total, and dmawatch_up is the last line. */
static void test_help_type_and_order(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char *t, *save = NULL, *copy;
	char family[128] = "", type[32] = "", help_for[128] = "";
	int samples = 0;
	const char *last = NULL;

	(void)state;
	fill(&s, 1);
	t = render(&s, &h);
	copy = strdup(t);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];
		size_t n;

		last = line;
		if (sscanf(line, "# HELP %127s", help_for) == 1)
			continue;
		if (sscanf(line, "# TYPE %127s %31s", family, type) == 2) {
			assert_string_equal(family, help_for);
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(family, "_total"));
			else
				assert_null(strstr(family, "_total"));
			continue;
		}
		n = strcspn(line, "{ ");
		assert_true(n < sizeof(name));
		memcpy(name, line, n);
		name[n] = 0;
		if (!strcmp(type, "histogram")) {
			size_t fl = strlen(family);

			assert_memory_equal(name, family, fl);
			assert_true(!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
				    !strcmp(name + fl, "_count"));
		} else {
			assert_string_equal(name, family);
		}
		samples++;
	}
	assert_true(samples > 50);
	assert_string_equal(last, "dmawatch_up 1");
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(copy);
	free(t);
}

static void test_histogram(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	unsigned long long prev = 0;
	char series[256];
	char *t;

	(void)state;
	fill(&s, 1);
	t = render(&s, &h);
	for (int i = 0; i < DMAW_HIST_SLOTS - 1; i++) {
		double v;

		snprintf(series, sizeof(series),
			 "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"%llu\"}",
			 (2ULL << i) - 1);
		v = value_of(t, series);
		assert_true(v >= prev); /* cumulative */
		prev = v;
	}
	/* A 4096-byte mapping (slot 12) is <= 8191, not <= 4095. */
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"4095\"}"),
			 0);
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"8191\"}"),
			 10);
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"131071\"}"),
			 15);
	/* The clamped last slot only counts under +Inf. */
	assert_int_equal(
		value_of(t, "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"2147483647\"}"), 15);
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_bucket{" DEVL ",le=\"+Inf\"}"),
			 16);
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_count{" DEVL "}"), 16);
	assert_int_equal(value_of(t, "dmawatch_mapping_size_bytes_sum{" DEVL "}"),
			 10 * 4096 + 5 * 65536);
	/* Latency in seconds: slot 10 holds 1024..2047 ns. */
	assert_int_equal(
		value_of(t, "dmawatch_map_duration_seconds_bucket{" DEVL ",le=\"1.023e-06\"}"), 0);
	assert_int_equal(
		value_of(t, "dmawatch_map_duration_seconds_bucket{" DEVL ",le=\"2.047e-06\"}"), 15);
	assert_float_equal(value_of(t, "dmawatch_map_duration_seconds_sum{" DEVL "}"), 15 * 1500e-9,
			   1e-12);
	assert_int_equal(prom_log2_le(0), 1);
	assert_int_equal(prom_log2_le(11), 4095);
	free(t);
}

/* Without --detail nothing timed the mappings, counted the syncs, the
 * releases or the page calls: those families are left out, not exported
 * as zeros; the rest stays. */
static void test_detail_left_out(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char *t;

	(void)state;
	fill(&s, 1);
	s.detail = false;
	t = render(&s, &h);
	assert_null(strstr(t, "dmawatch_map_duration_seconds"));
	assert_null(strstr(t, "dmawatch_bounce_sync_bytes_total"));
	assert_non_null(strstr(t, "# TYPE dmawatch_mapping_size_bytes histogram"));
	assert_null(strstr(t, "dmawatch_bounce_unmaps_total"));
	assert_null(strstr(t, "api=\"map_page\""));
	assert_non_null(strstr(t, "api=\"map_sg\""));
	assert_non_null(strstr(t, "dmawatch_map_failures_total"));
	free(t);
}

static void test_escaping(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char out[64], *t;

	(void)state;
	assert_string_equal(prom_label_value(out, sizeof(out), "a\"b\\c\nd", 64),
			    "a\\\"b\\\\c\\nd");
	/* Control and non-ASCII bytes cannot break a line or the UTF-8 rule. */
	assert_string_equal(prom_label_value(out, sizeof(out), "x\ty\r\xff", 64), "x?y??");
	/* Names need not be NUL-terminated within their array. */
	assert_string_equal(prom_label_value(out, sizeof(out), "abcdef", 3), "abc");
	/* An escape never gets cut in half. */
	assert_string_equal(prom_label_value(out, 4, "a\"b", 8), "a\\\"");
	assert_string_equal(prom_label_value(out, 3, "a\"b", 8), "a");

	memset(&s, 0, sizeof(s));
	add_dev(&s, "bad\"dev\\x\ny", "drv");
	t = render(&s, &h);
	assert_true(has_line(t, "dmawatch_map_failures_total{device=\"bad\\\"dev\\\\x\\ny\","
				"driver=\"drv\"} 0"));
	free(t);
}

/* Parses "series value" lines of a render into a small table. */
struct series_tab {
	size_t n;
	char key[400][256];
	double val[400];
};

static void parse(const char *text, struct series_tab *tab, const char *only_prefix)
{
	char *copy = strdup(text), *save = NULL;

	tab->n = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (line[0] == '#' || !sp || strncmp(line, only_prefix, strlen(only_prefix)))
			continue;
		assert_true(tab->n < 400);
		*sp = 0;
		snprintf(tab->key[tab->n], sizeof(tab->key[0]), "%s", line);
		tab->val[tab->n++] = strtod(sp + 1, NULL);
	}
	free(copy);
}

static bool is_counter_series(const char *key)
{
	return strstr(key, "_total") || strstr(key, "_bucket") || strstr(key, "_count{") ||
	       strstr(key, "_sum{");
}

static void test_monotonic(void **state)
{
	static struct snapshot first, second;
	static struct series_tab a, b;
	struct prom_health h = health();
	struct dev_snapshot *gone;
	char *t1, *t2;

	(void)state;
	fill(&first, 2);
	gone = add_dev(&first, "gone", "x");
	gone->sw.maps[DMAW_DIR_TO_DEVICE] = 9;
	t1 = render(&first, &h);

	/* Later, more traffic on the disk, but: one counter read lower, the
	 * "gone" row missing (row limits), a new device, a lower pool. */
	first.missed_runs[FAMILY_ID_swiotlb] = 4;
	fill(&second, 3);
	second.devs[0].sw.failures = 0;
	second.vqs[0].st.never_fit = 1;
	second.event_drops = 0;
	second.pool.used = 10;
	add_dev(&second, "new", "y")->sw.maps[DMAW_DIR_FROM_DEVICE] = 1;
	prom_keep_monotonic(&second, &first);
	t2 = render(&second, &h);

	parse(t1, &a, "dmawatch_");
	parse(t2, &b, "dmawatch_");
	for (size_t i = 0; i < a.n; i++) {
		bool found = false;

		if (!is_counter_series(a.key[i]))
			continue;
		for (size_t j = 0; j < b.n && !found; j++)
			if (!strcmp(a.key[i], b.key[j])) {
				found = true;
				if (b.val[j] < a.val[i])
					fail_msg("%s went down: %g -> %g", a.key[i], a.val[i],
						 b.val[j]);
			}
		if (!found)
			fail_msg("%s disappeared", a.key[i]);
	}
	/* Growth shows; a held counter keeps its old value. */
	assert_int_equal(value_of(t2, "dmawatch_bounce_bytes_total{" DEVL
				      ",direction=\"from_device\"}"),
			 30 * 4096);
	assert_int_equal(value_of(t2, "dmawatch_map_failures_total{" DEVL "}"), 2);
	assert_int_equal(value_of(t2, "dmawatch_events_dropped_total"), 2);
	/* Runs the kernel skipped, per family: held too. */
	assert_int_equal(value_of(t2, "dmawatch_probe_missed_runs_total{family=\"swiotlb\"}"), 4);
	assert_int_equal(value_of(t2, "dmawatch_probe_missed_runs_total{family=\"pool\"}"), 0);
	assert_int_equal(value_of(t2, "dmawatch_bounce_mappings_total{device=\"gone\",driver=\"x\","
				      "direction=\"to_device\"}"),
			 9);
	assert_int_equal(value_of(t2, "dmawatch_bounce_mappings_total{device=\"new\",driver=\"y\","
				      "direction=\"from_device\"}"),
			 1);
	/* Gauges are not held. */
	assert_int_equal(value_of(t2, "dmawatch_pool_slots_used"), 10);
	free(t1);
	free(t2);
}

/* A device removed and added again under its name: one series per name,
 * the departed device's counts added to its namesake's, so the series
 * never goes down and no label set appears twice; a departed device
 * without a namesake keeps its own series. */
static void test_departed_folded(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	struct dev_snapshot *d;
	char *t;

	(void)state;
	memset(&s, 0, sizeof(s));
	add_dev(&s, "nvme", "nvme")->sw.maps[DMAW_DIR_TO_DEVICE] = 5;
	add_dev(&s, "other", "x")->sw.maps[DMAW_DIR_TO_DEVICE] = 1;
	d = add_dev(&s, "nvme", "nvme");
	d->gone = true;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 40;
	d->sw.max_size = 65536;
	d = add_dev(&s, "left", "");
	d->gone = true;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 7;
	prom_fold_departed(&s);
	assert_int_equal(s.ndevs, 3);
	assert_int_equal(s.devs[0].sw.maps[DMAW_DIR_TO_DEVICE], 45);
	assert_int_equal(s.devs[0].sw.max_size, 65536);
	assert_string_equal(s.devs[2].id.dev, "left");
	t = render(&s, &h);
	assert_int_equal(value_of(t,
				  "dmawatch_bounce_mappings_total{device=\"nvme\",driver=\"nvme\","
				  "direction=\"to_device\"}"),
			 45);
	assert_int_equal(value_of(t, "dmawatch_bounce_mappings_total{device=\"left\",driver=\"\","
				     "direction=\"to_device\"}"),
			 7);
	free(t);

	/* A deleted virtqueue into the live one of its key. */
	memset(&s, 0, sizeof(s));
	strcpy(s.vqs[0].key.dev, "virtio0");
	strcpy(s.vqs[0].key.vq, "req.0");
	s.vqs[0].st.adds = 2;
	s.vqs[1] = s.vqs[0];
	s.vqs[1].st.adds = 30;
	s.vqs[1].gone = true;
	s.vqs[2] = s.vqs[1];
	strcpy(s.vqs[2].key.vq, "req.1");
	s.nvqs = 3;
	prom_fold_departed(&s);
	assert_int_equal(s.nvqs, 2);
	assert_int_equal(s.vqs[0].st.adds, 32);
	assert_string_equal(s.vqs[1].key.vq, "req.1");
}

static void test_pool_unreadable_and_empty(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char *t;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.pool.nslabs = 32768; /* read, but the scan did not succeed */
	h.up = false;
	t = render(&s, &h);
	assert_true(has_line(t, "dmawatch_pool_scan_ok 0"));
	assert_null(strstr(t, "dmawatch_pool_slots"));
	/* No device, no virtqueue: their families are left out, HELP and all. */
	assert_null(strstr(t, "dmawatch_bounce_bytes_total"));
	assert_null(strstr(t, "dmawatch_mapping_size_bytes"));
	assert_null(strstr(t, "dmawatch_virtqueue_"));
	assert_true(has_line(t, "dmawatch_events_dropped_total 0"));
	assert_int_equal(value_of(t, "dmawatch_up"), 0);
	assert_true(strlen(t) > 14 && !strcmp(t + strlen(t) - 14, "dmawatch_up 0\n"));
	free(t);
}

static void test_duplicate_rows(void **state)
{
	static struct snapshot s;
	struct prom_health h = health();
	char *t;
	const char *p;
	int n = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	add_dev(&s, "twin", "d")->sw.failures = 1;
	add_dev(&s, "twin", "d")->sw.failures = 2;
	t = render(&s, &h);
	/* A repeated label set would make node_exporter drop every textfile. */
	for (p = t; (p = strstr(p, "dmawatch_map_failures_total{device=\"twin\"")); p++)
		n++;
	assert_int_equal(n, 1);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_labels_values),
		cmocka_unit_test(test_help_type_and_order),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_detail_left_out),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_departed_folded),
		cmocka_unit_test(test_pool_unreadable_and_empty),
		cmocka_unit_test(test_duplicate_rows),
	};

	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
