// SPDX-License-Identifier: GPL-2.0
/*
 * Metric families of `dmawatch export`. Conventions (prometheus.io, "metric
 * and label naming"): dmawatch_ prefix, base units in the name (bytes,
 * seconds), _total on counters, a HELP and a TYPE line per family, label
 * sets bounded by the devices and virtqueues of the machine (no pids).
 * Counters are cumulative since the probes were attached, as the BPF maps
 * are; rate() and increase() make intervals of them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* As `dmawatch stat --json` names them; DMA_NONE mappings never succeed. */
static const char *const dir_names[DMAW_DIRS - 1] = { "bidirectional", "to_device",
						       "from_device" };
static const char *const vq_reasons[DMAW_VQ_ERRS] = { "enospc", "enomem", "eio", "other" };

/* Long enough for the largest label set: the virtqueue's four names, each
 * of which may double in escaping. */
#define LABELS_LEN 512

char *prom_label_value(char *out, size_t len, const char *s, size_t max)
{
	size_t o = 0;

	if (!len)
		return out;
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];
		const char *esc = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
		size_t n = esc ? 2 : 1;

		if (o + n >= len)
			break;
		if (esc)
			memcpy(out + o, esc, 2);
		else
			out[o] = c >= 0x20 && c < 0x7f ? c : '?';
		o += n;
	}
	out[o] = 0;
	return out;
}

unsigned long long prom_log2_le(int slot)
{
	return (2ULL << slot) - 1;
}

/* Appends name="value" (escaped) to a label list. */
static void add_label(char *labels, size_t len, const char *name, const char *value,
		      size_t max)
{
	size_t used = strlen(labels);
	char esc[128];

	prom_label_value(esc, sizeof(esc), value, max);
	snprintf(labels + used, len - used, "%s%s=\"%s\"", used ? "," : "", name, esc);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels[,extra]} value */
static void sample(FILE *f, const char *name, const char *labels, const char *extra,
		   unsigned long long v)
{
	bool l = labels && *labels, x = extra && *extra;

	if (!l && !x)
		fprintf(f, "%s %llu\n", name, v);
	else
		fprintf(f, "%s{%s%s%s} %llu\n", name, l ? labels : "", l && x ? "," : "",
			x ? extra : "", v);
}

/* Doubles: durations get 9 significant digits; a Unix time needs its
 * seconds exactly, and milliseconds are enough. */
static void sample_double(FILE *f, const char *name, const char *labels, double v,
			  bool timestamp)
{
	fprintf(f, timestamp ? "%s%s%s%s %.3f\n" : "%s%s%s%s %.9g\n", name,
		labels && *labels ? "{" : "", labels ? labels : "",
		labels && *labels ? "}" : "", v);
}

/* ---- rows ------------------------------------------------------------------
 * The snapshot's rows, with their label sets built once and duplicates left
 * out: two samples with one label set would make node_exporter reject the
 * whole textfile directory. */

struct rows {
	size_t n;
	size_t idx[SNAP_MAX_DEVS > SNAP_MAX_VQS ? SNAP_MAX_DEVS : SNAP_MAX_VQS];
	char labels[SNAP_MAX_DEVS > SNAP_MAX_VQS ? SNAP_MAX_DEVS : SNAP_MAX_VQS][LABELS_LEN];
};

static bool seen(const struct rows *r, const char *labels)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->labels[i], labels))
			return true;
	return false;
}

static void device_rows(struct rows *r, const struct snapshot *s)
{
	r->n = 0;
	for (size_t i = 0; i < s->ndevs && i < SNAP_MAX_DEVS; i++) {
		const struct dev_snapshot *d = &s->devs[i];
		char *l = r->labels[r->n];

		l[0] = 0;
		add_label(l, LABELS_LEN, "device", d->id.dev, sizeof(d->id.dev));
		add_label(l, LABELS_LEN, "driver", d->id.driver, sizeof(d->id.driver));
		if (!seen(r, l))
			r->idx[r->n++] = i;
	}
}

