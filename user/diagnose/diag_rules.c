// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose, step 2: findings from the facts alone, one rule per failure
 * mode (pool exhausted or fragmented, over the limit, boot sizing, a
 * device that bypasses the DMA API, a leak, implausible debugfs figures;
 * the verdicts dmawatch-diagnose(8) lists).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"
#include "enforce/enforce_disk.h"

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

/* A pool's size as people say it: slots of 2 KiB, so 128 slots is
 * "256 KiB", 512 "1 MiB", 524288 "1 GiB". */
static const char *size_of(uint64_t slots, char *buf, size_t len)
{
	uint64_t kib = sat_mul(slots, DIAG_SLOT >> 10);

	if (kib && !(kib % (1 << 20)))
		snprintf(buf, len, "%" PRIu64 " GiB", kib >> 20);
	else if (kib >= 1024 && !(kib % 1024))
		snprintf(buf, len, "%" PRIu64 " MiB", kib >> 10);
	else if (kib >= 1024)
		snprintf(buf, len, "%.1f MiB", kib / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", kib);
	return buf;
}
#define SIZE(slots) size_of((slots), (char[32]){ 0 }, 32)

/* The default pool's size in slots: debugfs, the refusals' "total T
 * (slots)", the boot lines; 0 unknown. */
static uint64_t pool_total(const struct diag_facts *x)
{
	const struct diag_pool *p = &x->pool;

	return p->have_total ? p->total :
	       p->line_total ? p->line_total :
	       p->boot_slots ? p->boot_slots :
			       sat_mul(p->boot_mb, (1 << 20) / DIAG_SLOT);
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

/* The largest power of two <= v (v > 0). */
static uint64_t pow2_down(uint64_t v)
{
	uint64_t p = pow2_up(v);

	return p == v ? p : p / 2;
}

/* A swiotlb= for a pool that must hold NEED slots at its worst moment and
 * has TOTAL now: half again the need, at least twice the pool, a power of
 * two (swiotlb_adjust_nareas() rounds any other size up), at most
 * DIAG_POOL_CAP. 0: no size helps (the pool is at the cap, or unknown). */
static uint64_t grown_pool(uint64_t need, uint64_t total)
{
	uint64_t target = sat_mul(need, 3) / 2;

	if (!total)
		return 0;
	if (target < sat_mul(total, 2))
		target = sat_mul(total, 2);
	target = pow2_up(target);
	if (target > DIAG_POOL_CAP)
		target = DIAG_POOL_CAP;
	return target > total ? target : 0;
}

static void remedy_class(struct diag_finding *f, const char *cls, uint64_t swiotlb)
{
	f->remedy_class = cls;
	f->swiotlb = swiotlb;
}

/* The remedy of a pool that runs out: a larger pool where one can help,
 * else what does. */
static void grow_remedy(const struct diag_facts *x, struct diag_finding *f, uint64_t need,
			uint64_t total, const char *also)
{
	uint64_t target = grown_pool(need, total);

	if (target) {
		remedy(f,
		       "a larger pool: swiotlb=%" PRIu64 " on the kernel command line (%s; now "
		       "%" PRIu64 " slots, %s)%s",
		       target, SIZE(target), total, SIZE(total), also);
		remedy_class(f, "grow-pool", target);
	} else if (!total) {
		remedy(f,
		       "a larger pool: twice the slots of the current one (its size is in the "
		       "boot line 'software IO TLB: mapped [mem ...] (NMB)', 512 slots a MB) as "
		       "swiotlb=SLOTS%s",
		       also);
		remedy_class(f, "grow-pool", 0);
	} else {
		remedy(f,
		       "the pool is already %" PRIu64 " slots (%s), as large as a swiotlb= "
		       "should ask: bound the DMA in flight instead (the disks' max_sectors_kb "
		       "and nr_requests, the NICs' ring sizes)%s",
		       total, SIZE(total),
		       x->pool.total_grew || x->pool.have_transient ?
			       "; the pool already grows on demand (CONFIG_SWIOTLB_DYNAMIC)" :
			       ", or a kernel with CONFIG_SWIOTLB_DYNAMIC (6.6 and later) so the "
			       "pool grows on demand");
		remedy_class(f,
			     x->pool.total_grew || x->pool.have_transient ? "limit-requests" :
									    "dynamic-pool",
			     0);
	}
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
	remedy_class(f, "update-kernel", 0);
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
			if (x->env.cc_active)
				evidence(f,
					 "a %s guest: the device cannot reach its memory without "
					 "the DMA API",
					 x->env.cc);
		} else if (d->access_platform == 0 && (x->env.cc_active || x->env.forced)) {
			f = add(r, "dma-api-bypass", x->env.cc_active ? DIAG_ERROR : DIAG_WARNING,
				d->name,
				x->env.cc_active ?
					"%s (%s) bypasses the DMA API in a confidential guest: the host cannot "
					"see its buffers" :
					"%s (%s) bypasses the DMA API and SWIOTLB: in a confidential guest "
					"it would not work",
				d->virtio, d->virtio_driver[0] ? d->virtio_driver : "virtio");
			evidence(f,
				 "/sys/bus/virtio/devices/%s/features: bit 33 "
				 "(VIRTIO_F_ACCESS_PLATFORM) is 0",
				 d->virtio);
			if (x->env.forced)
				evidence(f, "swiotlb=%s: every other device bounces",
					 x->env.swiotlb_arg);
		} else {
			continue;
		}
		remedy(f, "on the host, give the device iommu_platform=on (QEMU -device ...,"
			  "iommu_platform=on; libvirt <driver iommu='on'/>; a vhost-user backend "
			  "such as virtiofsd must offer the feature too)");
		remedy_class(f, "host-config", 0);
	}
}

