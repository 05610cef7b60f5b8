// SPDX-License-Identifier: GPL-2.0
/* DMA mapping API family, user half: its hooks, per-device totals, and
 * what the outputs show of them. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dmamap.skel.h"
#include "engine/engine.h"
#include "family/family.h"
#include "out/prom.h"
#include "out/report.h"
#include "util.h"

struct dmamap_state {
	struct dmamap_bpf *skel; /* first: FAMILY_SKELETON */
};

static const struct hook hooks[] = {
	/* fexit sees the arguments too: no entry program with fexit. */
	/* Every mapping a second time (swiotlb_map counts the bounced ones):
	 * only with --detail, which may cost more per mapping. */
	{ .funcs = { "dma_map_page_attrs" },
	  .prog = "dma_map_page",
	  .progs = HOOK_FEXIT | HOOK_KPROBES,
	  .detail_only = true },
	{ .funcs = { "__dma_map_sg_attrs" },
	  .prog = "dma_map_sg",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	/* A device freed: its row ends (family/swiotlb.c says why). */
	{ .funcs = { "device_release" },
	  .prog = "dmamap_gone",
	  .progs = HOOK_FENTRY | HOOK_KPROBE },
};

FAMILY_SKELETON(dmamap)

/* Counters into a row's: the largest segment is not a sum. */
static void api_add(struct dmaw_dmamap_stats *into, const struct dmaw_dmamap_stats *v)
{
	__u64 largest = into->sg_largest_segment > v->sg_largest_segment ?
				into->sg_largest_segment :
				v->sg_largest_segment;

	add_u64_fields(into, v, sizeof(*v));
	into->sg_largest_segment = largest;
}

static int add_device(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_dmamap_stats *per = percpu;
	struct dmaw_dmamap_stats total;
	struct dev_snapshot *d;
	__u64 largest;

	sum_percpu_u64(&total, per, sizeof(total), ncpus);
	d = snapshot_dev(ctx, &total.names, *(const __u64 *)key);
	if (!d)
		return 0;
	/* The largest segment is not a sum. */
	largest = d->api.sg_largest_segment;
	add_u64_fields(&d->api, &total, sizeof(total));
	for (int c = 0; c < ncpus; c++)
		if (per[c].sg_largest_segment > largest)
			largest = per[c].sg_largest_segment;
	d->api.sg_largest_segment = largest;
	return 0;
}

/* The records of devices gone since the last read, into the engine's
 * departed rows, each taken out once added; before the live map (as the
 * swiotlb family reads). */
static void take_departed(struct family_run *f, int fd)
{
	struct dmaw_dmamap_stats v;
	__u64 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		struct dev_snapshot *d;

		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) || bpf_map_delete_elem(fd, &key))
			break;
		d = departed_row(f->e->departed, &v.names, DEPARTED_DMAMAP);
		if (d)
			api_add(&d->api, &v);
	}
}

static int dmamap_read(struct family_run *f, struct snapshot *s)
{
	struct dmamap_state *st = f->state;

	if (f->e->departed)
		take_departed(f, bpf_map__fd(st->skel->maps.dmamap_gone));
	s->rows_cut += st->skel->bss->dmamap_gone_dropped;
	return read_percpu_hash(bpf_map__fd(st->skel->maps.dmamap_devs), sizeof(__u64),
				sizeof(struct dmaw_dmamap_stats), add_device, s);
}

/* ---- what the outputs show ---------------------------------------------- */

static void json_device(struct json *j, const struct snapshot *prev, const struct snapshot *cur,
			const struct dev_snapshot *d)
{
	(void)prev;
	json_u64(j, "never_fit", d->api.never_fit);
	json_object_begin(j, "dma_api");
	/* dma_map_page_attrs is hooked only with --detail. */
	if (cur->detail) {
		json_u64(j, "page_maps", d->api.page_maps);
		json_u64(j, "page_bytes", d->api.page_bytes);
		json_u64(j, "page_errors", d->api.page_errors);
	}
	json_u64(j, "sg_maps", d->api.sg_maps);
	json_u64(j, "sg_nents", d->api.sg_nents);
	json_u64(j, "sg_bytes", d->api.sg_bytes);
	json_u64(j, "sg_errors", d->api.sg_errors);
	json_u64(j, "sg_largest_segment", d->api.sg_largest_segment);
	json_u64(j, "sg_segments_over_limit", d->api.sg_segments_over_limit);
	json_object_end(j);
}