static void vq_rows(struct rows *r, const struct snapshot *s)
{
	r->n = 0;
	for (size_t i = 0; i < s->nvqs && i < SNAP_MAX_VQS; i++) {
		const struct vq_snapshot *v = &s->vqs[i];
		char *l = r->labels[r->n];

		l[0] = 0;
		add_label(l, LABELS_LEN, "device", v->key.dev, sizeof(v->key.dev));
		add_label(l, LABELS_LEN, "vq", v->key.vq, sizeof(v->key.vq));
		add_label(l, LABELS_LEN, "driver", v->st.names.driver, sizeof(v->st.names.driver));
		add_label(l, LABELS_LEN, "dma_device", v->st.names.dev, sizeof(v->st.names.dev));
		if (!seen(r, l))
			r->idx[r->n++] = i;
	}
}

/* ---- families ------------------------------------------------------------ */

/* One value per device row, read by get(). */
typedef unsigned long long (*dev_value_fn)(const struct dev_snapshot *d);

static void dev_family(FILE *f, const struct snapshot *s, const struct rows *r,
		       const char *name, const char *type, const char *help, dev_value_fn get)
{
	if (!r->n)
		return;
	family(f, name, type, help);
	for (size_t i = 0; i < r->n; i++)
		sample(f, name, r->labels[i], NULL, get(&s->devs[r->idx[i]]));
}

/* Per-direction counters: the array at byte offset off of struct
 * dmaw_swiotlb_stats. */
static void dev_dir_family(FILE *f, const struct snapshot *s, const struct rows *r,
			   const char *name, const char *help, size_t off)
{
	char extra[64];

	if (!r->n)
		return;
	family(f, name, "counter", help);
	for (size_t i = 0; i < r->n; i++) {
		const __u64 *v = (const __u64 *)((const char *)&s->devs[r->idx[i]].sw + off);

		for (int k = 0; k < DMAW_DIRS - 1; k++) {
			snprintf(extra, sizeof(extra), "direction=\"%s\"", dir_names[k]);
			sample(f, name, r->labels[i], extra, v[k]);
		}
	}
}

/* A log2 histogram as a Prometheus histogram: cumulative buckets with
 * le = 2^(i+1)-1 (see prom_log2_le), scaled by `scale` (1e-9: ns to s). */
static void histogram(FILE *f, const char *name, const char *labels, const __u64 *hist,
		      double scale, double sum)
{
	char bucket[128], extra[64];
	unsigned long long cum = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (int i = 0; i < DMAW_HIST_SLOTS - 1; i++) {
		cum += hist[i];
		if (scale == 1)
			snprintf(extra, sizeof(extra), "le=\"%llu\"", prom_log2_le(i));
		else
			snprintf(extra, sizeof(extra), "le=\"%.10g\"", prom_log2_le(i) * scale);
		sample(f, bucket, labels, extra, cum);
	}
	cum += hist[DMAW_HIST_SLOTS - 1];
	sample(f, bucket, labels, "le=\"+Inf\"", cum);
	fprintf(f, "%s_sum{%s} %.9g\n", name, labels, sum);
	fprintf(f, "%s_count{%s} %llu\n", name, labels, cum);
}

static unsigned long long v_failures(const struct dev_snapshot *d) { return d->sw.failures; }
static unsigned long long v_over_limit(const struct dev_snapshot *d) { return d->sw.over_limit; }
static unsigned long long v_never_fit(const struct dev_snapshot *d) { return d->api.never_fit; }
static unsigned long long v_unmaps(const struct dev_snapshot *d) { return d->sw.unmaps; }
static unsigned long long v_unmap_bytes(const struct dev_snapshot *d) { return d->sw.unmap_bytes; }
static unsigned long long v_max_size(const struct dev_snapshot *d) { return d->sw.max_size; }
static unsigned long long v_sg_entries(const struct dev_snapshot *d) { return d->api.sg_nents; }
static unsigned long long v_sg_over(const struct dev_snapshot *d)
{
	return d->api.sg_segments_over_limit;
}
static unsigned long long v_sg_largest(const struct dev_snapshot *d)
{
	return d->api.sg_largest_segment;
}

