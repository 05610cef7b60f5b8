// SPDX-License-Identifier: GPL-2.0
/*
 * This file judges the facts alone, one rule per failure mode: the pool
 * exhausted or fragmented, a mapping over the limit, a request that never
 * fits, a device that bypasses the DMA API, a leak, implausible debugfs
 * figures, refusals that could not be read, a healthy pool (the verdicts
 * dmawatch-diagnose(8) lists). It runs every rule, diag_rules_log.c's
 * too, and orders the report, the most severe first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/diag_rules_internal.h"
#include "diagnose/diagnose.h"
#include "enforce/enforce_disk.h"

/* virtio-blk maps a request's 16-byte header and 1-byte status beside its
 * data (virtblk_add_req()): two slots more than the data needs. */
#define REQ_EXTRA_SLOTS 2

const char *diag_severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "info";
}

static bool used_plausible(const struct diag_pool *p)
{
	return p->have_used && p->used != UINT64_MAX && (!p->have_total || p->used <= p->total);
}

/* The first and the last line of one kind, as the kernel printed them. */
static void full_evidence(struct diag_finding *f, const struct diag_fulls *k)
{
	diag_evidence(f, "%s", k->first_line);
	if (k->lines > 1)
		diag_evidence(f, "%s (the last of %u)", k->last_line, k->lines);
}

static void judge_implausible(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	struct diag_finding *f;

	if (!p->have_used || used_plausible(p))
		return;
	f = diag_add(
		r, "implausible-debugfs", DIAG_WARNING, NULL,
		"debugfs reports an impossible slot count: the kernel's used counter is broken");
	diag_evidence(f, "io_tlb_used = %" PRIu64, p->used);
	if (p->have_total)
		diag_evidence(f, "io_tlb_nslabs = %" PRIu64, p->total);
	diag_remedy(f,
		    "a kernel bug (the used count went below zero; fixed upstream by \"swiotlb: do "
		    "not set total_used to 0\"): update the kernel; until then read the pool from "
		    "'dmawatch stat' (its slot scan), not io_tlb_used");
	diag_remedy_class(f, "update-kernel", 0);
}

static void judge_bypass(const struct diag_facts *x, struct diag_report *r)
{
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		struct diag_finding *f;

		if (d->must_provide_platform) {
			f = diag_add(
				r, "virtio-no-access-platform", DIAG_ERROR, d->name,
				"%s (%s) was refused: the host did not offer VIRTIO_F_ACCESS_PLATFORM",
				d->virtio, d->virtio_driver[0] ? d->virtio_driver : d->name);
			diag_evidence(f, "%s", d->platform_line);
			if (x->env.cc_active)
				diag_evidence(
					f,
					"a %s guest: the device cannot reach its memory without "
					"the DMA API",
					x->env.cc);
		} else if (d->access_platform == 0 && (x->env.cc_active || x->env.forced)) {
			f = diag_add(
				r, "dma-api-bypass", x->env.cc_active ? DIAG_ERROR : DIAG_WARNING,
				d->name,
				x->env.cc_active ?
					"%s (%s) bypasses the DMA API in a confidential guest: the host cannot "
					"see its buffers" :
					"%s (%s) bypasses the DMA API and SWIOTLB: in a confidential guest "
					"it would not work",
				d->virtio, d->virtio_driver[0] ? d->virtio_driver : "virtio");
			diag_evidence(f,
				      "/sys/bus/virtio/devices/%s/features: bit 33 "
				      "(VIRTIO_F_ACCESS_PLATFORM) is 0",
				      d->virtio);
			if (x->env.forced)
				diag_evidence(f, "swiotlb=%s: every other device bounces",
					      x->env.swiotlb_arg);
		} else {
			continue;
		}
		diag_remedy(f,
			    "on the host, give the device iommu_platform=on (QEMU -device ...,"
			    "iommu_platform=on; libvirt <driver iommu='on'/>; a vhost-user backend "
			    "such as virtiofsd must offer the feature too)");
		diag_remedy_class(f, "host-config", 0);
	}
}

