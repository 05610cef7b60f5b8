// SPDX-License-Identifier: GPL-2.0
/* Snapshots: every row the BPF tables hold, rows merged by device name,
 * and the top of the process table taken from all of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/snapshot.h"

static void test_sum_percpu_keeps_names_and_adds_counters(void **state)
{
	struct dmaw_swiotlb_stats per[3] = {}, sum;

	(void)state;
	/* Only the CPU that first saw the device filled in its names. */
	strcpy(per[1].names.dev, "0000:00:01.0");
	strcpy(per[1].names.driver, "virtio-pci");
	per[0].maps[DMAW_DIR_TO_DEVICE] = 5;
	per[1].maps[DMAW_DIR_TO_DEVICE] = 7;
	per[2].bytes[DMAW_DIR_FROM_DEVICE] = 4096;
	per[2].size_hist[12] = 3;
	sum_percpu_u64(&sum, per, sizeof(per[0]), 3);
	assert_string_equal(sum.names.dev, "0000:00:01.0");
	assert_string_equal(sum.names.driver, "virtio-pci");
	assert_int_equal(sum.maps[DMAW_DIR_TO_DEVICE], 12);
	assert_int_equal(sum.bytes[DMAW_DIR_FROM_DEVICE], 4096);
	assert_int_equal(sum.size_hist[12], 3);
}

/* Room for every device both device families can hold, then counted. */
static void test_snapshot_dev_finds_and_bounds(void **state)
{
	static struct snapshot s;
	struct dmaw_names n = { .dev = "a", .driver = "virtio-pci" };

	(void)state;
	assert_ptr_equal(snapshot_dev(&s, &n, 1), snapshot_dev(&s, &n, 2));
	assert_string_equal(s.devs[0].id.driver, "virtio-pci");
	for (int i = 1; i < 2 * DMAW_MAX_DEVS; i++) {
		snprintf(n.dev, sizeof(n.dev), "d%d", i);
		assert_non_null(snapshot_dev(&s, &n, i));
	}
	assert_int_equal(s.rows_cut, 0);
	strcpy(n.dev, "one-too-many");
	assert_null(snapshot_dev(&s, &n, 9999));
	assert_int_equal(s.rows_cut, 1);
	assert_non_null(snapshot_find_dev(&s, "d5", false));
}

/* Devices whose dev_name() could not be read once all had the name "" and
 * overwrote each other's row. Each gets its own row, stable per key. */
static void test_unnamed_devices_keep_their_own_rows(void **state)
{
	static struct snapshot s;
	struct dmaw_names none = {};
	struct dev_snapshot *a, *b;

	(void)state;
	a = snapshot_dev(&s, &none, 0xffff888003a1c000ULL);
	a->sw.maps[DMAW_DIR_TO_DEVICE] += 3;
	b = snapshot_dev(&s, &none, 0xffff888003a1d000ULL);
	b->sw.maps[DMAW_DIR_TO_DEVICE] += 5;
	assert_ptr_not_equal(a, b);
	assert_int_equal(s.ndevs, 2);
	assert_string_not_equal(a->id.dev, b->id.dev);
	assert_memory_equal(a->id.dev, "unnamed-", 8);
	/* The same key again (the other family, the next read): same row. */
	assert_ptr_equal(snapshot_dev(&s, &none, 0xffff888003a1c000ULL), a);
	assert_int_equal(a->sw.maps[DMAW_DIR_TO_DEVICE], 3);
	assert_int_equal(b->sw.maps[DMAW_DIR_TO_DEVICE], 5);
}

/* A device removed while running: its record goes into one departed row
 * per name, both families' records of it count one departure, and every
 * snapshot gets the departed rows after the live ones, with the live
 * namesake told how many went before it. */