static void devices(FILE *f, const struct snapshot *s)
{
	/* Up to SNAP_MAX_DEVS label sets each: not for the stack. */
	static struct rows r, with_limit;
	char extra[64];

	device_rows(&r, s);
	with_limit.n = 0;
	dev_dir_family(f, s, &r, "dmawatch_bounce_mappings_total",
		       "Mappings bounced through SWIOTLB (successful swiotlb_map calls).",
		       offsetof(struct dmaw_swiotlb_stats, maps));
	dev_dir_family(f, s, &r, "dmawatch_bounce_bytes_total",
		       "Bytes of the mappings bounced through SWIOTLB.",
		       offsetof(struct dmaw_swiotlb_stats, bytes));
	dev_family(f, s, &r, "dmawatch_map_failures_total", "counter",
		   "swiotlb_map calls that failed: no free run of slots long enough "
		   "(pool full or fragmented) or over the limit.", v_failures);
	dev_family(f, s, &r, "dmawatch_over_limit_mappings_total", "counter",
		   "Mappings attempted larger than swiotlb_max_mapping_size(); they "
		   "can never succeed.", v_over_limit);
	dev_family(f, s, &r, "dmawatch_never_fit_requests_total", "counter",
		   "dma_map_sg lists that failed needing more slots than the whole "
		   "pool has; they can never succeed.", v_never_fit);
	dev_family(f, s, &r, "dmawatch_bounce_unmaps_total", "counter",
		   "Bounce slots released (swiotlb_tbl_unmap_single).", v_unmaps);
	dev_family(f, s, &r, "dmawatch_bounce_unmapped_bytes_total", "counter",
		   "Bytes of the bounce slots released.", v_unmap_bytes);
	if (s->latency)
		dev_dir_family(f, s, &r, "dmawatch_bounce_sync_bytes_total",
			       "Bytes copied by swiotlb_sync_single_for_{device,cpu} "
			       "(with --latency).",
			       offsetof(struct dmaw_swiotlb_stats, sync_bytes));
	if (r.n) {
		family(f, "dmawatch_mapping_size_bytes", "histogram",
		       "Sizes of swiotlb_map attempts, failed ones included; _sum "
		       "adds only the bytes of successful mappings.");
		for (size_t i = 0; i < r.n; i++) {
			const struct dev_snapshot *d = &s->devs[r.idx[i]];
			unsigned long long bytes = 0;

			for (int k = 0; k < DMAW_DIRS; k++)
				bytes += d->sw.bytes[k];
			histogram(f, "dmawatch_mapping_size_bytes", r.labels[i], d->sw.size_hist, 1,
				  bytes);
		}
	}
	if (r.n && s->latency) {
		family(f, "dmawatch_map_duration_seconds", "histogram",
		       "Time swiotlb_map took, slot search and copy included (with --latency).");
		for (size_t i = 0; i < r.n; i++) {
			const struct dev_snapshot *d = &s->devs[r.idx[i]];

			histogram(f, "dmawatch_map_duration_seconds", r.labels[i],
				  d->sw.latency_hist, 1e-9, d->sw.latency_ns * 1e-9);
		}
	}
	dev_family(f, s, &r, "dmawatch_mapping_largest_bytes", "gauge",
		   "Largest mapping attempted since dmawatch attached.", v_max_size);
	/* The limit is known once the device mapped through swiotlb_map. */
	for (size_t i = 0; i < r.n; i++)
		if (s->devs[r.idx[i]].sw.limit) {
			with_limit.idx[with_limit.n] = r.idx[i];
			memcpy(with_limit.labels[with_limit.n++], r.labels[i], LABELS_LEN);
		}
	if (with_limit.n) {
		family(f, "dmawatch_mapping_limit_bytes", "gauge",
		       "swiotlb_max_mapping_size() of the device: larger mappings fail.");
		for (size_t i = 0; i < with_limit.n; i++)
			sample(f, "dmawatch_mapping_limit_bytes", with_limit.labels[i], NULL,
			       s->devs[with_limit.idx[i]].sw.limit);
	}
	if (r.n) {
		static const struct {
			const char *name, *type, *help;
		} api[] = {
			{ "dmawatch_dma_api_calls_total", "counter",
			  "DMA API mapping calls: api=map_page (dma_map_page_attrs) or "
			  "map_sg (__dma_map_sg_attrs)." },
			{ "dmawatch_dma_api_bytes_total", "counter", "Bytes the DMA API calls mapped." },
			{ "dmawatch_dma_api_errors_total", "counter",
			  "DMA API mapping calls that failed." },
		};

		for (size_t k = 0; k < 3; k++) {
			family(f, api[k].name, api[k].type, api[k].help);
			for (size_t i = 0; i < r.n; i++) {
				const struct dmaw_dmamap_stats *a = &s->devs[r.idx[i]].api;
				const __u64 page[] = { a->page_maps, a->page_bytes, a->page_errors };
				const __u64 sg[] = { a->sg_maps, a->sg_bytes, a->sg_errors };

				snprintf(extra, sizeof(extra), "api=\"map_page\"");
				sample(f, api[k].name, r.labels[i], extra, page[k]);
				snprintf(extra, sizeof(extra), "api=\"map_sg\"");
				sample(f, api[k].name, r.labels[i], extra, sg[k]);
			}
		}
	}
	dev_family(f, s, &r, "dmawatch_dma_sg_entries_total", "counter",
		   "Scatterlist entries passed to dma_map_sg.", v_sg_entries);
	dev_family(f, s, &r, "dmawatch_dma_sg_segments_over_limit_total", "counter",
		   "Scatterlist segments larger than swiotlb_max_mapping_size().", v_sg_over);
	dev_family(f, s, &r, "dmawatch_dma_sg_largest_segment_bytes", "gauge",
		   "Largest scatterlist segment seen since dmawatch attached.", v_sg_largest);
}

