// SPDX-License-Identifier: GPL-2.0
/* enforce's arithmetic (family/enforce.h, user/enforce/enforce_disk.c) against
 * hand-computed cases: how a bio's pieces become segments and requests,
 * the slots swiotlb rounds each segment to, which policy fires, and the
 * limits --max-segment auto and --apply-queue-limits use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"

#include "enforce/enforce_disk.h"
#include "family/enforce.h"
#include "family/enforce_find.h"
#include "family/family.h"
#include "out/json.h"
#include "out/prom.h"
#include "out/report.h"
#include "top/canvas.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)

/* virtio-blk under swiotlb=512,force: segments up to virtio_max_dma_size()
 * (256 KiB), 254 of them, requests up to 1280 KiB, the header's and the
 * status's slot, a pool of 512 slots. */
static const struct dmaw_enf_rule virtio = {
	.policies = DMAW_ENF_NEVER_FIT,
	.pool_slots = 512,
	.extra_slots = 2,
	.align_mask = 0,
	.seg_max = 256 * KiB,
	.req_max_segs = 254,
	.req_max_bytes = 1280 * KiB,
};

/* n pieces of len bytes, contiguous with each other or not. */
static __u32 walk(const struct dmaw_enf_rule *r, struct dmaw_fit *f, int n, __u64 off, __u64 len,
		  int contiguous)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < n; i++)
		dmaw_fit_add(f, r, i && contiguous, off, len);
	return dmaw_fit_verdict(f, r, (__u64)n * len);
}

static void test_scattered_pages_split_by_segments(void **state)
{
	struct dmaw_fit f;

	(void)state;
	/* 1 MiB of 256 scattered 4 KiB pages: 254 segments (508 slots + 2)
	 * in one request, 2 (4 + 2) in the next: 510 fits 512. */
	assert_int_equal(walk(&virtio, &f, 256, 0, 4 * KiB, 0), 0);
	assert_int_equal(f.reqs, 2);
	assert_int_equal(f.worst_req_slots, 510);
	assert_int_equal(f.worst_seg_slots, 2);
	assert_int_equal(f.worst_seg_bytes, 4 * KiB);
	assert_int_equal(f.cut, 0);
}

static void test_contiguous_megabyte_never_fits(void **state)
{
	struct dmaw_fit f;

	(void)state;
	/* The same pages contiguous: merged into four 256 KiB segments of
	 * 128 slots, one request of 512 + 2 slots: more than the pool. */
	assert_int_equal(walk(&virtio, &f, 256, 0, 4 * KiB, 1), DMAW_ENF_NEVER_FIT);
	assert_int_equal(f.reqs, 1);
	assert_int_equal(f.worst_req_slots, 514);
	assert_int_equal(f.worst_seg_slots, 128);
	assert_int_equal(f.worst_seg_bytes, 256 * KiB);
	/* As one multi-page bvec: the same. */
	assert_int_equal(walk(&virtio, &f, 1, 0, 1 * MiB, 0), DMAW_ENF_NEVER_FIT);
	assert_int_equal(f.worst_req_slots, 514);
	/* 1020 KiB contiguous: 510 + 2 slots fit exactly. */
	assert_int_equal(walk(&virtio, &f, 255, 0, 4 * KiB, 1), 0);
	assert_int_equal(f.worst_req_slots, 512);
}

/* A pool that grows (CONFIG_SWIOTLB_DYNAMIC): the contiguous 1 MiB that
 * never fits 512 slots gets a transient pool there; a segment over 128
 * slots still fits no pool. */
static void test_growing_pool(void **state)
{
	struct dmaw_enf_rule r = virtio;
	struct dmaw_fit f;

	(void)state;
	r.pool_slots = DMAW_ENF_POOL_GROWS;
	assert_int_equal(walk(&r, &f, 256, 0, 4 * KiB, 1), 0);
	assert_int_equal(f.worst_req_slots, 514);
	r.seg_max = 4 * MiB;
	assert_int_equal(walk(&r, &f, 256, 0, 4 * KiB, 1), DMAW_ENF_NEVER_FIT);
	assert_int_equal(f.worst_seg_slots, 512);
}