/* Can a request of the disk's max_sectors_kb ever get its slots? Not
 * where the pool grows: a mapping that finds no room gets a transient pool
 * and the worker adds one (CONFIG_SWIOTLB_DYNAMIC, swiotlb_find_slots()). */
static bool never_fits(const struct diag_facts *x, const struct diag_dev *d, uint64_t *req_slots)
{
	uint64_t total = diag_pool_total(x);

	*req_slots =
		diag_sat_add(diag_slots(diag_sat_mul(d->max_sectors_kb, 1024)), REQ_EXTRA_SLOTS);
	return d->disk[0] && d->max_sectors_kb && total && *req_slots > total && !x->pool.grows;
}

/* The largest power-of-two max_sectors_kb whose requests fit half the
 * pool (room for a second request in flight). */
static uint64_t fitting_kb(uint64_t total)
{
	return enf_fitting_kb(total, REQ_EXTRA_SLOTS,
			      0); /* what enforce --apply-queue-limits sets */
}

static void judge_never_fit(const struct diag_facts *x, struct diag_report *r)
{
	uint64_t total = diag_pool_total(x);

	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		bool seen = d->full_lines || d->w_never_fit || (d->inflight && x->ntasks);
		struct diag_finding *f;
		uint64_t req, target;

		if (!never_fits(x, d, &req))
			continue;
		f = diag_add(
			r, "never-fits", seen ? DIAG_ERROR : DIAG_WARNING, d->name,
			seen ? "%s: requests larger than the pool never fit: IO on it hangs" :
			       "%s: a request of max_sectors_kb would never fit the pool: IO of that size "
			       "would hang",
			d->disk);
		diag_evidence(f,
			      "/sys/block/%s/queue/max_sectors_kb = %" PRIu64
			      " (a request of up to %" PRIu64 " slots with its header and status)",
			      d->disk, d->max_sectors_kb, req);
		diag_evidence(f, "the pool has %" PRIu64 " slots (%s)", total, SIZE(total));
		for (int k = 0; k < FULL_KINDS; k++)
			if (d->full[k].lines)
				full_evidence(f, &d->full[k]);
		if (d->w_never_fit)
			diag_evidence(
				f,
				"live: %" PRIu64 " submissions of %" PRIu64 " requests failed: "
				"%" PRIu64 " bytes need more slots than the pool has (last by %s)",
				d->w_never_fit, d->w_never_fit_reqs, d->w_never_fit_size,
				d->w_never_fit_comm);
		if (d->inflight)
			diag_evidence(f,
				      "/sys/block/%s/inflight: %" PRIu64 " requests in flight now",
				      d->disk, d->inflight);
		target = diag_grown_pool(diag_sat_mul(req, 2), total);
		if (target && target >= diag_sat_mul(req, 2))
			diag_remedy(f,
				    "echo %" PRIu64
				    " > /sys/block/%s/queue/max_sectors_kb (or a pool "
				    "of at least swiotlb=%" PRIu64 ")",
				    fitting_kb(total), d->disk, diag_pow2_up(diag_sat_mul(req, 2)));
		else
			diag_remedy(f, "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb",
				    fitting_kb(total), d->disk);
		diag_remedy_class(f, "limit-requests", 0);
	}
}

/* The driver, else the bus, for " (driver)" after a device's name: a
 * pasted refusal may name neither. */
static const char *driver_name(const struct diag_dev *d)
{
	return d->driver[0] ? d->driver : d->bus;
}

