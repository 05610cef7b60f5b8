// SPDX-License-Identifier: GPL-2.0
/* dmatop's model without a terminal: rows from snapshots (rates, the
 * never-fit requests of virtqueues, the share of the pool), filtering,
 * sorting, the event ring, the ranked processes and which of them are
 * shown; the device table as drawn; and the kind of guest from what the
 * kernel exposes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cc.h"
#include "top/canvas.h"
#include "top/top.h"
#include "top/topmodel.h"

static struct snapshot prev, cur;
static struct top_row rows[SNAP_MAX_DEVS + SNAP_MAX_VQS];

static struct dev_snapshot *dev(struct snapshot *s, const char *name, const char *driver)
{
	struct dmaw_names n = {};

	snprintf(n.dev, sizeof(n.dev), "%s", name);
	snprintf(n.driver, sizeof(n.driver), "%s", driver);
	return snapshot_dev(s, &n, (__u64)(uintptr_t)name);
}

/* Two disks and a NIC over 2 s; a virtqueue whose requests never fit. */
static int setup(void **state)
{
	struct dev_snapshot *d;
	struct vq_snapshot *v;

	(void)state;
	memset(&prev, 0, sizeof(prev));
	memset(&cur, 0, sizeof(cur));
	prev.time_s = 100;
	cur.time_s = 102;
	cur.pool.flags = DMAW_POOL_OK;
	cur.pool.nslabs = 1000;
	cur.pool.used = 300;
	cur.detail = true; /* the held share needs the releases */
	d = dev(&prev, "0000:00:02.0", "virtio-pci");
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = 1 << 20;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 256;
	d = dev(&cur, "0000:00:02.0", "virtio-pci");
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = 5 << 20; /* +4 MiB in 2 s */
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 1280;
	d->sw.max_size = 262144;
	d->sw.unmap_bytes = (5 << 20) - 200 * 2048; /* 200 slots held */
	d = dev(&cur, "0000:00:03.0", "virtio-pci");
	d->sw.bytes[DMAW_DIR_FROM_DEVICE] = 6 << 20; /* new: from zero */
	d->sw.maps[DMAW_DIR_FROM_DEVICE] = 96;
	d->sw.unmap_bytes = 6 << 20;
	d->sw.over_limit = 3;
	d = dev(&cur, "0000:00:04.0", "nvme");
	d->sw.failures = 10;
	d->api.never_fit = 1;
	v = snapshot_vq(&cur);
	strcpy(v->key.dev, "virtio1");
	strcpy(v->key.vq, "req.0");
	strcpy(v->st.names.dev, "0000:00:03.0");
	v->st.never_fit = 7;
	/* A queue whose DMA device bounced nothing: a row of its own. */
	v = snapshot_vq(&cur);
	strcpy(v->key.dev, "virtio2");
	strcpy(v->st.names.dev, "0000:00:05.0");
	v->st.never_fit = 2;
	return 0;
}