static void test_requests_split_by_bytes(void **state)
{
	struct dmaw_enf_rule r = virtio;
	struct dmaw_fit f;

	(void)state;
	/* max_sectors_kb 256: 4 requests of one 256 KiB segment, 130 slots. */
	r.req_max_bytes = 256 * KiB;
	assert_int_equal(walk(&r, &f, 1, 0, 1 * MiB, 0), 0);
	assert_int_equal(f.reqs, 4);
	assert_int_equal(f.worst_req_slots, 130);
	/* A request boundary inside a segment: 384 KiB at 256 KiB requests
	 * is 256 + 128. */
	assert_int_equal(walk(&r, &f, 3, 0, 128 * KiB, 1), 0);
	assert_int_equal(f.reqs, 2);
	assert_int_equal(f.worst_req_slots, 130);
}

static void test_alignment_rounds_up(void **state)
{
	struct dmaw_enf_rule r = virtio;
	struct dmaw_fit f;

	(void)state;
	/* NVMe's min_align_mask 4095, inside a slot 2047: a 4 KiB piece at
	 * offset 512 keeps its 512 bytes: ceil(4608 / 2048) = 3 slots; at
	 * offset 2048 none: 2 slots; without a mask always 2. */
	r.align_mask = 2047;
	r.extra_slots = 0;
	walk(&r, &f, 1, 512, 4 * KiB, 0);
	assert_int_equal(f.worst_seg_slots, 3);
	walk(&r, &f, 1, 2048, 4 * KiB, 0);
	assert_int_equal(f.worst_seg_slots, 2);
	walk(&virtio, &f, 1, 512, 4 * KiB, 0);
	assert_int_equal(f.worst_seg_slots, 2);
	/* A 1-byte piece: one slot; 2049 bytes: two. */
	walk(&virtio, &f, 1, 0, 1, 0);
	assert_int_equal(f.worst_seg_slots, 1);
	walk(&virtio, &f, 1, 0, 2049, 0);
	assert_int_equal(f.worst_seg_slots, 2);
}

static void test_segment_over_the_mapping_limit(void **state)
{
	/* The lab module's disk with max_segment_size 4 MiB: a contiguous
	 * 1 MiB is one segment of 512 slots, which no mapping can have
	 * (128 at most): never-fit, and over --max-segment auto. */
	struct dmaw_enf_rule r = {
		.policies = DMAW_ENF_MAX_SEGMENT,
		.pool_slots = 32768,
		.seg_max = 4 * MiB,
		.req_max_segs = 254,
		.req_max_bytes = 1280 * KiB,
		.seg_cap = enf_map_limit(0),
	};
	struct dmaw_fit f;

	(void)state;
	assert_int_equal(walk(&r, &f, 256, 0, 4 * KiB, 1), DMAW_ENF_MAX_SEGMENT);
	assert_int_equal(f.worst_seg_bytes, 1 * MiB);
	assert_int_equal(f.worst_seg_slots, 512);
	r.policies |= DMAW_ENF_NEVER_FIT;
	assert_int_equal(walk(&r, &f, 256, 0, 4 * KiB, 1), DMAW_ENF_NEVER_FIT);
	/* Scattered pages stay 4 KiB segments: nothing fires. */
	assert_int_equal(walk(&r, &f, 256, 0, 4 * KiB, 0), 0);
	/* Exactly the cap passes, a byte more does not. */
	r.policies = DMAW_ENF_MAX_SEGMENT;
	assert_int_equal(walk(&r, &f, 1, 0, 256 * KiB, 0), 0);
	assert_int_equal(walk(&r, &f, 1, 0, 256 * KiB + 1, 0), DMAW_ENF_MAX_SEGMENT);
}

static void test_max_bytes(void **state)
{
	struct dmaw_enf_rule r = virtio;
	struct dmaw_fit f;

	(void)state;
	r.policies = DMAW_ENF_MAX_BYTES;
	r.bytes_cap = 64 * KiB;
	assert_int_equal(walk(&r, &f, 16, 0, 4 * KiB, 0), 0);
	assert_int_equal(walk(&r, &f, 17, 0, 4 * KiB, 0), DMAW_ENF_MAX_BYTES);
	/* No policy, no verdict, however large. */
	r.policies = 0;
	assert_int_equal(walk(&r, &f, 1, 0, 64 * MiB, 0), 0);
}