static void judge_over_limit(const struct diag_facts *x, struct diag_report *r)
{
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		const struct diag_fulls *k = &d->full[FULL_OVER_LIMIT];
		uint64_t size = k->lines ? k->max.size : d->w_over_limit_size;
		uint64_t limit = d->limit ? d->limit : DIAG_MAX_MAPPING;
		const char *drv = driver_name(d);
		struct diag_finding *f;

		if (!k->lines && !d->w_over_limit)
			continue;
		f = diag_add(r, "over-limit", DIAG_ERROR, d->name,
			     "%s%s%s%s maps %" PRIu64 " bytes at once, over the %" PRIu64
			     "-byte limit: a bigger pool cannot help",
			     d->name, drv[0] ? " (" : "", drv, drv[0] ? ")" : "", size, limit);
		if (k->lines) {
			full_evidence(f, k);
			if (k->max.totals)
				diag_evidence(f,
					      "the pool had %" PRIu64 " of %" PRIu64
					      " slots in use: "
					      "not the cause",
					      k->max.used, k->max.total);
		}
		if (d->limit_why[0])
			diag_evidence(f,
				      "the limit is 128 slots of 2 KiB less the device's alignment "
				      "(%s)",
				      d->limit_why);
		if (d->w_over_limit)
			diag_evidence(f,
				      "live: %" PRIu64 " mappings over the limit (largest %" PRIu64
				      " bytes)",
				      d->w_over_limit, d->w_max_size);
		if (d->disk[0] && d->max_segment_size > limit)
			diag_evidence(f,
				      "/sys/block/%s/queue/max_segment_size = %" PRIu64
				      " (more than one mapping may hold)",
				      d->disk, d->max_segment_size);
		if (!d->disk[0] && d->log_disk[0])
			diag_evidence(f, "the request was %s's: %s", d->log_disk, d->log_disk_line);
		if (d->disk[0] || d->log_disk[0]) {
			diag_remedy(f,
				    "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb (no "
				    "request, so no segment, over the limit); %s%s must honour "
				    "dma_max_mapping_size()",
				    limit >> 10, d->disk[0] ? d->disk : d->log_disk,
				    d->driver[0] ? "the driver " : "its driver", d->driver);
			diag_remedy_class(f, "limit-requests", 0);
		} else {
			diag_remedy(f,
				    "%s%s must split its mappings at dma_max_mapping_size() "
				    "(%" PRIu64
				    " here): update or fix it; a larger swiotlb= does not "
				    "help",
				    d->driver[0] ? "the driver " : "its driver", d->driver, limit);
			diag_remedy_class(f, "fix-driver", 0);
		}
	}
}

static bool explained(const struct diag_facts *x, const struct diag_dev *d)
{
	uint64_t req;

	return never_fits(x, d, &req);
}

/* Is a refusal's pool a device tree's restricted-dma-pool? */
static bool restricted(const struct diag_pool *p, const struct diag_full *f)
{
	return f->totals && diag_restricted_total(p, f->total);
}

/* The pool's high-water, when the kernel keeps one: 7.x keeps none unless
 * asked (it reads 0, or whatever was last written), so a figure below what
 * was seen in use is no figure. */
static bool hiwater_kept(const struct diag_facts *x, uint64_t seen_used)
{
	const struct diag_pool *p = &x->pool;

	return p->have_hiwater && p->hiwater >= seen_used &&
	       (!used_plausible(p) || p->hiwater >= p->used);
}

