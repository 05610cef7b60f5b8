// SPDX-License-Identifier: GPL-2.0
/* SWIOTLB family, user half: its hooks, per-device aggregation and
 * rates, and what the outputs show of them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "family/family.h"
#include "family/swiotlb_rates.h"
#include "out/fmt.h"
#include "out/prom.h"
#include "out/report.h"
#include "swiotlb.skel.h"
#include "util.h"

struct swiotlb_state {
	struct swiotlb_bpf *skel; /* first: FAMILY_SKELETON */
};

/* The DMA-API hooks and swiotlb_map's: one set or the other counts the
 * mappings (swiotlb_wants()). */
#define HOOK_DMA_MAP 0
#define HOOK_DMA_MAP_SG 1
#define HOOK_SWIOTLB_MAP 2

static const struct hook hooks[] = {
	/* Where the kernel traces the DMA API (6.12+): a raw tracepoint per
	 * single mapping, which sees its result, and a fexit per list
	 * (family/swiotlb.bpf.c says why): no trampoline on every mapping. */
	[HOOK_DMA_MAP] = { .tracepoints = { "dma/dma_map_phys", "dma/dma_map_page" },
			   .prog = "swiotlb_dma_map",
			   .progs = HOOK_RAW_TP,
			   .required = true },
	[HOOK_DMA_MAP_SG] = { .funcs = { "__dma_map_sg_attrs" },
			      .prog = "swiotlb_map_sg",
			      .progs = HOOK_FEXIT,
			      .required = true },
	/* Elsewhere, and with --latency or -K: swiotlb_map, whose fexit alone
	 * counts a mapping; --detail adds the fentry that starts the clock. */
	[HOOK_SWIOTLB_MAP] = { .funcs = { "swiotlb_map" },
			       .prog = "swiotlb_map",
			       .progs = HOOK_FEXIT | HOOK_KPROBES,
			       .detail_progs = HOOK_FENTRY,
			       .required = true },
	/* The release and syncs, under whichever name this kernel has (6.6
	 * made the plain names inline wrappers of the __ ones). */
	{ .funcs = { "__swiotlb_tbl_unmap_single", "swiotlb_tbl_unmap_single" },
	  .prog = "swiotlb_unmap",
	  .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_tbl_unmap_single",
	  .detail_only = true },
	{ .funcs = { "__swiotlb_sync_single_for_device", "swiotlb_sync_single_for_device" },
	  .prog = "swiotlb_sync_dev",
	  .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_sync_single_for_device",
	  .detail_only = true },
	{ .funcs = { "__swiotlb_sync_single_for_cpu", "swiotlb_sync_single_for_cpu" },
	  .prog = "swiotlb_sync_cpu",
	  .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_sync_single_for_cpu",
	  .detail_only = true },
	/* A device freed: its counters leave for a row of their own, so that
	 * a later device at the same address starts from 0. Without it, a
	 * device added again under a removed one's name or address continues
	 * its row. */
	{ .funcs = { "device_release" },
	  .prog = "swiotlb_gone",
	  .progs = HOOK_FENTRY | HOOK_KPROBE },
};

FAMILY_SKELETON(swiotlb)

/* Whether the DMA API's hooks count the mappings here: the kernel has the
 * tracepoint and a trampoline on __dma_map_sg_attrs (asked again after a
 * refusal), and no option needs swiotlb_map's own entry (the --latency
 * clock, -K's kprobes). */
static bool dma_api_counts(struct family_run *f)
{
	const struct tp_probe *tp;
	const struct func_probe *sg;

	if (f->e->opts.detail || f->e->opts.kprobes)
		return false;
	tp = fam_tracepoint(f, &hooks[HOOK_DMA_MAP]);
	if (!tp || !(tp->in_btf || tp->in_tracefs))
		return false;
	sg = calibrate_func(&f->e->feat, hooks[HOOK_DMA_MAP_SG].funcs[0], NULL);
	return sg && sg->fentry_ok;
}

static bool swiotlb_wants(struct family_run *f, const struct hook *h)
{
	size_t i = h - hooks;

	if (i == HOOK_DMA_MAP || i == HOOK_DMA_MAP_SG)
		return dma_api_counts(f);
	if (i == HOOK_SWIOTLB_MAP) {
		if (!dma_api_counts(f))
			return true;
		fam_note(f, h->funcs[0], ATTACH_NONE, "-D and -K count here instead");
		return false;
	}
	return true;
}

/* One read: the snapshot, the names map, and the last names looked up
 * (a slot holds the same device on most CPUs). */
struct sw_read {
	struct snapshot *s;
	int names_fd;
	__u64 key;
	struct dmaw_names names;
};

/* Counters into a row's: the maximum and the limit are not sums (one row
 * adds a device's CPUs, and several keys of one name). */
