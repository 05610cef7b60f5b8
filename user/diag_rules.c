// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose, step 2: findings from the facts alone. Each rule names the
 * failure mode of ../notes (F1 pool exhausted, F2/F3 over the limit, F4/F5
 * boot sizing, F7 bypass, F10 leak, F11 implausible debugfs) it judges.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"
#include "enforce_disk.h"

/* virtio-blk maps a request's 16-byte header and 1-byte status beside its
 * data (virtblk_add_req()): two slots more than the data needs. */
#define REQ_EXTRA_SLOTS 2

const char *diag_severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "info";
}

static struct diag_finding *add(struct diag_report *r, const char *id, enum diag_severity sev,
				const char *device, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static struct diag_finding *add(struct diag_report *r, const char *id, enum diag_severity sev,
				const char *device, const char *fmt, ...)
{
	static struct diag_finding spare;
	struct diag_finding *f = r->n < DIAG_MAX_FINDINGS ? &r->f[r->n++] : &spare;
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->severity = sev;
	snprintf(f->device, sizeof(f->device), "%s", device ? device : "");
	va_start(ap, fmt);
	vsnprintf(f->title, sizeof(f->title), fmt, ap);
	va_end(ap);
	return f;
}

static void evidence(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void evidence(struct diag_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f->nevidence == DIAG_MAX_EVIDENCE)
		return;
	va_start(ap, fmt);
	vsnprintf(f->evidence[f->nevidence++], DIAG_LINE, fmt, ap);
	va_end(ap);
}

static void remedy(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void remedy(struct diag_finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->remedy, sizeof(f->remedy), fmt, ap);
	va_end(ap);
}

/* Every figure comes from text anyone may have written (a bundle), so the
 * arithmetic on them saturates instead of wrapping. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t k)
{
	return k && a > UINT64_MAX / k ? UINT64_MAX : a * k;
}

static uint64_t slots_of(uint64_t bytes)
{
	return bytes / DIAG_SLOT + (bytes % DIAG_SLOT != 0);
}

static uint64_t mib_of(uint64_t slots) /* rounded up */
{
	uint64_t per_mib = (1 << 20) / DIAG_SLOT;

	return slots / per_mib + (slots % per_mib != 0);
}

/* The pool's size in slots: debugfs, else the boot line's MB; 0 unknown. */
static uint64_t pool_total(const struct diag_facts *x)
{
	return x->pool.have_total ? x->pool.total : sat_mul(x->pool.boot_mb, (1 << 20) / DIAG_SLOT);
}

static bool used_plausible(const struct diag_pool *p)
{
	return p->have_used && p->used != UINT64_MAX && (!p->have_total || p->used <= p->total);
}

/* The first and the last line of one kind, as the kernel printed them. */
static void full_evidence(struct diag_finding *f, const struct diag_fulls *k)
{
	evidence(f, "%s", k->first_line);
	if (k->lines > 1)
		evidence(f, "%s (the last of %u)", k->last_line, k->lines);
}

/* The smallest power of two >= v (a pool size that reads well). */
static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ULL << 63))
		p <<= 1;
	return p;
}

static void judge_implausible(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	struct diag_finding *f;

	if (!p->have_used || used_plausible(p))
		return;
	f = add(r, "implausible-debugfs", DIAG_WARNING, NULL,
		"debugfs reports an impossible slot count: the kernel's used counter is broken");
	evidence(f, "io_tlb_used = %" PRIu64, p->used);
	if (p->have_total)
		evidence(f, "io_tlb_nslabs = %" PRIu64, p->total);
	remedy(f, "a kernel bug (the used count went below zero; fixed upstream by \"swiotlb: do "
		  "not set total_used to 0\"): update the kernel; until then read the pool from "
		  "'dmawatch stat' (its slot scan), not io_tlb_used");
}

static void judge_bypass(const struct diag_facts *x, struct diag_report *r)
{
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		struct diag_finding *f;

		if (d->must_provide_platform) {
			f = add(r, "virtio-no-access-platform", DIAG_ERROR, d->name,
				"%s (%s) was refused: the host did not offer VIRTIO_F_ACCESS_PLATFORM",
				d->virtio, d->virtio_driver[0] ? d->virtio_driver : d->name);
			evidence(f, "%s", d->platform_line);
		} else if (d->access_platform == 0 && (x->env.cc_active || x->env.forced)) {
			f = add(r, "dma-api-bypass", x->env.cc_active ? DIAG_ERROR : DIAG_WARNING,
				d->name,
				x->env.cc_active ?
				"%s (%s) bypasses the DMA API in a confidential guest: the host cannot "
				"see its buffers" :
				"%s (%s) bypasses the DMA API and SWIOTLB: in a confidential guest "
				"it would not work",
				d->virtio, d->virtio_driver[0] ? d->virtio_driver : "virtio");
			evidence(f, "/sys/bus/virtio/devices/%s/features: bit 33 "
				    "(VIRTIO_F_ACCESS_PLATFORM) is 0", d->virtio);
			if (x->env.forced)
				evidence(f, "swiotlb=%s: every other device bounces",
					 x->env.swiotlb_arg);
		} else {
			continue;
		}
		remedy(f, "on the host, give the device iommu_platform=on (QEMU -device ...,"
			  "iommu_platform=on; libvirt <driver iommu='on'/>)");
	}
}