/* Can a request of the disk's max_sectors_kb ever get its slots? */
static bool never_fits(const struct diag_facts *x, const struct diag_dev *d, uint64_t *req_slots)
{
	uint64_t total = pool_total(x);

	*req_slots = sat_add(diag_slots(sat_mul(d->max_sectors_kb, 1024)), REQ_EXTRA_SLOTS);
	return d->disk[0] && d->max_sectors_kb && total && *req_slots > total;
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
	uint64_t total = pool_total(x);

	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		bool seen = d->full_lines || d->w_never_fit || (d->inflight && x->ntasks);
		struct diag_finding *f;
		uint64_t req, target;

		if (!never_fits(x, d, &req))
			continue;
		f = add(r, "never-fits", seen ? DIAG_ERROR : DIAG_WARNING, d->name,
			seen ? "%s: requests larger than the pool never fit: IO on it hangs" :
			       "%s: a request of max_sectors_kb would never fit the pool: IO of that size "
			       "would hang",
			d->disk);
		evidence(f,
			 "/sys/block/%s/queue/max_sectors_kb = %" PRIu64
			 " (a request of up to %" PRIu64 " slots with its header and status)",
			 d->disk, d->max_sectors_kb, req);
		evidence(f, "the pool has %" PRIu64 " slots (%s)", total, SIZE(total));
		for (int k = 0; k < FULL_KINDS; k++)
			if (d->full[k].lines)
				full_evidence(f, &d->full[k]);
		if (d->w_never_fit)
			evidence(f,
				 "live: %" PRIu64 " submissions of %" PRIu64 " requests failed: "
				 "%" PRIu64 " bytes need more slots than the pool has (last by %s)",
				 d->w_never_fit, d->w_never_fit_reqs, d->w_never_fit_size,
				 d->w_never_fit_comm);
		if (d->inflight)
			evidence(f, "/sys/block/%s/inflight: %" PRIu64 " requests in flight now",
				 d->disk, d->inflight);
		target = grown_pool(sat_mul(req, 2), total);
		if (target && target >= sat_mul(req, 2))
			remedy(f,
			       "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb (or a pool "
			       "of at least swiotlb=%" PRIu64 ")",
			       fitting_kb(total), d->disk, pow2_up(sat_mul(req, 2)));
		else
			remedy(f, "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb",
			       fitting_kb(total), d->disk);
		remedy_class(f, "limit-requests", 0);
	}
}