static void pool(FILE *f, const struct snapshot *s)
{
	const struct dmaw_pool_stats *p = &s->pool;
	bool ok = p->flags & DMAW_POOL_OK;
	const struct {
		const char *name, *help;
		unsigned long long v;
	} gauges[] = {
		{ "dmawatch_pool_slots", "Slots of the default SWIOTLB pool (2 KiB each).",
		  p->nslabs },
		{ "dmawatch_pool_slots_used", "Slots in use (the kernel's own count).", p->used },
		{ "dmawatch_pool_largest_free_run_slots",
		  "Longest run of free slots; a mapping of n bytes needs ceil(n/2048) "
		  "contiguous slots, at most 128.", p->largest_free_run },
		{ "dmawatch_pool_largest_free_run_page_aligned_slots",
		  "Longest run of free slots starting page-aligned: what a mapping of "
		  "4 KiB or more can get.", p->largest_free_run_page },
		{ "dmawatch_pool_free_segments", "128-slot segments entirely free.",
		  p->free_segments },
		{ "dmawatch_pool_areas", "Areas (locks) the pool is split into.", p->nareas },
		{ "dmawatch_pool_slot_size_bytes", "Size of one slot.", DMAW_IO_TLB_SIZE },
		{ "dmawatch_pool_segment_slots",
		  "Slots of one segment: the most one mapping can use.", DMAW_IO_TLB_SEGSIZE },
	};

	family(f, "dmawatch_pool_scan_ok", "gauge",
	       "1 if the last read of the SWIOTLB pool succeeded; the pool gauges are "
	       "left out otherwise.");
	sample(f, "dmawatch_pool_scan_ok", NULL, NULL, ok);
	if (!ok)
		return;
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		family(f, gauges[i].name, "gauge", gauges[i].help);
		sample(f, gauges[i].name, NULL, NULL, gauges[i].v);
	}
	family(f, "dmawatch_pool_slots_high_water", "gauge",
	       "Most slots in use at once: source=kernel is io_tlb_mem.used_hiwater "
	       "(since boot); source=dmawatch is dmawatch's own, since it attached.");
	sample(f, "dmawatch_pool_slots_high_water", NULL,
	       p->flags & DMAW_POOL_HIWATER_KERNEL ? "source=\"kernel\"" : "source=\"dmawatch\"",
	       p->hiwater);
	family(f, "dmawatch_pool_scan_duration_seconds", "gauge",
	       "Time the last slot scan took in the kernel.");
	sample_double(f, "dmawatch_pool_scan_duration_seconds", NULL, p->scan_ns * 1e-9, false);
}