/* Can a request of the disk's max_sectors_kb ever get its slots? */
static bool never_fits(const struct diag_facts *x, const struct diag_dev *d, uint64_t *req_slots)
{
	uint64_t total = pool_total(x);

	*req_slots = sat_add(slots_of(sat_mul(d->max_sectors_kb, 1024)), REQ_EXTRA_SLOTS);
	return d->disk[0] && d->max_sectors_kb && total && *req_slots > total;
}

/* The largest power-of-two max_sectors_kb whose requests fit half the
 * pool (room for a second request in flight). */
static uint64_t fitting_kb(uint64_t total)
{
	return enf_fitting_kb(total, REQ_EXTRA_SLOTS, 0); /* what enforce --apply-queue-limits sets */
}

static void judge_never_fit(const struct diag_facts *x, struct diag_report *r)
{
	uint64_t total = pool_total(x);

	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		bool seen = d->full_lines || d->w_never_fit || (d->inflight && x->ntasks);
		struct diag_finding *f;
		uint64_t req;

		if (!never_fits(x, d, &req))
			continue;
		f = add(r, "never-fits", seen ? DIAG_ERROR : DIAG_WARNING, d->name,
			seen ? "%s: requests larger than the pool never fit: IO on it hangs" :
			"%s: a request of max_sectors_kb would never fit the pool: IO of that size "
			"would hang", d->disk);
		evidence(f, "/sys/block/%s/queue/max_sectors_kb = %" PRIu64
			    " (a request of up to %" PRIu64 " slots with its header and status)",
			 d->disk, d->max_sectors_kb, req);
		evidence(f, "the pool has %" PRIu64 " slots (%" PRIu64 " MiB)", total,
			 mib_of(total));
		for (int k = 0; k < FULL_KINDS; k++)
			if (d->full[k].lines)
				full_evidence(f, &d->full[k]);
		if (d->w_never_fit)
			evidence(f, "live: %" PRIu64 " submissions of %" PRIu64 " requests failed: "
				    "%" PRIu64 " bytes need more slots than the pool has (last by %s)",
				 d->w_never_fit, d->w_never_fit_reqs, d->w_never_fit_size,
				 d->w_never_fit_comm);
		if (d->inflight)
			evidence(f, "/sys/block/%s/inflight: %" PRIu64 " requests in flight now",
				 d->disk, d->inflight);
		remedy(f, "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb (or a pool of at "
			  "least swiotlb=%" PRIu64 ")",
		       fitting_kb(total), d->disk, pow2_up(sat_mul(req, 2)));
	}
}

static void judge_over_limit(const struct diag_facts *x, struct diag_report *r)
{
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		const struct diag_fulls *k = &d->full[FULL_OVER_LIMIT];
		uint64_t size = k->lines ? k->max.size : d->w_over_limit_size;
		struct diag_finding *f;

		if (!k->lines && !d->w_over_limit)
			continue;
		f = add(r, "over-limit", DIAG_ERROR, d->name,
			"%s (%s) maps %" PRIu64 " bytes at once, over the %llu-byte limit: a bigger "
			"pool cannot help", d->name, d->driver[0] ? d->driver : d->bus, size,
			DIAG_MAX_MAPPING);
		if (k->lines) {
			full_evidence(f, k);
			evidence(f, "the pool had %" PRIu64 " of %" PRIu64 " slots in use: not full",
				 k->max.used, k->max.total);
		}
		if (d->w_over_limit)
			evidence(f, "live: %" PRIu64 " mappings over the limit (largest %" PRIu64
				    " bytes)", d->w_over_limit, d->w_max_size);
		if (d->disk[0] && d->max_segment_size > DIAG_MAX_MAPPING)
			evidence(f, "/sys/block/%s/queue/max_segment_size = %" PRIu64
				    " (more than one mapping may hold)", d->disk,
				 d->max_segment_size);
		if (d->disk[0])
			remedy(f, "echo %llu > /sys/block/%s/queue/max_sectors_kb (no request, so no "
				  "segment, over the limit); the driver %s must honour "
				  "dma_max_mapping_size()", DIAG_MAX_MAPPING >> 10, d->disk,
			       d->driver[0] ? d->driver : "");
		else
			remedy(f, "the driver %s must split its mappings at dma_max_mapping_size() "
				  "(%llu here): update or fix it; a larger swiotlb= does not help",
			       d->driver[0] ? d->driver : d->bus, DIAG_MAX_MAPPING);
	}
}