static void sw_add(struct dmaw_swiotlb_stats *into, const struct dmaw_swiotlb_stats *v)
{
	__u64 max = into->max_size > v->max_size ? into->max_size : v->max_size;
	__u64 limit = v->limit ? v->limit : into->limit;

	add_u64_fields(into, v, sizeof(*v));
	into->max_size = max;
	into->limit = limit;
	into->bounce = 0;
}

/* One CPU's counters for the device at key (the struct device pointer),
 * from a slot or from the overflow hash. */
static void add_counts(struct sw_read *r, __u64 key, const struct dmaw_swiotlb_stats *v)
{
	struct dev_snapshot *d;

	/* A device the DMA-API hooks do not count (it bounces only some
	 * mappings) holds a slot, and nothing in it: those hooks return
	 * before counting, and no other hook runs beside them (--detail
	 * counts on swiotlb_map, where bounce stays 0). */
	/* A slot being released (device_gone(): key | 1) holds no device. */
	if (v->bounce == DMAW_BOUNCE_SOME || (key & 1))
		return;
	if (key != r->key) {
		/* Absent (the names map was full): named by its address. */
		memset(&r->names, 0, sizeof(r->names));
		bpf_map_lookup_elem(r->names_fd, &key, &r->names);
		r->names.dev[sizeof(r->names.dev) - 1] = 0;
		r->names.driver[sizeof(r->names.driver) - 1] = 0;
		r->key = key;
	}
	d = snapshot_dev(r->s, &r->names, key);
	if (d)
		sw_add(&d->sw, v);
}

static int add_overflow(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_swiotlb_stats *per = percpu;

	for (int c = 0; c < ncpus; c++)
		add_counts(ctx, *(const __u64 *)key, &per[c]);
	return 0;
}

/* The records of devices gone since the last read, into the engine's
 * departed rows, each taken out of the map once added. Read before the
 * live maps: family/swiotlb.bpf.c (device_gone()) says why. */
static void take_departed(struct family_run *f, int fd)
{
	struct dmaw_swiotlb_stats v;
	__u64 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		struct dev_snapshot *d;
		struct dmaw_names names;

		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) || bpf_map_delete_elem(fd, &key))
			break;
		names = v.names;
		d = departed_row(f->e->departed, &names, DEPARTED_SWIOTLB);
		if (d && v.bounce != DMAW_BOUNCE_SOME)
			sw_add(&d->sw, &v);
	}
}