static const struct top_row *find(size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static void test_rows_rates_and_pool(void **state)
{
	size_t n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	const struct top_row *r;

	(void)state;
	assert_int_equal(n, 4);
	r = find(n, "0000:00:02.0");
	assert_non_null(r);
	assert_true(r->to_Bps == (4 << 20) / 2.0);
	assert_true(r->maps_s == 512);
	assert_true(r->avg_size == 4096);
	assert_int_equal(r->max_size, 262144);
	assert_true(r->pool_pct == 20.0); /* 200 of 1000 slots */
	r = find(n, "0000:00:03.0");
	assert_true(r->from_Bps == (6 << 20) / 2.0);
	assert_int_equal(r->over_limit, 3);
	assert_int_equal(r->never_fit, 7); /* its virtqueue's */
	assert_true(r->pool_pct == 0);
	r = find(n, "0000:00:04.0");
	assert_true(r->fail_s == 5);
	assert_int_equal(r->never_fit, 1);
	r = find(n, "0000:00:05.0");
	assert_non_null(r);
	assert_null(r->dev);
	assert_int_equal(r->never_fit, 2);
	/* No previous snapshot: no rates, but the counts. */
	n = top_rows(NULL, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	r = find(n, "0000:00:02.0");
	assert_true(r->to_Bps == 0);
	assert_int_equal(r->max_size, 262144);
	/* An unknown pool: no share. */
	cur.pool.flags = 0;
	n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	assert_true(find(n, "0000:00:02.0")->pool_pct < 0);
	/* A known pool, but no releases counted (no --detail): no share. */
	cur.pool.flags = DMAW_POOL_OK;
	cur.detail = false;
	n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	assert_true(find(n, "0000:00:02.0")->pool_pct < 0);
}

/* Devices and queues that left: not on the live view, and their counts
 * not added to a later device of the same name. */
static void test_gone_rows_left_out(void **state)
{
	struct dev_snapshot *d = &cur.devs[cur.ndevs++];
	struct vq_snapshot *v = snapshot_vq(&cur);
	const struct top_row *r;
	size_t n;

	(void)state;
	/* After the live rows, as the engine appends them. */
	*d = *snapshot_find_dev(&cur, "0000:00:02.0", false);
	d->gone = true;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 99999;
	d->sw.max_size = 1 << 20;
	d = &cur.devs[cur.ndevs++];
	memset(d, 0, sizeof(*d));
	strcpy(d->id.dev, "0000:00:09.0");
	d->gone = true;
	strcpy(v->key.dev, "virtio1");
	strcpy(v->key.vq, "req.0");
	strcpy(v->st.names.dev, "0000:00:03.0");
	v->st.never_fit = 100;
	v->gone = true;
	n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(n, 4);
	assert_null(find(n, "0000:00:09.0"));
	r = find(n, "0000:00:02.0");
	assert_int_equal(r->max_size, 262144);
	assert_true(r->maps_s == 512);
	assert_int_equal(find(n, "0000:00:03.0")->never_fit, 7);
}

static void test_filter(void **state)
{
	size_t n;

	(void)state;
	n = top_rows(&prev, &cur, "NVME", rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].name, "0000:00:04.0");
	n = top_rows(&prev, &cur, "00:03", rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(n, 1);
	n = top_rows(&prev, &cur, "", rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(n, 4);
	n = top_rows(&prev, &cur, "nothing-like-it", rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(n, 0);
	/* At most max rows. */
	assert_int_equal(top_rows(&prev, &cur, NULL, rows, 2), 2);
}

static void test_sorting(void **state)
{
	size_t n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));

	(void)state;
	top_sort_rows(rows, n, TOP_SORT_BYTES);
	assert_string_equal(rows[0].name, "0000:00:03.0"); /* 3 MiB/s beats 2 MiB/s */
	assert_string_equal(rows[1].name, "0000:00:02.0");
	/* Ties by name: stable frames. */
	assert_string_equal(rows[2].name, "0000:00:04.0");
	assert_string_equal(rows[3].name, "0000:00:05.0");
	top_sort_rows(rows, n, TOP_SORT_NEVER);
	assert_string_equal(rows[0].name, "0000:00:03.0");
	assert_string_equal(rows[1].name, "0000:00:05.0");
	top_sort_rows(rows, n, TOP_SORT_FAIL);
	assert_string_equal(rows[0].name, "0000:00:04.0");
	top_sort_rows(rows, n, TOP_SORT_POOL);
	assert_string_equal(rows[0].name, "0000:00:02.0");
	top_sort_rows(rows, n, TOP_SORT_NAME);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(rows[i - 1].name, rows[i].name) < 0);
	assert_string_equal(top_sort_name(TOP_SORT_TO), "TO/s");
}

static void test_selection_follows_the_device(void **state)
{
	size_t n = top_rows(&prev, &cur, NULL, rows, sizeof(rows) / sizeof(rows[0]));
	char selected[DMAW_DEV_NAME_LEN] = "0000:00:04.0";

	(void)state;
	top_sort_rows(rows, n, TOP_SORT_BYTES);
	assert_int_equal(top_find_selected(rows, n, selected), 2);
	top_sort_rows(rows, n, TOP_SORT_FAIL);
	assert_int_equal(top_find_selected(rows, n, selected), 0);
	/* Filtered away: the first row is the selection now. */
	n = top_rows(&prev, &cur, "virtio", rows, sizeof(rows) / sizeof(rows[0]));
	top_sort_rows(rows, n, TOP_SORT_BYTES);
	assert_int_equal(top_find_selected(rows, n, selected), 0);
	assert_string_equal(selected, "0000:00:03.0");
	assert_int_equal(top_find_selected(rows, 0, selected), 0);
	assert_string_equal(selected, "0000:00:03.0");
}

static void test_event_ring(void **state)
{
	static struct top_events e;
	struct timespec mono = { .tv_sec = 1000 }, real = { .tv_sec = 1700000000 };
	struct dmaw_event ev = {};

	(void)state;
	memset(&e, 0, sizeof(e));
	/* 2.5 s before the clocks were read, by CLOCK_MONOTONIC. */
	ev.ts_ns = 997500000000ULL;
	ev.kind = DMAW_EV_OVER_LIMIT;
	ev.stack_len = 64;
	memset(ev.dev, 'x', sizeof(ev.dev));
	top_events_add(&e, &ev, &mono, &real);
	assert_int_equal(e.n, 1);
	assert_true(top_event(&e, 0)->wall == 1700000000 - 2.5);
	assert_int_equal(top_event(&e, 0)->ev.stack_len, 0);
	assert_int_equal(strlen(top_event(&e, 0)->ev.dev), sizeof(ev.dev) - 1);
	assert_int_equal(e.by_kind[DMAW_EV_OVER_LIMIT], 1);
	/* Each kind is counted by kind; an unknown one (TOP_EVENT_KINDS) only
	 * in the total. */
	for (__u32 k = DMAW_EV_OVER_LIMIT; k <= TOP_EVENT_KINDS; k++) {
		ev.kind = k;
		top_events_add(&e, &ev, &mono, &real);
	}
	assert_int_equal(e.n, 1 + TOP_EVENT_KINDS);
	assert_int_equal(e.by_kind[DMAW_EV_OVER_LIMIT], 2);
	assert_int_equal(e.by_kind[DMAW_EV_VQ_FAILED], 1);
	/* The ring keeps the latest TOP_EVENT_RING. */
	assert_int_equal(top_events_oldest(TOP_EVENT_RING), 0);
	for (int i = 0; i < TOP_EVENT_RING; i++) {
		ev.size = i;
		top_events_add(&e, &ev, &mono, &real);
	}
	assert_int_equal(top_events_oldest(e.n), e.n - TOP_EVENT_RING);
	assert_int_equal(top_event(&e, e.n - 1)->ev.size, TOP_EVENT_RING - 1);
	assert_int_equal(top_event(&e, top_events_oldest(e.n))->ev.size, 0);
}

static void add_proc(struct snapshot *s, __u32 pid, const char *comm, __u64 bytes)
{
	struct proc_snapshot *p = snapshot_proc(s);

	p->pid = pid;
	snprintf(p->st.comm, sizeof(p->st.comm), "%s", comm);
	p->st.bytes = bytes;
}

static __u32 asked[8];
static size_t nasked;

/* Pids from 900 on have exited. */
static bool fake_exited(__u32 pid)
{
	if (nasked < sizeof(asked) / sizeof(asked[0]))
		asked[nasked] = pid;
	nasked++;
	return pid >= 900;
}

static void test_processes(void **state)
{
	static struct top_procs tp;

	(void)state;
	memset(&tp, 0, sizeof(tp));
	tp.exited = fake_exited;
	nasked = 0;
	add_proc(&prev, 100, "dd", 1 << 20);
	add_proc(&prev, 901, "gone", 1 << 20);
	add_proc(&prev, 300, "reused", 8 << 20);
	add_proc(&cur, 100, "dd", 5 << 20);     /* +4 MiB in 2 s */
	add_proc(&cur, 200, "new", 2 << 20);    /* +2 MiB: from zero */
	add_proc(&cur, 901, "gone", 1 << 20);   /* nothing, and exited */
	add_proc(&cur, 300, "reused", 3 << 20); /* went back: another process */
	add_proc(&cur, 400, "idle", 0);
	top_procs_rank(&tp, &prev, &cur);
	assert_int_equal(tp.n, 5);
	/* By the interval's bytes, then since start. */
	assert_int_equal(tp.rank[0].p.pid, 100);
	assert_true(tp.Bps[0] == (4 << 20) / 2.0);
	assert_int_equal(tp.rank[1].p.pid, 200);
	assert_int_equal(tp.rank[2].p.pid, 300);
	assert_true(tp.Bps[2] == 0);
	assert_int_equal(tp.rank[3].p.pid, 901);
	assert_int_equal(tp.rank[4].p.pid, 400);
	/* Only the idle are asked about, once each per ranking. */
	assert_true(top_proc_shown(&tp, 0));
	assert_true(top_proc_shown(&tp, 2));
	assert_false(top_proc_shown(&tp, 3));
	assert_false(top_proc_shown(&tp, 3));
	assert_int_equal(nasked, 2);
	assert_int_equal(asked[0], 300);
	assert_int_equal(asked[1], 901);
	/* A pid found gone is not asked about again. */
	top_procs_rank(&tp, &prev, &cur);
	assert_false(top_proc_shown(&tp, 3));
	assert_true(top_proc_shown(&tp, 4));
	assert_int_equal(nasked, 3);
	assert_int_equal(asked[2], 400);
	/* Without a previous snapshot: since start only, no rates. */
	top_procs_rank(&tp, NULL, &cur);
	assert_int_equal(tp.rank[0].p.pid, 100);
	assert_int_equal(tp.rank[1].p.pid, 300);
	assert_true(tp.Bps[0] == 0);
}

/* The row of canvas c that starts with text, or -1. */
static int row_starting(const struct canvas *c, const char *text)
{
	for (int y = 0; y < c->rows; y++)
		if (!strncmp(&c->ch[y * c->cols], text, strlen(text)))
			return y;
	return -1;
}

/* Each number ends under the end of its column's header. */
static void test_device_table(void **state)
{
	struct top *t = calloc(1, sizeof(*t));
	int y;

	(void)state;
	assert_non_null(t);
	t->prev = &prev;
	t->cur = &cur;
	t->have_prev = t->have_cur = true;
	snprintf(t->selected, sizeof(t->selected), "0000:00:02.0");
	assert_int_equal(canvas_resize(&t->cv, 24, 80), 0);
	top_draw_screen(t, &t->cv);
	y = row_starting(&t->cv, "DEVICE");
	assert_true(y > 0);
	assert_memory_equal(&t->cv.ch[y * 80],
			    "DEVICE       DRIVER      TO/s* FROM/s* MAPS/s  AVG  MAX"
			    "  FAIL/s OVER NOFIT POOL%",
			    80);
	assert_memory_equal(&t->cv.ch[(y + 1) * 80],
			    "0000:00:03.0 virtio-pci     0    3.0M      48  64K    0"
			    "       0    3     7   0.0",
			    80);
	assert_int_equal(t->cv.pt[y * 80 + 29], P_SORT);         /* TO/s's marker */
	assert_int_equal(t->cv.pt[(y + 1) * 80 + 67], P_WARN);   /* OVER */
	assert_int_equal(t->cv.pt[(y + 1) * 80 + 73], P_BAD);    /* NOFIT */
	assert_int_equal(t->cv.pt[(y + 1) * 80 + 62], P_NORMAL); /* no failure */
	assert_int_equal(t->cv.pt[(y + 2) * 80], P_SEL);
	canvas_free(&t->cv);
	assert_null(t->cv.ch);
	assert_null(t->cv.pt);
	assert_int_equal(t->cv.rows, 0);
	free(t);
}

static void test_guest_kind(void **state)
{
	struct cc_state cc;

	(void)state;
	cc_parse(&cc, "vendor_id\t: GenuineIntel\nflags\t\t: fpu tdx_guest sse\n",
		 "BOOT_IMAGE=/vmlinuz root=/dev/vda1", -1, false);
	assert_int_equal(cc.kind, CC_TDX);
	assert_false(cc.forced);
	cc_parse(&cc, "flags\t: fpu hypervisor\n", "quiet swiotlb=524288,force", 5, false);
	assert_int_equal(cc.kind, CC_SEV_SNP); /* MSR bits: SEV + SNP */
	assert_string_equal(cc.source, "SEV status MSR");
	assert_true(cc.forced);
	assert_string_equal(cc.swiotlb_arg, "524288,force");
	cc_parse(&cc, "flags\t: fpu hypervisor sev sev_es\n", "xen_swiotlb=force", -1, false);
	assert_int_equal(cc.kind, CC_SEV_ES);
	assert_true(cc.hint);
	assert_false(cc.forced); /* xen_swiotlb= is another option */
	cc_parse(&cc, "flags\t: fpu\n", "swiotlb=noforce", -1, true);
	assert_int_equal(cc.kind, CC_SEV_SNP);
	assert_true(cc.noforce);
	cc_parse(&cc, NULL, NULL, -1, false);
	assert_int_equal(cc.kind, CC_NONE);
	assert_string_equal(cc_name(cc.kind), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rows_rates_and_pool, setup),
		cmocka_unit_test_setup(test_gone_rows_left_out, setup),
		cmocka_unit_test_setup(test_filter, setup),
		cmocka_unit_test_setup(test_sorting, setup),
		cmocka_unit_test_setup(test_selection_follows_the_device, setup),
		cmocka_unit_test(test_event_ring),
		cmocka_unit_test_setup(test_processes, setup),
		cmocka_unit_test_setup(test_device_table, setup),
		cmocka_unit_test(test_guest_kind),
	};

	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