static void text_device(FILE *out, const struct snapshot *prev, const struct snapshot *cur,
			const struct dev_snapshot *d)
{
	(void)prev;
	(void)cur;
	if (d)
		fprintf(out, " %8llu", (unsigned long long)d->api.never_fit);
	else
		fprintf(out, " %8s", "NEVERFIT");
}

static unsigned long long v_never_fit(const struct dev_snapshot *d)
{
	return d->api.never_fit;
}
static unsigned long long v_sg_entries(const struct dev_snapshot *d)
{
	return d->api.sg_nents;
}
static unsigned long long v_sg_over(const struct dev_snapshot *d)
{
	return d->api.sg_segments_over_limit;
}
static unsigned long long v_sg_largest(const struct dev_snapshot *d)
{
	return d->api.sg_largest_segment;
}

static void prom(struct prom_out *o)
{
	static const struct {
		const char *name, *help;
	} api[] = {
		{ "dmawatch_dma_api_calls_total",
		  "DMA API mapping calls: api=map_sg (__dma_map_sg_attrs) or, with "
		  "--detail, map_page (dma_map_page_attrs)." },
		{ "dmawatch_dma_api_bytes_total", "Bytes the DMA API calls mapped." },
		{ "dmawatch_dma_api_errors_total", "DMA API mapping calls that failed." },
	};
	const struct prom_rows *r = o->devs;

	prom_dev_metric(o, "dmawatch_never_fit_requests_total", "counter",
			"dma_map_sg lists that failed needing more slots than the whole "
			"pool has; they can never succeed.",
			v_never_fit);
	for (size_t k = 0; r->n && k < sizeof(api) / sizeof(api[0]); k++) {
		prom_family(o, api[k].name, "counter", api[k].help);
		for (size_t i = 0; i < r->n; i++) {
			const struct dmaw_dmamap_stats *a = &o->s->devs[r->idx[i]].api;
			const __u64 page[] = { a->page_maps, a->page_bytes, a->page_errors };
			const __u64 sg[] = { a->sg_maps, a->sg_bytes, a->sg_errors };

			if (o->s->detail)
				prom_sample(o, api[k].name, r->labels[i], "api=\"map_page\"",
					    page[k]);
			prom_sample(o, api[k].name, r->labels[i], "api=\"map_sg\"", sg[k]);
		}
	}
	prom_dev_metric(o, "dmawatch_dma_sg_entries_total", "counter",
			"Scatterlist entries passed to dma_map_sg.", v_sg_entries);
	prom_dev_metric(o, "dmawatch_dma_sg_segments_over_limit_total", "counter",
			"Scatterlist segments larger than swiotlb_max_mapping_size().", v_sg_over);
	prom_dev_metric(o, "dmawatch_dma_sg_largest_segment_bytes", "gauge",
			"Largest scatterlist segment seen since dmawatch attached.", v_sg_largest);
}

/* Counters, and the largest segment: each only grows. */
static void add_row(struct dev_snapshot *into, const struct dev_snapshot *from)
{
	api_add(&into->api, &from->api);
}

static void keep_device(struct dev_snapshot *cur, const struct dev_snapshot *last)
{
	prom_max_u64s(&cur->api.page_maps, &last->api.page_maps,
		      sizeof(cur->api) - offsetof(struct dmaw_dmamap_stats, page_maps));
}

const struct family dmamap_family = {
	.name = "dmamap",
	.summary = "dma_map_page_attrs and dma_map_sg: segment sizes any driver maps",
	.hooks = hooks,
	.nhooks = ARRAY_SIZE(hooks),
	.state_size = sizeof(struct dmamap_state),
	FAMILY_SKELETON_OPS(dmamap),
	.read = dmamap_read,
	.view = {
		.json_device = json_device,
		.text_device = text_device,
		.prom = prom,
		.keep_device = keep_device,
		.add_device = add_row,
	},
};