static void virtqueues(FILE *f, const struct snapshot *s)
{
	static struct rows r;
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "dmawatch_virtqueue_submissions_total",
		  "Successful virtqueue_add_{sgs,outbuf,inbuf} calls.",
		  offsetof(struct dmaw_vq_stats, adds) },
		{ "dmawatch_virtqueue_submitted_bytes_total", "Bytes of the successful submissions.",
		  offsetof(struct dmaw_vq_stats, bytes) },
		{ "dmawatch_virtqueue_sg_entries_total",
		  "Scatterlist entries of the successful submissions.",
		  offsetof(struct dmaw_vq_stats, sg_entries) },
		{ "dmawatch_virtqueue_never_fit_requests_total",
		  "Requests that failed needing more slots than the whole pool has "
		  "(each counted once; the driver may retry them forever).",
		  offsetof(struct dmaw_vq_stats, never_fit_reqs) },
		{ "dmawatch_virtqueue_never_fit_failures_total",
		  "Failed submissions of never-fitting requests, retries included.",
		  offsetof(struct dmaw_vq_stats, never_fit) },
	};
	char extra[64];

	vq_rows(&r, s);
	if (!r.n)
		return;
	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		family(f, counters[k].name, "counter", counters[k].help);
		for (size_t i = 0; i < r.n; i++) {
			const char *st = (const char *)&s->vqs[r.idx[i]].st;

			sample(f, counters[k].name, r.labels[i], NULL,
			       *(const __u64 *)(st + counters[k].off));
		}
	}
	family(f, "dmawatch_virtqueue_failures_total", "counter",
	       "Failed submissions by errno: enospc (ring full), enomem (DMA mapping, "
	       "split ring), eio (DMA mapping, packed ring), other.");
	for (size_t i = 0; i < r.n; i++)
		for (int k = 0; k < DMAW_VQ_ERRS; k++) {
			snprintf(extra, sizeof(extra), "reason=\"%s\"", vq_reasons[k]);
			sample(f, "dmawatch_virtqueue_failures_total", r.labels[i], extra,
			       s->vqs[r.idx[i]].st.failures[k]);
		}
}

static bool family_attached(const struct prom_health *h, const char *name)
{
	for (size_t i = 0; i < h->nfamilies; i++)
		if (h->families[i].name && !strcmp(h->families[i].name, name))
			return h->families[i].attached;
	return false;
}

static void health_head(FILE *f, const struct prom_health *h)
{
	char labels[LABELS_LEN];
	bool any = false;

	labels[0] = 0;
	add_label(labels, sizeof(labels), "version", h->version ? h->version : "unknown", 64);
	family(f, "dmawatch_build_info", "gauge", "The running dmawatch; the value is 1.");
	sample(f, "dmawatch_build_info", labels, NULL, 1);
	family(f, "dmawatch_start_time_seconds", "gauge",
	       "Unix time the exporter started (counters count from about then).");
	sample_double(f, "dmawatch_start_time_seconds", NULL, h->started_at, true);

	if (h->nfamilies) {
		family(f, "dmawatch_probe_family_attached", "gauge",
		       "1 if the probe family is loaded and attached (see dmawatch probe).");
		for (size_t i = 0; i < h->nfamilies; i++) {
			labels[0] = 0;
			add_label(labels, sizeof(labels), "family", h->families[i].name, 32);
			sample(f, "dmawatch_probe_family_attached", labels, NULL,
			       h->families[i].attached);
		}
	}
	/* One sample per hook the families chose for ("-" notes only say a
	 * family was left out: the family gauge has that). */
	for (size_t i = 0; i < h->nnotes; i++) {
		const struct attach_note *n = &h->notes[i];
		bool dup = false;

		if (!n->family || !n->hook || !strcmp(n->hook, "-"))
			continue;
		/* A family may note a hook twice: keep the first choice. */
		for (size_t j = 0; j < i && !dup; j++)
			dup = h->notes[j].family && h->notes[j].hook &&
			      !strcmp(h->notes[j].family, n->family) &&
			      !strcmp(h->notes[j].hook, n->hook);
		if (dup)
			continue;
		if (!any)
			family(f, "dmawatch_probe_attached", "gauge",
			       "1 if the hook is attached; attach says how (fentry, kprobe, "
			       "tp_btf, raw_tp, none).");
		any = true;
		labels[0] = 0;
		add_label(labels, sizeof(labels), "family", n->family, 32);
		add_label(labels, sizeof(labels), "hook", n->hook, 64);
		add_label(labels, sizeof(labels), "attach", attach_kind_name(n->kind), 16);
		sample(f, "dmawatch_probe_attached", labels, NULL,
		       n->kind != ATTACH_NONE && family_attached(h, n->family));
	}
}