static void judge_pool(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	uint64_t total = diag_pool_total(x), need = 0, seen_used = 0, free_now;
	const struct diag_dev *no_room = NULL, *unsized = NULL, *frag = NULL;
	const struct diag_full *worst = NULL;
	unsigned lines = 0;
	struct diag_finding *f;
	bool busy_now, known_now, in_restricted = false;

	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];

		if (explained(x, d))
			continue;
		const struct diag_fulls *k = &d->full[FULL_NO_ROOM];

		if (k->lines) {
			uint64_t n = diag_sat_add(k->max.used, diag_slots(k->max.size));

			no_room = no_room ? no_room : d;
			lines += k->lines;
			need = n > need ? n : need;
			seen_used = k->max.used > seen_used ? k->max.used : seen_used;
			if (!worst || k->max.used > worst->used)
				worst = &k->max;
			in_restricted |= restricted(p, &k->max);
		}
		if (d->full[FULL_UNSIZED].lines) {
			unsized = unsized ? unsized : d;
			lines += d->full[FULL_UNSIZED].lines;
		}
		if (d->full[FULL_FRAGMENTED].lines && !frag)
			frag = d;
	}
	if (in_restricted && worst)
		total = worst->total;
	if (hiwater_kept(x, seen_used) && p->hiwater > need)
		need = p->hiwater;
	/* 90 % or more in use, now or in the window. */
	known_now = used_plausible(p) || x->window.ran;
	busy_now = (used_plausible(p) && total && p->used >= total - total / 10) ||
		   (x->window.ran && total && x->window.used_max >= total - total / 10);
	if (no_room || unsized) {
		const struct diag_dev *d = no_room ? no_room : unsized;

		f = diag_add(
			r, "pool-exhausted", busy_now || !known_now ? DIAG_ERROR : DIAG_WARNING,
			NULL,
			busy_now ?
				"the SWIOTLB pool is full: mappings that fit the limit are refused" :
			known_now ?
				"the SWIOTLB pool ran out, then recovered: mappings were refused "
				"for a while" :
				"the SWIOTLB pool ran out: mappings that fit the limit were refused");
		full_evidence(f, &d->full[no_room ? FULL_NO_ROOM : FULL_UNSIZED]);
		if (worst)
			diag_evidence(f,
				      "%" PRIu64 " of %" PRIu64 " slots in use (%.2f%%), %" PRIu64
				      " free%s%s",
				      worst->used, worst->total,
				      worst->total ? 100.0 * worst->used / worst->total : 0.0,
				      worst->used < worst->total ? worst->total - worst->used : 0,
				      p->areas ? " in " : "", p->areas ? "areas of the pool" : "");
		else
			diag_evidence(f, "this kernel's line gives no totals: a refusal within the "
					 "limit is a pool out of room");
		if (lines > d->full[no_room ? FULL_NO_ROOM : FULL_UNSIZED].lines)
			diag_evidence(f, "%u refusals for lack of room, all devices", lines);
		if (x->log.suppressed)
			diag_evidence(f,
				      "and %" PRIu64 " more the rate limit did not print "
				      "(\"callbacks suppressed\")",
				      x->log.suppressed);
		if (used_plausible(p) && total) {
			free_now = p->used < total ? total - p->used : 0;
			diag_evidence(f,
				      "io_tlb_used = %" PRIu64 " of io_tlb_nslabs = %" PRIu64 " now"
				      " (%" PRIu64 " free)",
				      p->used, total, free_now);
		}
		if (p->have_hiwater && hiwater_kept(x, seen_used))
			diag_evidence(f, "io_tlb_used_hiwater = %" PRIu64, p->hiwater);
		else if (p->have_hiwater)
			diag_evidence(f,
				      "io_tlb_used_hiwater reads %" PRIu64
				      ", below what was in use: "
				      "this kernel keeps no high-water, so it is not used",
				      p->hiwater);
		if (p->total_grew || p->have_transient)
			diag_evidence(
				f, "the pool grew at run time (CONFIG_SWIOTLB_DYNAMIC) and still "
				   "refused: no memory for a new pool at that moment");
		if (in_restricted) {
			diag_evidence(f, "%s", p->restricted[0]);
			diag_remedy(
				f,
				"the device's own restricted-dma-pool is full: enlarge its "
				"reserved-memory node (size) in the device tree; swiotlb= sizes only "
				"the default pool");
			diag_remedy_class(f, "restricted-pool", 0);
		} else {
			/* A refusal from a full pool shows what was in use, not
			 * what was wanted; and a pool that stays full is as
			 * likely a driver that never unmaps. */
			bool full = worst && worst->total &&
				    worst->used >= worst->total - worst->total / 100;

			diag_grow_remedy(
				x, f, need, total,
				full ? "; at least that: a full pool hides how much more "
				       "was wanted. A pool that stays full with no I/O in "
				       "flight is a driver that never unmaps, which no size "
				       "cures ('dmawatch --detail stat': a device whose "
				       "maps outrun its unmaps)" :
				       "");
		}
	}
	if (frag) {
		const struct diag_fulls *k = &frag->full[FULL_FRAGMENTED];
		uint64_t areas = p->areas ? p->areas : 1;

		f = diag_add(
			r, "fragmented", DIAG_WARNING, frag->name,
			"%s was refused while the pool had room: the free slots were not contiguous",
			frag->name);
		full_evidence(f, k);
		diag_evidence(f, "needed %" PRIu64 " slots, %" PRIu64 " of %" PRIu64 " free",
			      diag_slots(k->last.size), k->last.total - k->last.used,
			      k->last.total);
		if (!frag->limit_why[0] && k->max.size > DIAG_MAX_MAPPING - 2 * DIAG_SLOT)
			diag_evidence(
				f,
				"%" PRIu64 " bytes is within 262144, but over 258048: if the "
				"driver sets a min_align_mask (NVMe, Hyper-V do), it is over its "
				"limit",
				k->max.size);
		diag_evidence(f,
			      "a mapping takes contiguous slots within one 128-slot segment of one "
			      "of the %" PRIu64 " area%s; %" PRIu64 " free is more than %" PRIu64
			      " segments' worth",
			      areas, areas > 1 ? "s" : "", k->last.total - k->last.used, areas);
		if (x->window.ran)
			diag_evidence(f,
				      "live: at worst %" PRIu64
				      " free 128-slot runs, longest free run "
				      "%" PRIu64 " slots",
				      x->window.free_segments_min, x->window.largest_free_run_min);
		/* A request maps all its segments at once: it needs that many
		 * free runs together, not one. */
		if (x->window.ran && frag->disk[0] && frag->max_sectors_kb) {
			uint64_t runs = diag_slots(diag_sat_mul(frag->max_sectors_kb, 1024)) /
					DIAG_SEG_SLOTS;

			if (runs > x->window.free_segments_min)
				diag_evidence(f,
					      "a request of max_sectors_kb %" PRIu64
					      " needs %" PRIu64
					      " free 128-slot runs at once: more than the pool had",
					      frag->max_sectors_kb, runs);
		}
		if (restricted(p, &k->last)) {
			diag_remedy(
				f,
				"the device's own restricted-dma-pool: enlarge its reserved-memory "
				"node in the device tree");
			diag_remedy_class(f, "restricted-pool", 0);
		} else {
			diag_grow_remedy(x, f, k->last.total, k->last.total ? k->last.total : total,
					 frag->disk[0] ?
						 "; or smaller requests through max_sectors_kb" :
						 "");
		}
	}
}