static bool explained(const struct diag_facts *x, const struct diag_dev *d)
{
	uint64_t req;

	return never_fits(x, d, &req);
}

static void judge_pool(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	uint64_t total = pool_total(x), need = p->have_hiwater ? p->hiwater : 0, target;
	const struct diag_dev *no_room = NULL, *frag = NULL;
	unsigned lines = 0;
	struct diag_finding *f;
	bool busy_now;

	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];

		if (explained(x, d))
			continue;
		const struct diag_fulls *k = &d->full[FULL_NO_ROOM];

		if (k->lines) {
			uint64_t n = sat_add(k->max.used, slots_of(k->max.size));

			no_room = no_room ? no_room : d;
			lines += k->lines;
			need = n > need ? n : need;
			if (!total)
				total = k->last.total;
		}
		if (d->full[FULL_FRAGMENTED].lines && !frag)
			frag = d;
	}
	/* 90 % or more in use, now or in the window. */
	busy_now = (used_plausible(p) && total && p->used >= total - total / 10) ||
		   (x->window.ran && total && x->window.used_max >= total - total / 10);
	if (no_room) {
		f = add(r, "pool-exhausted", busy_now ? DIAG_ERROR : DIAG_WARNING, NULL,
			busy_now ? "the SWIOTLB pool is full: mappings that fit the limit are refused" :
			"the SWIOTLB pool ran out, then recovered: mappings were refused for a while");
		full_evidence(f, &no_room->full[FULL_NO_ROOM]);
		if (lines > no_room->full[FULL_NO_ROOM].lines)
			evidence(f, "%u refusals for lack of room, all devices", lines);
		if (used_plausible(p))
			evidence(f, "io_tlb_used = %" PRIu64 " of io_tlb_nslabs = %" PRIu64 " now",
				 p->used, total);
		if (p->have_hiwater)
			evidence(f, "io_tlb_used_hiwater = %" PRIu64, p->hiwater);
		/* Half again what was needed at the worst moment, at least twice
		 * the pool that ran out, as a power of two. */
		target = sat_mul(need, 3) / 2;
		target = pow2_up(target > sat_mul(total, 2) ? target : sat_mul(total, 2));
		remedy(f, "a larger pool: swiotlb=%" PRIu64 " on the kernel command line (%" PRIu64
			  " MiB; now %" PRIu64 " slots, %" PRIu64 " MiB)",
		       target, mib_of(target), total, mib_of(total));
	}
	if (frag) {
		f = add(r, "fragmented", DIAG_WARNING, frag->name,
			"%s was refused while the pool had room: the free slots were not contiguous",
			frag->name);
		const struct diag_fulls *k = &frag->full[FULL_FRAGMENTED];

		full_evidence(f, k);
		evidence(f, "needed %" PRIu64 " slots, %" PRIu64 " of %" PRIu64 " free",
			 slots_of(k->last.size), k->last.total - k->last.used, k->last.total);
		if (x->window.ran)
			evidence(f, "live: at worst %" PRIu64 " free 128-slot runs, longest free run "
				    "%" PRIu64 " slots", x->window.free_segments_min,
				 x->window.largest_free_run_min);
		/* A request maps all its segments at once: it needs that many
		 * free runs together, not one. */
		if (x->window.ran && frag->disk[0] && frag->max_sectors_kb) {
			uint64_t runs = slots_of(sat_mul(frag->max_sectors_kb, 1024)) / DIAG_SEG_SLOTS;

			if (runs > x->window.free_segments_min)
				evidence(f, "a request of max_sectors_kb %" PRIu64 " needs %" PRIu64
					    " free 128-slot runs at once: more than the pool had",
					 frag->max_sectors_kb, runs);
		}
		target = pow2_up(sat_mul(total, 4));
		remedy(f, "a larger pool leaves whole runs free: swiotlb=%" PRIu64 " (%" PRIu64
			  " MiB)%s", target, mib_of(target),
		       frag->disk[0] ? "; or smaller requests through max_sectors_kb" : "");
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
	f = add(r, "mapping-leak", DIAG_WARNING, keeper->name,
		"%s keeps its mappings: the pool only climbed while no request was in flight",
		keeper->name);
	evidence(f, "live: pool use %" PRIu64 " -> %" PRIu64 " slots over %.1f s, never falling "
		    "(%" PRIu64 " samples)", w->used_first, w->used_last, w->seconds, w->samples);
	evidence(f, "live: %s mapped %" PRIu64 " times and unmapped %" PRIu64, keeper->name,
		 keeper->w_maps, keeper->w_unmaps);
	remedy(f, "the driver of %s%s%s maps without unmapping: fix or update it; until then "
		  "the free pool only shrinks (a reboot frees it)", keeper->name,
	       keeper->driver[0] ? ", " : "", keeper->driver);
}