static void health_tail(FILE *f, const struct snapshot *s, const struct prom_health *h)
{
	family(f, "dmawatch_events_dropped_total", "counter",
	       "Events the BPF side could not queue (ring buffer full); counters are "
	       "not affected.");
	sample(f, "dmawatch_events_dropped_total", NULL, NULL, s->event_drops);
	family(f, "dmawatch_last_collection_timestamp_seconds", "gauge",
	       "Unix time of the last successful read of the BPF maps.");
	sample_double(f, "dmawatch_last_collection_timestamp_seconds", NULL, h->collected_at,
		      true);
	/* Last, always: see prom_render(). */
	family(f, "dmawatch_up", "gauge",
	       "1 while dmawatch watches; 0 in the file it leaves when stopped.");
	sample(f, "dmawatch_up", NULL, NULL, h->up);
}

int prom_render(FILE *out, const struct snapshot *s, const struct prom_health *h)
{
	health_head(out, h);
	pool(out, s);
	devices(out, s);
	virtqueues(out, s);
	health_tail(out, s, h);
	return ferror(out) ? -EIO : 0;
}

/* ---- monotonic counters --------------------------------------------------- */

/* Every __u64 of a map value from off on is a counter or a running maximum
 * (max_size, limit, sg_largest_segment), so max() is right for all. */
static void max_u64s(void *dst, const void *src, size_t off, size_t size)
{
	__u64 *d = (__u64 *)((char *)dst + off);
	const __u64 *s = (const __u64 *)((const char *)src + off);

	for (size_t i = 0; i < (size - off) / sizeof(__u64); i++)
		if (s[i] > d[i])
			d[i] = s[i];
}

_Static_assert((sizeof(struct dmaw_swiotlb_stats) - offsetof(struct dmaw_swiotlb_stats, maps)) %
		       8 == 0, "swiotlb stats: u64s after the names");
_Static_assert((sizeof(struct dmaw_dmamap_stats) -
		offsetof(struct dmaw_dmamap_stats, page_maps)) % 8 == 0,
	       "dmamap stats: u64s after the names");
_Static_assert((sizeof(struct dmaw_vq_stats) - offsetof(struct dmaw_vq_stats, adds)) % 8 == 0,
	       "vq stats: u64s after the names");

void prom_keep_monotonic(struct snapshot *cur, const struct snapshot *last)
{
	for (size_t i = 0; i < last->ndevs; i++) {
		const struct dev_snapshot *l = &last->devs[i];
		struct dev_snapshot *c = NULL;

		for (size_t j = 0; j < cur->ndevs && !c; j++)
			if (!strncmp(cur->devs[j].id.dev, l->id.dev, sizeof(l->id.dev)))
				c = &cur->devs[j];
		if (!c) {
			if (cur->ndevs < SNAP_MAX_DEVS)
				cur->devs[cur->ndevs++] = *l;
			continue;
		}
		max_u64s(&c->sw, &l->sw, offsetof(struct dmaw_swiotlb_stats, maps), sizeof(c->sw));
		max_u64s(&c->api, &l->api, offsetof(struct dmaw_dmamap_stats, page_maps),
			 sizeof(c->api));
		if (!c->id.driver[0])
			memcpy(c->id.driver, l->id.driver, sizeof(c->id.driver));
	}
	for (size_t i = 0; i < last->nvqs; i++) {
		const struct vq_snapshot *l = &last->vqs[i];
		struct vq_snapshot *c = NULL;

		for (size_t j = 0; j < cur->nvqs && !c; j++)
			if (!memcmp(&cur->vqs[j].key, &l->key, sizeof(l->key)))
				c = &cur->vqs[j];
		if (!c) {
			if (cur->nvqs < SNAP_MAX_VQS)
				cur->vqs[cur->nvqs++] = *l;
			continue;
		}
		max_u64s(&c->st, &l->st, offsetof(struct dmaw_vq_stats, adds), sizeof(c->st));
	}
	if (last->event_drops > cur->event_drops)
		cur->event_drops = last->event_drops;
}

int prom_render_text(const struct snapshot *s, const struct prom_health *h, char **text,
		     size_t *len)
{
	FILE *f;
	int err;

	*text = NULL;
	*len = 0;
	f = open_memstream(text, len);
	if (!f)
		return -errno;
	err = prom_render(f, s, h);
	/* Closed whatever the render said: the stream owns the buffer. */
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return err;
}