static void judge_leak(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_window *w = &x->window;
	const struct diag_dev *keeper = NULL;
	struct diag_finding *f;

	/* The pool only climbed over the window, no disk had a request in
	 * flight, and a device mapped more than it unmapped: it keeps them. */
	if (!w->ran || !w->rising || w->samples < 5 || w->used_last <= w->used_first)
		return;
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];

		if (d->inflight)
			return;
		if (d->w_maps > d->w_unmaps &&
		    (!keeper || d->w_maps - d->w_unmaps > keeper->w_maps - keeper->w_unmaps))
			keeper = d;
	}
	if (!keeper)
		return;
	f = diag_add(r, "mapping-leak", DIAG_WARNING, keeper->name,
		     "%s keeps its mappings: the pool only climbed while no request was in flight",
		     keeper->name);
	diag_evidence(f,
		      "live: pool use %" PRIu64 " -> %" PRIu64 " slots over %.1f s, never falling "
		      "(%" PRIu64 " samples)",
		      w->used_first, w->used_last, w->seconds, w->samples);
	diag_evidence(f, "live: %s mapped %" PRIu64 " times and unmapped %" PRIu64, keeper->name,
		      keeper->w_maps, keeper->w_unmaps);
	diag_remedy(f,
		    "the driver of %s%s%s maps without unmapping: fix or update it; until then "
		    "the free pool only shrinks (a reboot frees it)",
		    keeper->name, keeper->driver[0] ? ", " : "", keeper->driver);
	diag_remedy_class(f, "fix-driver", 0);
}