static int swiotlb_read(struct family_run *f, struct snapshot *s)
{
	struct swiotlb_state *st = f->state;
	struct sw_read r = { .s = s, .names_fd = bpf_map__fd(st->skel->maps.swiotlb_names) };
	/* A per-CPU value's stride is its size rounded to 8 bytes. */
	_Static_assert(sizeof(struct dmaw_swiotlb_stats) % 8 == 0, "per-CPU stride");
	int ncpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(st->skel->maps.swiotlb_slots);
	struct dmaw_swiotlb_stats *per;

	if (ncpus <= 0)
		return -EINVAL;
	if (f->e->departed)
		take_departed(f, bpf_map__fd(st->skel->maps.swiotlb_gone));
	/* Records of departed devices the map had no room for. */
	s->rows_cut += st->skel->bss->swiotlb_gone_dropped;
	per = calloc(ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	/* Each CPU's copy of a slot counts for the device that claimed it
	 * there (0: none yet). */
	for (__u32 i = 0; i < DMAW_DEV_SLOTS; i++) {
		if (bpf_map_lookup_elem(fd, &i, per))
			continue;
		for (int c = 0; c < ncpus; c++)
			if (per[c].dev)
				add_counts(&r, per[c].dev, &per[c]);
	}
	free(per);
	return read_percpu_hash(bpf_map__fd(st->skel->maps.swiotlb_devs), sizeof(__u64),
				sizeof(struct dmaw_swiotlb_stats), add_overflow, &r);
}

/* ---- per-device arithmetic ---------------------------------------------- */

__u64 dev_maps(const struct dev_snapshot *d)
{
	__u64 n = 0;

	for (int i = 0; i < DMAW_DIRS; i++)
		n += d->sw.maps[i];
	return n;
}

__u64 dev_bytes(const struct dev_snapshot *d)
{
	__u64 n = 0;

	for (int i = 0; i < DMAW_DIRS; i++)
		n += d->sw.bytes[i];
	return n;
}

void dev_rates_between(struct dev_rates *r, const struct snapshot *prev,
		       const struct dev_snapshot *cur, double dt)
{
	const struct dev_snapshot *p = snapshot_find_dev(prev, cur->id.dev, cur->gone);
	struct dev_snapshot zero = {};
	__u64 maps;

	/* A later device of a departed one's name counts from 0. */
	if (!p || p->departures != cur->departures)
		p = &zero;
	if (!prev)
		dt = 0;
	memset(r, 0, sizeof(*r));
	r->dev = cur;
	if (cur->gone)
		return; /* nothing moves any more */
	r->maps_s = report_rate(dev_maps(cur), dev_maps(p), dt);
	/* Bidirectional mappings bounce both ways. */
	r->to_dev_Bps =
		report_rate(cur->sw.bytes[DMAW_DIR_TO_DEVICE] + cur->sw.bytes[DMAW_DIR_BIDI],
			    p->sw.bytes[DMAW_DIR_TO_DEVICE] + p->sw.bytes[DMAW_DIR_BIDI], dt);
	r->from_dev_Bps =
		report_rate(cur->sw.bytes[DMAW_DIR_FROM_DEVICE] + cur->sw.bytes[DMAW_DIR_BIDI],
			    p->sw.bytes[DMAW_DIR_FROM_DEVICE] + p->sw.bytes[DMAW_DIR_BIDI], dt);
	r->fail_s = report_rate(cur->sw.failures, p->sw.failures, dt);
	maps = dev_maps(cur) - dev_maps(p);
	r->avg_size = maps ? (double)(dev_bytes(cur) - dev_bytes(p)) / maps : 0;
}

/* ---- what the outputs show ---------------------------------------------- */

static void json_device(struct json *j, const struct snapshot *prev, const struct snapshot *cur,
			const struct dev_snapshot *d)
{
	struct dev_rates r;

	dev_rates_between(&r, prev, d, report_interval(prev, cur));
	json_u64(j, "maps", dev_maps(d));
	json_u64(j, "bytes", dev_bytes(d));
	json_dirs(j, "maps_by_direction", d->sw.maps);
	json_dirs(j, "bytes_by_direction", d->sw.bytes);
	json_u64(j, "failures", d->sw.failures);
	json_u64(j, "over_limit", d->sw.over_limit);
	if (cur->detail) {
		json_u64(j, "unmaps", d->sw.unmaps);
		json_u64(j, "unmap_bytes", d->sw.unmap_bytes);
		json_dirs(j, "sync_bytes", d->sw.sync_bytes);
	}
	json_u64(j, "max_size", d->sw.max_size);
	json_u64(j, "limit", d->sw.limit);
	if (cur->detail)
		json_u64(j, "latency_ns", d->sw.latency_ns);
	json_hist(j, "size_log2_hist", d->sw.size_hist);
	if (cur->detail)
		json_hist(j, "latency_log2_hist", d->sw.latency_hist);
	json_object_begin(j, "rates");
	json_double(j, "maps_per_s", r.maps_s);
	json_double(j, "to_device_bytes_per_s", r.to_dev_Bps);
	json_double(j, "from_device_bytes_per_s", r.from_dev_Bps);
	json_double(j, "failures_per_s", r.fail_s);
	json_object_end(j);
}

static void text_device(FILE *out, const struct snapshot *prev, const struct snapshot *cur,
			const struct dev_snapshot *d)
{
	char to[16], from[16], avg[16], max[16], limit[16];
	struct dev_rates r;

	if (!d) {
		fprintf(out, " %9s %9s %9s %7s %7s %7s %8s %8s", "MAPS/s", "TO-DEV/s", "FROM-DEV/s",
			"AVG", "MAX", "LIMIT", "FAIL/s", "OVERLIM");
		return;
	}
	dev_rates_between(&r, prev, d, report_interval(prev, cur));
	fmt_bytes(to, sizeof(to), r.to_dev_Bps);
	fmt_bytes(from, sizeof(from), r.from_dev_Bps);
	fmt_bytes(avg, sizeof(avg), r.avg_size);
	fmt_bytes(max, sizeof(max), d->sw.max_size);
	/* swiotlb_max_mapping_size(): whole 2 KiB slots, at most 256 KiB, so
	 * fmt_bytes() prints it exactly (252K for NVMe, 256K without a
	 * min_align_mask); unknown (0) where no mapping of the device
	 * went through this family's hooks (as in export). */
	if (d->sw.limit)
		fmt_bytes(limit, sizeof(limit), d->sw.limit);
	else
		snprintf(limit, sizeof(limit), "-");
	fprintf(out, " %9.0f %9s %9s %7s %7s %7s %8.0f %8llu", r.maps_s, to, from, avg, max, limit,
		r.fail_s, (unsigned long long)d->sw.over_limit);
}

static const __u64 *v_maps(const struct dev_snapshot *d)
{
	return d->sw.maps;
}
static const __u64 *v_bytes(const struct dev_snapshot *d)
{
	return d->sw.bytes;
}
static const __u64 *v_sync(const struct dev_snapshot *d)
{
	return d->sw.sync_bytes;
}
static unsigned long long v_failures(const struct dev_snapshot *d)
{
	return d->sw.failures;
}
static unsigned long long v_over_limit(const struct dev_snapshot *d)
{
	return d->sw.over_limit;
}
static unsigned long long v_unmaps(const struct dev_snapshot *d)
{
	return d->sw.unmaps;
}
static unsigned long long v_unmap_bytes(const struct dev_snapshot *d)
{
	return d->sw.unmap_bytes;
}
static unsigned long long v_max_size(const struct dev_snapshot *d)
{
	return d->sw.max_size;
}

static void prom(struct prom_out *o)
{
	const struct prom_rows *r = o->devs;
	const struct snapshot *s = o->s;
	bool limits = false;

	prom_dev_dirs(o, "dmawatch_bounce_mappings_total",
		      "Mappings bounced through SWIOTLB (successful swiotlb_map calls).", v_maps);
	prom_dev_dirs(o, "dmawatch_bounce_bytes_total",
		      "Bytes of the mappings bounced through SWIOTLB.", v_bytes);
	prom_dev_metric(o, "dmawatch_map_failures_total", "counter",
			"swiotlb_map calls that failed: no free run of slots long enough "
			"(pool full or fragmented) or over the limit.",
			v_failures);
	prom_dev_metric(o, "dmawatch_over_limit_mappings_total", "counter",
			"Mappings attempted larger than swiotlb_max_mapping_size(); they "
			"can never succeed.",
			v_over_limit);
	if (s->detail) {
		prom_dev_metric(o, "dmawatch_bounce_unmaps_total", "counter",
				"Bounce slots released (swiotlb_tbl_unmap_single; with "
				"--detail).",
				v_unmaps);
		prom_dev_metric(o, "dmawatch_bounce_unmapped_bytes_total", "counter",
				"Bytes of the bounce slots released (with --detail).",
				v_unmap_bytes);
		prom_dev_dirs(o, "dmawatch_bounce_sync_bytes_total",
			      "Bytes copied by swiotlb_sync_single_for_{device,cpu} "
			      "(with --detail).",
			      v_sync);
	}
	if (r->n) {
		prom_family(o, "dmawatch_mapping_size_bytes", "histogram",
			    "Sizes of swiotlb_map attempts, failed ones included; _sum "
			    "adds only the bytes of successful mappings.");
		for (size_t i = 0; i < r->n; i++) {
			const struct dev_snapshot *d = &s->devs[r->idx[i]];

			prom_histogram(o, "dmawatch_mapping_size_bytes", r->labels[i],
				       d->sw.size_hist, 1, dev_bytes(d));
		}
	}
	if (r->n && s->detail) {
		prom_family(o, "dmawatch_map_duration_seconds", "histogram",
			    "Time swiotlb_map took, slot search and copy included "
			    "(with --detail).");
		for (size_t i = 0; i < r->n; i++) {
			const struct dev_snapshot *d = &s->devs[r->idx[i]];

			prom_histogram(o, "dmawatch_map_duration_seconds", r->labels[i],
				       d->sw.latency_hist, 1e-9, d->sw.latency_ns * 1e-9);
		}
	}
	prom_dev_metric(o, "dmawatch_mapping_largest_bytes", "gauge",
			"Largest mapping attempted since dmawatch attached.", v_max_size);
	/* The limit is known once the device mapped through swiotlb_map. */
	for (size_t i = 0; i < r->n; i++) {
		const struct dev_snapshot *d = &s->devs[r->idx[i]];

		if (!d->sw.limit)
			continue;
		if (!limits)
			prom_family(o, "dmawatch_mapping_limit_bytes", "gauge",
				    "swiotlb_max_mapping_size() of the device: larger "
				    "mappings fail.");
		limits = true;
		prom_sample(o, "dmawatch_mapping_limit_bytes", r->labels[i], NULL, d->sw.limit);
	}
}

/* Counters, and running maxima (max_size, limit): each only grows. */
static void keep_device(struct dev_snapshot *cur, const struct dev_snapshot *last)
{
	prom_max_u64s(&cur->sw.maps, &last->sw.maps,
		      sizeof(cur->sw) - offsetof(struct dmaw_swiotlb_stats, maps));
}

static void add_device(struct dev_snapshot *into, const struct dev_snapshot *from)
{
	sw_add(&into->sw, &from->sw);
}

const struct family swiotlb_family = {
	.name = "swiotlb",
	.summary = "every bounced mapping, its release and syncs, per device",
	.hooks = hooks,
	.nhooks = ARRAY_SIZE(hooks),
	.state_size = sizeof(struct swiotlb_state),
	FAMILY_SKELETON_OPS(swiotlb),
	.wants = swiotlb_wants,
	.read = swiotlb_read,
	.view = {
		.json_device = json_device,
		.text_device = text_device,
		.prom = prom,
		.keep_device = keep_device,
		.add_device = add_device,
	},
};