static void test_long_bvec_cut_by_small_segments(void **state)
{
	struct dmaw_enf_rule r = virtio;
	struct dmaw_fit f;

	(void)state;
	/* One 4 MiB bvec, 64 KiB segments: max_sectors_kb cuts it into
	 * four requests, the first three of 1280 KiB: 20 segments of 32
	 * slots, 640 + 2. */
	r.seg_max = 64 * KiB;
	assert_int_equal(walk(&r, &f, 1, 0, 4 * MiB, 0), DMAW_ENF_NEVER_FIT);
	assert_int_equal(f.reqs, 4);
	assert_int_equal(f.worst_req_slots, 642);
	assert_int_equal(f.worst_seg_bytes, 64 * KiB);
}

static void test_limits(void **state)
{
	(void)state;
	/* swiotlb_max_mapping_size(): 256 KiB, less whole slots a mask
	 * can skip. */
	assert_int_equal(enf_map_limit(0), 256 * KiB);
	assert_int_equal(enf_map_limit(4095), 256 * KiB - 4096);
	assert_int_equal(enf_map_limit(2047), 256 * KiB - 2048);
	/* A 512-slot pool: 512 KiB requests need 256 + 2 > 256 slots, so
	 * 256 KiB; a cap below that wins; a 64 MiB pool gives 32 MiB. */
	assert_int_equal(enf_fitting_kb(512, 2, 0), 256);
	assert_int_equal(enf_fitting_kb(512, 2, 128), 128);
	assert_int_equal(enf_fitting_kb(32768, 2, 0), 16384);
}

/* ---- the enforce family's view of an attached enforcer ---------------- */

#define VDA ((254u << 20) | 0)

static void attach(struct snapshot *s, __u32 mode, __u64 checked, __u64 never_fit)
{
	struct enf_found *x = SNAPSHOT_MINE(s, enforce);

	x->attached = 1;
	x->mode = mode;
	x->prog_id = 7;
	snprintf(x->prog, sizeof(x->prog), "%s",
		 mode == DMAW_ENF_DENY ? "enforce_deny" : "enforce_tp");
	x->ndisks = 1;
	snprintf(x->disks[0].name, sizeof(x->disks[0].name), "vda");
	x->disks[0].devt = VDA;
	x->disks[0].policies = DMAW_ENF_NEVER_FIT;
	x->disks[0].pool_slots = 512;
	x->disks[0].checked = checked;
	x->disks[0].hits[0] = never_fit;
}

static void test_view_nothing_without_an_enforcer(void **state)
{
	static struct snapshot s;
	struct prom_health h = { .up = true };
	const struct family *f = family_table[FAMILY_ID_enforce];
	struct canvas c = {};
	char *t = NULL, *p = NULL;
	struct json j;

	(void)state;
	CAPTURE(t, (json_init(&j, f_), report_json(&j, NULL, &s)));
	assert_null(strstr(t, "\"enforce\":{"));
	CAPTURE(p, prom_render(f_, &s, &h));
	assert_null(strstr(p, "dmawatch_enforce"));
	assert_int_equal(canvas_resize(&c, 4, 60), 0);
	assert_int_equal(f->view.top(&c, 0, NULL, &s), 0);
	free(t);
	free(p);
	free(c.ch);
	free(c.pt);
}