bool diag_unknown(const struct diag_facts *x)
{
	return !x->have_log && !diag_pool_total(x) && !x->pool.have_used && !x->window.ran;
}

/* A line with the kernel's words for a refused mapping is never healthy,
 * even when nothing could be read from it (cut, mangled, one device too
 * many). */
static void judge_refusal_words(const struct diag_facts *x, struct diag_report *r)
{
	struct diag_finding *f;

	if (!x->log.key_lines)
		return;
	for (int i = 0; i < r->n; i++)
		if (r->f[i].severity > DIAG_INFO)
			return;
	f = diag_add(r, "unrecognised-dma-line", DIAG_WARNING, NULL,
		     "the kernel log holds refused SWIOTLB mappings that could not be read");
	diag_evidence(f, "%s", x->log.key_line);
	if (x->log.key_lines > 1)
		diag_evidence(f, "%u such lines in all", x->log.key_lines);
	diag_remedy(f, "read them: a mapping was refused (see 'swiotlb buffer is full' in "
		       "dmawatch-diagnose(8))");
	diag_remedy_class(f, "investigate", 0);
}

static void judge_healthy(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	uint64_t total = diag_pool_total(x), largest = 0;
	const struct diag_dev *big = NULL;
	struct diag_finding *f;

	if (diag_unknown(x))
		return;
	for (int i = 0; i < r->n; i++)
		if (r->f[i].severity > DIAG_INFO)
			return;
	f = diag_add(r, "healthy", DIAG_INFO, NULL, "no SWIOTLB problem found");
	if (total)
		diag_evidence(f, "pool: %" PRIu64 " slots (%s)", total, SIZE(total));
	if (used_plausible(p) && total)
		diag_evidence(f, "in use now: %" PRIu64 " slots (%.1f%%)", p->used,
			      100.0 * p->used / total);
	if (hiwater_kept(x, 0) && total)
		diag_evidence(f, "high-water: %" PRIu64 " slots (%.1f%%)", p->hiwater,
			      100.0 * p->hiwater / total);
	for (int i = 0; i < x->ndevs; i++)
		if (x->devs[i].disk[0] && x->devs[i].max_sectors_kb > largest) {
			largest = x->devs[i].max_sectors_kb;
			big = &x->devs[i];
		}
	if (big && total)
		diag_evidence(f,
			      "largest request: /dev/%s max_sectors_kb %" PRIu64 " = %" PRIu64
			      " slots of %" PRIu64,
			      big->disk, largest, diag_slots(diag_sat_mul(largest, 1024)), total);
	if (x->window.ran)
		diag_evidence(f, "live: %.1f s, pool use %" PRIu64 "-%" PRIu64 " slots",
			      x->window.seconds, x->window.used_min, x->window.used_max);
	diag_remedy(f, "nothing to change");
	diag_remedy_class(f, "none", 0);
}

/* Most severe first; within one severity, the rules' order (stable). */
static void sort_by_severity(struct diag_report *r)
{
	for (int i = 1; i < r->n; i++) {
		struct diag_finding f = r->f[i];
		int k = i;

		for (; k > 0 && r->f[k - 1].severity < f.severity; k--)
			r->f[k] = r->f[k - 1];
		r->f[k] = f;
	}
}

void diag_judge(const struct diag_facts *x, struct diag_report *r)
{
	memset(r, 0, sizeof(*r));
	judge_implausible(x, r);
	judge_bypass(x, r);
	judge_over_limit(x, r);
	judge_never_fit(x, r);
	judge_pool(x, r);
	judge_leak(x, r);
	diag_judge_boot(x, r);
	diag_judge_log(x, r);
	judge_refusal_words(x, r);
	judge_healthy(x, r);
	sort_by_severity(r);
}