static void judge_over_limit(const struct diag_facts *x, struct diag_report *r)
{
	for (int i = 0; i < x->ndevs; i++) {
		const struct diag_dev *d = &x->devs[i];
		const struct diag_fulls *k = &d->full[FULL_OVER_LIMIT];
		uint64_t size = k->lines ? k->max.size : d->w_over_limit_size;
		uint64_t limit = d->limit ? d->limit : DIAG_MAX_MAPPING;
		struct diag_finding *f;

		if (!k->lines && !d->w_over_limit)
			continue;
		f = add(r, "over-limit", DIAG_ERROR, d->name,
			"%s (%s) maps %" PRIu64 " bytes at once, over the %" PRIu64
			"-byte limit: a "
			"bigger pool cannot help",
			d->name, d->driver[0] ? d->driver : d->bus, size, limit);
		if (k->lines) {
			full_evidence(f, k);
			if (k->max.totals)
				evidence(f,
					 "the pool had %" PRIu64 " of %" PRIu64 " slots in use: "
					 "not the cause",
					 k->max.used, k->max.total);
		}
		if (d->limit_why[0])
			evidence(f,
				 "the limit is 128 slots of 2 KiB less the device's alignment "
				 "(%s)",
				 d->limit_why);
		if (d->w_over_limit)
			evidence(f,
				 "live: %" PRIu64 " mappings over the limit (largest %" PRIu64
				 " bytes)",
				 d->w_over_limit, d->w_max_size);
		if (d->disk[0] && d->max_segment_size > limit)
			evidence(f,
				 "/sys/block/%s/queue/max_segment_size = %" PRIu64
				 " (more than one mapping may hold)",
				 d->disk, d->max_segment_size);
		if (d->disk[0]) {
			remedy(f,
			       "echo %" PRIu64 " > /sys/block/%s/queue/max_sectors_kb (no "
			       "request, so no segment, over the limit); the driver %s must honour "
			       "dma_max_mapping_size()",
			       limit >> 10, d->disk, d->driver[0] ? d->driver : "");
			remedy_class(f, "limit-requests", 0);
		} else {
			remedy(f,
			       "the driver %s must split its mappings at dma_max_mapping_size() "
			       "(%" PRIu64 " here): update or fix it; a larger swiotlb= does not "
			       "help",
			       d->driver[0] ? d->driver : d->bus, limit);
			remedy_class(f, "fix-driver", 0);
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
	uint64_t total = pool_total(x), need = 0, seen_used = 0, free_now;
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
			uint64_t n = sat_add(k->max.used, diag_slots(k->max.size));

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

		f = add(r, "pool-exhausted", busy_now || !known_now ? DIAG_ERROR : DIAG_WARNING,
			NULL,
			busy_now ?
				"the SWIOTLB pool is full: mappings that fit the limit are refused" :
			known_now ?
				"the SWIOTLB pool ran out, then recovered: mappings were refused "
				"for a while" :
				"the SWIOTLB pool ran out: mappings that fit the limit were refused");
		full_evidence(f, &d->full[no_room ? FULL_NO_ROOM : FULL_UNSIZED]);
		if (worst)
			evidence(f,
				 "%" PRIu64 " of %" PRIu64 " slots in use (%.2f%%), %" PRIu64
				 " free%s%s",
				 worst->used, worst->total,
				 worst->total ? 100.0 * worst->used / worst->total : 0.0,
				 worst->used < worst->total ? worst->total - worst->used : 0,
				 p->areas ? " in " : "", p->areas ? "areas of the pool" : "");
		else
			evidence(f, "this kernel's line gives no totals: a refusal within the "
				    "limit is a pool out of room");
		if (lines > d->full[no_room ? FULL_NO_ROOM : FULL_UNSIZED].lines)
			evidence(f, "%u refusals for lack of room, all devices", lines);
		if (x->log.suppressed)
			evidence(f,
				 "and %" PRIu64 " more the rate limit did not print "
				 "(\"callbacks suppressed\")",
				 x->log.suppressed);
		if (used_plausible(p) && total) {
			free_now = p->used < total ? total - p->used : 0;
			evidence(f,
				 "io_tlb_used = %" PRIu64 " of io_tlb_nslabs = %" PRIu64 " now"
				 " (%" PRIu64 " free)",
				 p->used, total, free_now);
		}
		if (p->have_hiwater && hiwater_kept(x, seen_used))
			evidence(f, "io_tlb_used_hiwater = %" PRIu64, p->hiwater);
		else if (p->have_hiwater)
			evidence(f,
				 "io_tlb_used_hiwater reads %" PRIu64 ", below what was in use: "
				 "this kernel keeps no high-water, so it is not used",
				 p->hiwater);
		if (p->total_grew || p->have_transient)
			evidence(f, "the pool grew at run time (CONFIG_SWIOTLB_DYNAMIC) and still "
				    "refused: no memory for a new pool at that moment");
		if (in_restricted) {
			evidence(f, "%s", p->restricted[0]);
			remedy(f,
			       "the device's own restricted-dma-pool is full: enlarge its "
			       "reserved-memory node (size) in the device tree; swiotlb= sizes only "
			       "the default pool");
			remedy_class(f, "restricted-pool", 0);
		} else {
			grow_remedy(x, f, need, total, "");
		}
	}
	if (frag) {
		const struct diag_fulls *k = &frag->full[FULL_FRAGMENTED];
		uint64_t areas = p->areas ? p->areas : 1;

		f = add(r, "fragmented", DIAG_WARNING, frag->name,
			"%s was refused while the pool had room: the free slots were not contiguous",
			frag->name);
		full_evidence(f, k);
		evidence(f, "needed %" PRIu64 " slots, %" PRIu64 " of %" PRIu64 " free",
			 diag_slots(k->last.size), k->last.total - k->last.used, k->last.total);
		if (!frag->limit_why[0] && k->max.size > DIAG_MAX_MAPPING - 2 * DIAG_SLOT)
			evidence(f,
				 "%" PRIu64 " bytes is within 262144, but over 258048: if the "
				 "driver sets a min_align_mask (NVMe, Hyper-V do), it is over its "
				 "limit",
				 k->max.size);
		evidence(f,
			 "a mapping takes contiguous slots within one 128-slot segment of one "
			 "of the %" PRIu64 " area%s; %" PRIu64 " free is more than %" PRIu64
			 " segments' worth",
			 areas, areas > 1 ? "s" : "", k->last.total - k->last.used, areas);
		if (x->window.ran)
			evidence(f,
				 "live: at worst %" PRIu64 " free 128-slot runs, longest free run "
				 "%" PRIu64 " slots",
				 x->window.free_segments_min, x->window.largest_free_run_min);
		/* A request maps all its segments at once: it needs that many
		 * free runs together, not one. */
		if (x->window.ran && frag->disk[0] && frag->max_sectors_kb) {
			uint64_t runs =
				diag_slots(sat_mul(frag->max_sectors_kb, 1024)) / DIAG_SEG_SLOTS;

			if (runs > x->window.free_segments_min)
				evidence(f,
					 "a request of max_sectors_kb %" PRIu64 " needs %" PRIu64
					 " free 128-slot runs at once: more than the pool had",
					 frag->max_sectors_kb, runs);
		}
		if (restricted(p, &k->last)) {
			remedy(f,
			       "the device's own restricted-dma-pool: enlarge its reserved-memory "
			       "node in the device tree");
			remedy_class(f, "restricted-pool", 0);
		} else {
			grow_remedy(x, f, k->last.total, k->last.total ? k->last.total : total,
				    frag->disk[0] ? "; or smaller requests through max_sectors_kb" :
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
	f = add(r, "mapping-leak", DIAG_WARNING, keeper->name,
		"%s keeps its mappings: the pool only climbed while no request was in flight",
		keeper->name);
	evidence(f,
		 "live: pool use %" PRIu64 " -> %" PRIu64 " slots over %.1f s, never falling "
		 "(%" PRIu64 " samples)",
		 w->used_first, w->used_last, w->seconds, w->samples);
	evidence(f, "live: %s mapped %" PRIu64 " times and unmapped %" PRIu64, keeper->name,
		 keeper->w_maps, keeper->w_unmaps);
	remedy(f,
	       "the driver of %s%s%s maps without unmapping: fix or update it; until then "
	       "the free pool only shrinks (a reboot frees it)",
	       keeper->name, keeper->driver[0] ? ", " : "", keeper->driver);
	remedy_class(f, "fix-driver", 0);
}

/* Does anything here bounce, so that a pool is needed? */
static bool pool_needed(const struct diag_facts *x)
{
	if (x->env.cc_active || x->env.forced || x->log.late)
		return true;
	for (int i = 0; i < x->ndevs; i++)
		if (x->devs[i].full_lines)
			return true;
	return false;
}

static void judge_boot(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	struct diag_finding *f;

	if (p->boot_shortfall) {
		bool needed = pool_needed(x);
		uint64_t got = pool_total(x);

		if (x->env.noforce && !needed) {
			f = add(r, "pool-short-at-boot", DIAG_INFO, NULL,
				"no SWIOTLB pool, as swiotlb=noforce asked: nothing here bounces");
		} else if (!needed && strcmp(x->env.cc, "unknown")) {
			f = add(r, "pool-short-at-boot", DIAG_INFO, NULL,
				"the kernel could not allocate the pool it sized, and nothing here "
				"bounces (no confidential computing, no swiotlb=force, no refusal)");
		} else {
			f = add(r, "pool-short-at-boot", DIAG_WARNING, NULL,
				"the kernel could not allocate the pool it was asked for");
		}
		for (int i = 0; i < p->nshortfall_lines; i++)
			evidence(f, "%s", p->shortfall_lines[i]);
		if (x->env.swiotlb_arg[0])
			evidence(f, "swiotlb=%s on the command line", x->env.swiotlb_arg);
		if (f->severity == DIAG_INFO) {
			remedy(f, "nothing to change; should a device need bouncing, boot without "
				  "swiotlb=noforce");
			remedy_class(f, "none", 0);
		} else if (got) {
			/* The largest power of two the kernel found room for. */
			uint64_t fits = pow2_down(got);

			remedy(f,
			       "the pool is allocated below 4 GiB at boot: ask for what fits, "
			       "swiotlb=%" PRIu64 " (%s; %" PRIu64
			       " slots were found), or give the "
			       "guest more memory below 4 GiB",
			       fits, SIZE(fits), got);
			remedy_class(f, "shrink-pool", fits);
		} else {
			remedy(f, "a smaller swiotlb= that fits memory below 4 GiB, or more guest "
				  "memory");
			remedy_class(f, "shrink-pool", 0);
		}
	}
	if (p->roundup) {
		f = add(r, "pool-rounded-up", DIAG_INFO, NULL,
			"the kernel rounded the pool up to a power of two");
		evidence(f, "%s", p->roundup_line);
		evidence(f,
			 "the size asked (swiotlb=, or 6 %% of memory clamped to 64 MiB-1 GiB in "
			 "a confidential guest) becomes a power of two, at least 128 slots an "
			 "area (swiotlb_adjust_nareas())");
		remedy(f, "nothing to change; to keep the memory, give swiotlb= a power of two in "
			  "slots (it is not rounded)");
		remedy_class(f, "none", 0);
	}
}

static void judge_log(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_log *l = &x->log;
	struct diag_finding *f;

	if (l->atomic) {
		/* coherent_pool= sizes each atomic pool; the kernel grows them
		 * in the background, too late for the allocation that failed. */
		uint64_t kib = pow2_up(l->atomic_kib ? sat_mul(l->atomic_kib, 4) : 4096);

		f = add(r, "atomic-pool-exhausted", DIAG_ERROR, NULL,
			"the DMA atomic pool ran out: a coherent allocation that may not sleep "
			"failed");
		evidence(f, "%s", l->atomic_line);
		if (l->atomic > 1)
			evidence(f, "%u such lines", l->atomic);
		if (l->atomic_kib)
			evidence(f, "the largest pool preallocated at boot: %" PRIu64 " KiB",
				 l->atomic_kib);
		if (x->env.cc_active)
			evidence(f,
				 "a %s guest: its coherent memory must be decrypted, which may "
				 "sleep, so every atomic allocation comes from these pools",
				 x->env.cc);
		remedy(f,
		       "a larger atomic pool: coherent_pool=%" PRIu64 "K on the kernel command "
		       "line (a larger swiotlb= does not help)",
		       kib);
		remedy_class(f, "coherent-pool", 0);
	}
	if (l->oops && !l->dma_oops) {
		f = add(r, "kernel-oops", DIAG_INFO, NULL,
			"the kernel reported a BUG or warning outside the DMA mapping code");
		evidence(f, "%s", l->oops_line);
		if (l->oops > 1)
			evidence(f, "%u such reports in the log", l->oops);
		remedy(f, "not a SWIOTLB problem by what the log shows: read the whole trace");
		remedy_class(f, "none", 0);
	}
	if (l->late) {
		f = add(r, "swiotlb-late", DIAG_ERROR, NULL,
			"a device needed bouncing but the kernel set up no SWIOTLB pool");
		evidence(f, "%s", l->late_line);
		if (x->env.noforce) {
			evidence(f, "swiotlb=noforce on the command line: no pool was made");
			remedy(f, "boot without swiotlb=noforce");
			remedy_class(f, "boot-pool", 0);
		} else if (x->pool.sized_mb || x->pool.boot_shortfall) {
			/* The size the kernel chose (or was given) did not fit
			 * below 4 GiB at boot: half of it, a power of two. */
			uint64_t asked = sat_mul(x->pool.sized_mb, (1 << 20) / DIAG_SLOT);
			uint64_t half = asked / 2 ? pow2_down(asked / 2) : 0;
			if (x->pool.sized_mb)
				evidence(f,
					 "the pool was sized %" PRIu64
					 " MB at boot (6 %% of memory "
					 "in a confidential guest), more than memory below 4 GiB "
					 "could give",
					 x->pool.sized_mb);
			for (int i = 0; i < x->pool.nshortfall_lines; i++)
				evidence(f, "%s", x->pool.shortfall_lines[i]);
			if (half)
				remedy(f,
				       "a pool that fits below 4 GiB: swiotlb=%" PRIu64 " (%s) on "
				       "the kernel command line, or more guest memory below 4 GiB",
				       half, SIZE(half));
			else
				remedy(f, "a smaller swiotlb= that fits below 4 GiB, or more guest "
					  "memory below 4 GiB");
			remedy_class(f, "shrink-pool", half);
		} else {
			if (x->pool.torn_down)
				evidence(f, "software IO TLB: tearing down default memory pool: an "
					    "IOMMU took over, yet a device still bounces");
			remedy(f,
			       "see why no pool was set up at boot: 'software IO TLB' lines "
			       "('Cannot allocate buffer', 'No low mem': a smaller swiotlb=); a pool "
			       "torn down while a device still needs it is a kernel bug");
			remedy_class(f, "investigate", 0);
		}
	}
	if (l->overflow) {
		f = add(r, "address-overflow", DIAG_ERROR, NULL,
			"a device cannot reach the bounce buffer: its DMA mask is below the pool");
		evidence(f, "%s", l->overflow_line);
		if (l->overflow > 1)
			evidence(f, "%u such lines", l->overflow);
		remedy(f, "the driver must set the DMA mask its device really has (and the pool "
			  "must sit below it: on 64-bit, swiotlb is allocated low at boot)");
		remedy_class(f, "fix-driver", 0);
	}
	if (l->dma_oops) {
		f = add(r, "dma-core-warning", DIAG_ERROR, NULL,
			"the kernel warned in the DMA mapping code");
		evidence(f, "%s", l->dma_oops_line[0]);
		if (l->dma_oops_line[1][0])
			evidence(f, "%s", l->dma_oops_line[1]);
		if (l->dma_oops > 1)
			evidence(f, "%u such reports in the log", l->dma_oops);
		if (x->env.cc_active && (strstr(l->dma_oops_line[0], "dma_direct_alloc") ||
					 strstr(l->dma_oops_line[0], "kernel/dma/pool.c"))) {
			/* dma_direct_alloc() in a confidential guest: decrypting the
			 * pages failed, or the atomic pool it must use ran dry. */
			remedy(f,
			       "in a %s guest a coherent allocation that may not sleep comes from "
			       "the atomic pool: a larger one, coherent_pool=%" PRIu64 "K; then "
			       "update the kernel and the driver named in the trace",
			       x->env.cc,
			       pow2_up(l->atomic_kib ? sat_mul(l->atomic_kib, 4) : 4096));
			remedy_class(f, "coherent-pool", 0);
		} else {
			remedy(f, "a kernel bug or a driver misusing the DMA API, named in the "
				  "trace: update the kernel and the driver; report the trace if it "
				  "stays");
			remedy_class(f, "update-kernel", 0);
		}
	}
	if (x->pool.grow_failed) {
		f = add(r, "pool-grow-failed", DIAG_WARNING, NULL,
			"the dynamic SWIOTLB pool could not grow: no memory for a new pool");
		evidence(f, "%s", x->pool.grow_failed_line);
		grow_remedy(x, f, pool_total(x), pool_total(x),
			    " so it need not grow under "
			    "memory pressure");
	}
	if (x->nlog_other) {
		f = add(r, "dma-errors-logged", DIAG_WARNING, NULL,
			"the kernel logged DMA bounce errors");
		for (int i = 0; i < x->nlog_other; i++)
			evidence(f, "%s", x->log_other[i]);
		remedy(f, "see the lines: a driver gave up on a mapping (a finding above may "
			  "say why)");
		remedy_class(f, "investigate", 0);
	}
	if (l->unknown) {
		f = add(r, "unrecognised-dma-line", DIAG_WARNING, NULL,
			"the kernel logged SWIOTLB or DMA lines that dmawatch does not recognise");
		for (unsigned i = 0; i < l->unknown && i < 3; i++)
			evidence(f, "%s", l->unknown_line[i]);
		if (l->unknown > 3)
			evidence(f, "%u such lines in all", l->unknown);
		remedy(f, "read them: dmawatch cannot judge them (please report them, so that it "
			  "learns them)");
		remedy_class(f, "investigate", 0);
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
		remedy_class(f, "none", 0);
	}
}

bool diag_unknown(const struct diag_facts *x)
{
	return !x->have_log && !pool_total(x) && !x->pool.have_used && !x->window.ran;
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
	f = add(r, "unrecognised-dma-line", DIAG_WARNING, NULL,
		"the kernel log holds refused SWIOTLB mappings that could not be read");
	evidence(f, "%s", x->log.key_line);
	if (x->log.key_lines > 1)
		evidence(f, "%u such lines in all", x->log.key_lines);
	remedy(f, "read them: a mapping was refused (see 'swiotlb buffer is full' in "
		  "dmawatch-diagnose(8))");
	remedy_class(f, "investigate", 0);
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
		evidence(f, "pool: %" PRIu64 " slots (%s)", total, SIZE(total));
	if (used_plausible(p) && total)
		evidence(f, "in use now: %" PRIu64 " slots (%.1f%%)", p->used,
			 100.0 * p->used / total);
	if (hiwater_kept(x, 0) && total)
		evidence(f, "high-water: %" PRIu64 " slots (%.1f%%)", p->hiwater,
			 100.0 * p->hiwater / total);
	for (int i = 0; i < x->ndevs; i++)
		if (x->devs[i].disk[0] && x->devs[i].max_sectors_kb > largest) {
			largest = x->devs[i].max_sectors_kb;
			big = &x->devs[i];
		}
	if (big && total)
		evidence(f,
			 "largest request: /dev/%s max_sectors_kb %" PRIu64 " = %" PRIu64
			 " slots of %" PRIu64,
			 big->disk, largest, diag_slots(sat_mul(largest, 1024)), total);
	if (x->window.ran)
		evidence(f, "live: %.1f s, pool use %" PRIu64 "-%" PRIu64 " slots",
			 x->window.seconds, x->window.used_min, x->window.used_max);
	remedy(f, "nothing to change");
	remedy_class(f, "none", 0);
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
	judge_refusal_words(x, r);
	judge_healthy(x, r);
	sort_by_severity(r);
}