static void test_departed_rows(void **state)
{
	static struct departed d;
	static struct snapshot s;
	struct dmaw_names nvme = { .dev = "0000:00:04.0", .driver = "nvme" };
	struct dmaw_names other = { .dev = "0000:00:05.0" };
	struct dev_snapshot *row, *live;

	(void)state;
	row = departed_row(&d, &nvme, DEPARTED_SWIOTLB);
	row->sw.maps[DMAW_DIR_TO_DEVICE] += 10;
	assert_ptr_equal(departed_row(&d, &nvme, DEPARTED_DMAMAP), row);
	assert_true(row->gone);
	assert_int_equal(row->departures, 1); /* one device, two families */
	/* The same name again: a second device of that name left. */
	assert_ptr_equal(departed_row(&d, &nvme, DEPARTED_SWIOTLB), row);
	assert_int_equal(row->departures, 2);
	assert_int_equal(d.n, 1);
	assert_non_null(departed_row(&d, &other, DEPARTED_DMAMAP));
	assert_int_equal(d.n, 2);

	live = snapshot_dev(&s, &nvme, 0x1000);
	live->sw.maps[DMAW_DIR_TO_DEVICE] = 3;
	snapshot_add_departed(&s, &d);
	assert_int_equal(s.ndevs, 3);
	assert_int_equal(live->departures, 2);
	assert_false(live->gone);
	assert_ptr_equal(snapshot_find_dev(&s, "0000:00:04.0", false), live);
	row = (struct dev_snapshot *)snapshot_find_dev(&s, "0000:00:04.0", true);
	assert_non_null(row);
	assert_ptr_not_equal(row, live);
	assert_int_equal(row->sw.maps[DMAW_DIR_TO_DEVICE], 10);
	assert_string_equal(row->id.driver, "nvme");
	assert_null(snapshot_find_dev(&s, "0000:00:05.0", false));

	/* Full: counted, not kept. */
	for (int i = (int)d.n; i < DMAW_MAX_DEVS; i++) {
		snprintf(other.dev, sizeof(other.dev), "x%d", i);
		assert_non_null(departed_row(&d, &other, DEPARTED_SWIOTLB));
	}
	strcpy(other.dev, "one-too-many");
	assert_null(departed_row(&d, &other, DEPARTED_SWIOTLB));
	assert_int_equal(d.cut, 1);
	/* Said, not silent. */
	s.ndevs = 0;
	s.rows_cut = 0;
	snapshot_add_departed(&s, &d);
	assert_int_equal(s.rows_cut, 1);
}

/* The snapshot once kept the first 512 processes in hash order, so
 * after one 8 MiB writer and 3,000 short 4 KiB dd's the writer was gone
 * from top_processes while the BPF table still held it. */
static void test_top_processes_come_from_every_row(void **state)
{
	static struct snapshot s;
	struct proc_snapshot top[10];
	struct proc_snapshot *p;
	size_t n;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		p = snapshot_proc(&s);
		assert_non_null(p);
		p->pid = 1000 + i;
		strcpy(p->st.comm, "dd");
		p->st.maps = 1;
		p->st.bytes = 4096;
	}
	/* Last in the table's order, first by bytes. */
	p = snapshot_proc(&s);
	assert_non_null(p);
	p->pid = 999;
	strcpy(p->st.comm, "writer");
	p->st.maps = 32;
	p->st.bytes = 8 << 20;
	n = snapshot_top_procs(&s, top, 10);
	assert_int_equal(n, 10);
	assert_int_equal(top[0].pid, 999);
	assert_int_equal(top[0].st.bytes, 8 << 20);
	/* Ties in pid order: a stable list between refreshes. */
	assert_int_equal(top[1].pid, 1000);
	assert_int_equal(top[9].pid, 1008);
	assert_int_equal(s.rows_cut, 0);
}

/* The snapshot holds as many processes as the BPF table (the LRU's
 * max_entries), and says so when more come. */
static void test_process_rows_match_the_table(void **state)
{
	static struct snapshot s;

	(void)state;
	for (int i = 0; i < DMAW_MAX_PROCS; i++)
		assert_non_null(snapshot_proc(&s));
	assert_null(snapshot_proc(&s));
	assert_int_equal(s.rows_cut, 1);
	for (int i = 0; i < DMAW_MAX_VQS; i++)
		assert_non_null(snapshot_vq(&s));
	assert_null(snapshot_vq(&s));
	assert_int_equal(s.rows_cut, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_percpu_keeps_names_and_adds_counters),
		cmocka_unit_test(test_snapshot_dev_finds_and_bounds),
		cmocka_unit_test(test_unnamed_devices_keep_their_own_rows),
		cmocka_unit_test(test_departed_rows),
		cmocka_unit_test(test_top_processes_come_from_every_row),
		cmocka_unit_test(test_process_rows_match_the_table),
	};

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