static void judge_boot(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	struct diag_finding *f;

	if (p->boot_shortfall) {
		f = add(r, "pool-short-at-boot", DIAG_WARNING, NULL,
			"the kernel could not allocate the pool it was asked for");
		for (int i = 0; i < p->nshortfall_lines; i++)
			evidence(f, "%s", p->shortfall_lines[i]);
		remedy(f, "a smaller swiotlb= that fits memory below 4 GiB, or more guest memory");
	}
	if (p->roundup) {
		f = add(r, "pool-rounded-up", DIAG_INFO, NULL,
			"the pool was rounded up to give every area whole segments");
		evidence(f, "%s", p->roundup_line);
		if (p->areas)
			remedy(f, "if that memory is missed: swiotlb=<slots>,<areas> with fewer than "
				  "the %" PRIu64 " areas", p->areas);
		else
			remedy(f, "if that memory is missed: swiotlb=<slots>,<areas> with fewer areas");
	}
}

static void judge_log(const struct diag_facts *x, struct diag_report *r)
{
	struct diag_finding *f;

	if (x->nlog_other) {
		f = add(r, "dma-errors-logged", DIAG_WARNING, NULL,
			"the kernel logged DMA bounce errors");
		for (int i = 0; i < x->nlog_other; i++)
			evidence(f, "%s", x->log_other[i]);
		remedy(f, "see the lines: an address-limited device (overflow), a pool set up too "
			  "late, or a driver that gave up on a mapping");
	}
	if (x->ntasks || x->hung_task_lines) {
		f = add(r, "tasks-blocked", DIAG_INFO, NULL, "%d tasks wait in D state now",
			x->ntasks);
		for (int i = 0; i < x->ntasks && f->nevidence < DIAG_MAX_EVIDENCE - 1; i++)
			evidence(f, "pid %d (%s) waits in %s", x->tasks[i].pid, x->tasks[i].comm,
				 x->tasks[i].wchan[0] ? x->tasks[i].wchan : "?");
		if (x->hung_task_lines)
			evidence(f, "%s (%u such lines)", x->hung_task_line, x->hung_task_lines);
		remedy(f, "if they wait on a disk with a finding above, that finding is the cause");
	}
}

bool diag_unknown(const struct diag_facts *x)
{
	return !x->have_log && !pool_total(x) && !x->window.ran;
}

static void judge_healthy(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	uint64_t total = pool_total(x), largest = 0;
	const struct diag_dev *big = NULL;
	struct diag_finding *f;

	if (diag_unknown(x))
		return;
	for (int i = 0; i < r->n; i++)
		if (r->f[i].severity > DIAG_INFO)
			return;
	f = add(r, "healthy", DIAG_INFO, NULL, "no SWIOTLB problem found");
	if (total)
		evidence(f, "pool: %" PRIu64 " slots (%" PRIu64 " MiB)", total, mib_of(total));
	if (used_plausible(p) && total)
		evidence(f, "in use now: %" PRIu64 " slots (%.1f%%)", p->used,
			 100.0 * p->used / total);
	if (p->have_hiwater && total)
		evidence(f, "high-water: %" PRIu64 " slots (%.1f%%)", p->hiwater,
			 100.0 * p->hiwater / total);
	for (int i = 0; i < x->ndevs; i++)
		if (x->devs[i].disk[0] && x->devs[i].max_sectors_kb > largest) {
			largest = x->devs[i].max_sectors_kb;
			big = &x->devs[i];
		}
	if (big && total)
		evidence(f, "largest request: /dev/%s max_sectors_kb %" PRIu64 " = %" PRIu64
			    " slots of %" PRIu64, big->disk, largest, slots_of(sat_mul(largest, 1024)), total);
	if (x->window.ran)
		evidence(f, "live: %.1f s, pool use %" PRIu64 "-%" PRIu64 " slots",
			 x->window.seconds, x->window.used_min, x->window.used_max);
	remedy(f, "nothing to change");
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
	judge_boot(x, r);
	judge_log(x, r);
	judge_healthy(x, r);
	sort_by_severity(r);
}