static void test_view_deny(void **state)
{
	static struct snapshot prev, cur, last;
	struct prom_health h = { .up = true };
	const struct family *f = family_table[FAMILY_ID_enforce];
	struct canvas c = {};
	char *t = NULL, *p = NULL, *x = NULL;
	struct json j;

	(void)state;
	prev.time_s = 1;
	cur.time_s = 3;
	attach(&prev, DMAW_ENF_DENY, 10, 1);
	attach(&cur, DMAW_ENF_DENY, 30, 2);
	CAPTURE(t, (json_init(&j, f_), report_json(&j, &prev, &cur)));
	assert_non_null(strstr(t, "\"enforce\":{\"mode\":\"deny\",\"program\":\"enforce_deny\","
				  "\"disks\":[{\"disk\":\"vda\",\"dev\":\"254:0\",\"checked\":30,"
				  "\"denied\":{\"never-fit\":2}}]}"));
	CAPTURE(x, report_text(f_, &prev, &cur));
	/* 20 bios in 2 s. */
	assert_non_null(strstr(x, "ENFORCE-DENY"));
	assert_non_null(strstr(
		x,
		"vda                    10         30            2            0            0\n"));
	/* Counters never go down while the same enforcer runs. */
	attach(&last, DMAW_ENF_DENY, 40, 3);
	prom_keep_monotonic(&cur, &last);
	CAPTURE(p, prom_render(f_, &cur, &h));
	assert_non_null(strstr(p, "\ndmawatch_enforce_checked_total{device=\"vda\"} 40\n"));
	assert_non_null(strstr(p, "# TYPE dmawatch_enforce_denied_total counter\n"));
	assert_non_null(strstr(
		p, "\ndmawatch_enforce_denied_total{device=\"vda\",policy=\"never-fit\"} 3\n"));
	assert_null(strstr(p, "audited_total"));
	assert_int_equal(canvas_resize(&c, 4, 60), 0);
	assert_int_equal(f->view.top(&c, 0, &prev, &cur), 1);
	assert_memory_equal(c.ch, "Enforce deny vda denied 3", 25);
	free(t);
	free(p);
	free(x);
	free(c.ch);
	free(c.pt);
}

static void test_view_audit(void **state)
{
	static struct snapshot s;
	struct prom_health h = { .up = true };
	char *p = NULL;

	(void)state;
	attach(&s, DMAW_ENF_AUDIT, 5, 1);
	CAPTURE(p, prom_render(f_, &s, &h));
	assert_non_null(strstr(
		p, "\ndmawatch_enforce_audited_total{device=\"vda\",policy=\"never-fit\"} 1\n"));
	assert_null(strstr(p, "denied_total"));
	free(p);
}

static void test_view_trace(void **state)
{
	static struct snapshot prev, cur;
	const struct family *f = family_table[FAMILY_ID_enforce];
	struct json j;
	struct trace_out t = { .json = true, .stack = false, .j = &j };
	struct dmaw_enf_event *ev;
	char *out = NULL;

	(void)state;
	attach(&prev, DMAW_ENF_AUDIT, 10, 1);
	attach(&cur, DMAW_ENF_AUDIT, 12, 3);
	ev = &((struct enf_found *)SNAPSHOT_MINE(&cur, enforce))->disks[0].last;
	ev->ts_ns = 2500000000ULL;
	ev->policy = DMAW_ENF_NEVER_FIT;
	ev->bytes = 1048576;
	ev->slots_needed = 514;
	ev->pool_slots = 512;
	ev->pid = 42;
	snprintf(ev->comm, sizeof(ev->comm), "dd");
	snprintf(ev->disk, sizeof(ev->disk), "vda");
	/* No first read, no news; then two decisions in one record. */
	CAPTURE(out, (json_init(&j, f_), f->view.trace(&t, NULL, &cur)));
	assert_string_equal(out, "");
	free(out);
	CAPTURE(out, (json_init(&j, f_), f->view.trace(&t, &prev, &cur)));
	assert_non_null(strstr(out,
			       "\"kind\":\"enforce-audit\",\"policy\":\"never-fit\",\"pid\":42,"
			       "\"comm\":\"dd\",\"disk\":\"vda\",\"size\":1048576,"
			       "\"slots_needed\":514,\"slots_total\":512,"));
	assert_non_null(strstr(out, "\"count\":2,"));
	free(out);
	/* Nothing new: nothing said. */
	CAPTURE(out, (json_init(&j, f_), f->view.trace(&t, &cur, &cur)));
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scattered_pages_split_by_segments),
		cmocka_unit_test(test_contiguous_megabyte_never_fits),
		cmocka_unit_test(test_growing_pool),
		cmocka_unit_test(test_requests_split_by_bytes),
		cmocka_unit_test(test_alignment_rounds_up),
		cmocka_unit_test(test_segment_over_the_mapping_limit),
		cmocka_unit_test(test_max_bytes),
		cmocka_unit_test(test_long_bvec_cut_by_small_segments),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_view_nothing_without_an_enforcer),
		cmocka_unit_test(test_view_deny),
		cmocka_unit_test(test_view_audit),
		cmocka_unit_test(test_view_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
