// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const dir_names[DMAW_DIRS] = { "bidirectional", "to_device",
						   "from_device", "none" };

const char *event_kind_name(__u32 kind)
{
	switch (kind) {
	case DMAW_EV_OVER_LIMIT: return "over-limit";
	case DMAW_EV_MAP_FAILED: return "map-failed";
	case DMAW_EV_NEVER_FIT: return "never-fit";
	case DMAW_EV_VQ_FAILED: return "vq-failed";
	default: return "unknown";
	}
}

const char *event_source_name(__u32 source)
{
	switch (source) {
	case DMAW_SRC_SWIOTLB_MAP: return "swiotlb_map";
	case DMAW_SRC_DMA_MAP_SG: return "dma_map_sg";
	case DMAW_SRC_VIRTQUEUE: return "virtqueue_add";
	default: return "?";
	}
}

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

static double per_s(__u64 now, __u64 before, double dt)
{
	return dt > 0 && now >= before ? (now - before) / dt : 0;
}

void dev_rates(struct dev_rates *r, const struct snapshot *prev,
	       const struct dev_snapshot *cur, double dt)
{
	const struct dev_snapshot *p = snapshot_find_dev(prev, cur->id.dev);
	struct dev_snapshot zero = {};
	__u64 maps;

	if (!p)
		p = &zero;
	if (!prev)
		dt = 0;
	memset(r, 0, sizeof(*r));
	r->dev = cur;
	r->maps_s = per_s(dev_maps(cur), dev_maps(p), dt);
	/* Bidirectional mappings bounce both ways. */
	r->to_dev_Bps = per_s(cur->sw.bytes[DMAW_DIR_TO_DEVICE] + cur->sw.bytes[DMAW_DIR_BIDI],
			      p->sw.bytes[DMAW_DIR_TO_DEVICE] + p->sw.bytes[DMAW_DIR_BIDI], dt);
	r->from_dev_Bps = per_s(cur->sw.bytes[DMAW_DIR_FROM_DEVICE] + cur->sw.bytes[DMAW_DIR_BIDI],
				p->sw.bytes[DMAW_DIR_FROM_DEVICE] + p->sw.bytes[DMAW_DIR_BIDI], dt);
	r->fail_s = per_s(cur->sw.failures, p->sw.failures, dt);
	maps = dev_maps(cur) - dev_maps(p);
	r->avg_size = maps ? (double)(dev_bytes(cur) - dev_bytes(p)) / maps : 0;
}

void fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes >= 1024 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", bytes);
	else
		snprintf(buf, len, bytes < 10 ? "%.1f%c" : "%.0f%c", bytes, units[u]);
}

static void json_hist(struct json *j, const char *key, const __u64 *hist)
{
	int last = -1;

	for (int i = 0; i < DMAW_HIST_SLOTS; i++)
		if (hist[i])
			last = i;
	json_array_begin(j, key);
	for (int i = 0; i <= last; i++)
		json_u64(j, NULL, hist[i]);
	json_array_end(j);
}

static void json_dirs(struct json *j, const char *key, const __u64 *v)
{
	json_object_begin(j, key);
	for (int i = 0; i < DMAW_DIRS - 1; i++)
		json_u64(j, dir_names[i], v[i]);
	json_object_end(j);
}

static void json_device(struct json *j, const struct snapshot *prev, const struct snapshot *cur,
			const struct dev_snapshot *d)
{
	struct dev_rates r;

	dev_rates(&r, prev, d, prev ? cur->time_s - prev->time_s : 0);
	json_object_begin(j, NULL);
	json_string(j, "device", d->id.dev);
	json_string(j, "driver", d->id.driver);
	json_u64(j, "maps", dev_maps(d));
	json_u64(j, "bytes", dev_bytes(d));
	json_dirs(j, "maps_by_direction", d->sw.maps);
	json_dirs(j, "bytes_by_direction", d->sw.bytes);
	json_u64(j, "failures", d->sw.failures);
	json_u64(j, "over_limit", d->sw.over_limit);
	json_u64(j, "never_fit", d->api.never_fit);
	json_u64(j, "unmaps", d->sw.unmaps);
	json_u64(j, "unmap_bytes", d->sw.unmap_bytes);
	if (cur->latency)
		json_dirs(j, "sync_bytes", d->sw.sync_bytes);
	json_u64(j, "max_size", d->sw.max_size);
	json_u64(j, "limit", d->sw.limit);
	if (cur->latency)
		json_u64(j, "latency_ns", d->sw.latency_ns);
	json_hist(j, "size_log2_hist", d->sw.size_hist);
	if (cur->latency)
		json_hist(j, "latency_log2_hist", d->sw.latency_hist);
	json_object_begin(j, "dma_api");
	json_u64(j, "page_maps", d->api.page_maps);
	json_u64(j, "page_bytes", d->api.page_bytes);
	json_u64(j, "page_errors", d->api.page_errors);
	json_u64(j, "sg_maps", d->api.sg_maps);
	json_u64(j, "sg_nents", d->api.sg_nents);
	json_u64(j, "sg_bytes", d->api.sg_bytes);
	json_u64(j, "sg_errors", d->api.sg_errors);
	json_u64(j, "sg_largest_segment", d->api.sg_largest_segment);
	json_u64(j, "sg_segments_over_limit", d->api.sg_segments_over_limit);
	json_object_end(j);
	json_object_begin(j, "rates");
	json_double(j, "maps_per_s", r.maps_s);
	json_double(j, "to_device_bytes_per_s", r.to_dev_Bps);
	json_double(j, "from_device_bytes_per_s", r.from_dev_Bps);
	json_double(j, "failures_per_s", r.fail_s);
	json_object_end(j);
	json_object_end(j);
}

void report_json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	struct proc_snapshot procs[10];
	size_t nprocs = snapshot_top_procs(cur, procs, 10);

	json_object_begin(j, NULL);
	json_double(j, "interval_s", prev ? cur->time_s - prev->time_s : 0);
	json_object_begin(j, "pool");
	json_bool(j, "ok", cur->pool.flags & DMAW_POOL_OK);
	json_u64(j, "slots_total", cur->pool.nslabs);
	json_u64(j, "slots_used", cur->pool.used);
	json_u64(j, "slots_used_scan", cur->pool.used_scan);
	json_u64(j, "slots_hiwater", cur->pool.hiwater);
	json_bool(j, "hiwater_from_kernel", cur->pool.flags & DMAW_POOL_HIWATER_KERNEL);
	json_u64(j, "largest_free_run", cur->pool.largest_free_run);
	json_u64(j, "largest_free_run_page", cur->pool.largest_free_run_page);
	json_u64(j, "free_segments", cur->pool.free_segments);
	json_u64(j, "areas", cur->pool.nareas);
	json_i64(j, "scan_error", cur->pool.scan_err);
	json_u64(j, "scan_ns", cur->pool.scan_ns);
	json_object_end(j);
	json_array_begin(j, "devices");
	for (size_t i = 0; i < cur->ndevs; i++)
		json_device(j, prev, cur, &cur->devs[i]);
	json_array_end(j);
	json_array_begin(j, "virtqueues");
	for (size_t i = 0; i < cur->nvqs; i++) {
		const struct vq_snapshot *v = &cur->vqs[i];

		json_object_begin(j, NULL);
		json_string(j, "device", v->key.dev);
		json_string(j, "vq", v->key.vq);
		json_string(j, "dma_device", v->st.names.dev);
		json_string(j, "driver", v->st.names.driver);
		json_u64(j, "adds", v->st.adds);
		json_u64(j, "sg_entries", v->st.sg_entries);
		json_u64(j, "bytes", v->st.bytes);
		json_object_begin(j, "failures");
		json_u64(j, "enospc", v->st.failures[DMAW_VQ_ENOSPC]);
		json_u64(j, "enomem", v->st.failures[DMAW_VQ_ENOMEM]);
		json_u64(j, "eio", v->st.failures[DMAW_VQ_EIO]);
		json_u64(j, "other", v->st.failures[DMAW_VQ_EOTHER]);
		json_object_end(j);
		json_u64(j, "never_fit", v->st.never_fit);
		json_u64(j, "never_fit_requests", v->st.never_fit_reqs);
		json_object_end(j);
	}
	json_array_end(j);
	/* Rows read from the process table: all of them, for the top ten. */
	json_u64(j, "processes", cur->nprocs);
	json_array_begin(j, "top_processes");
	for (size_t i = 0; i < nprocs; i++) {
		json_object_begin(j, NULL);
		json_u64(j, "pid", procs[i].pid);
		json_string(j, "comm", procs[i].st.comm);
		json_u64(j, "maps", procs[i].st.maps);
		json_u64(j, "bytes", procs[i].st.bytes);
		json_object_end(j);
	}
	json_array_end(j);
	json_u64(j, "event_drops", cur->event_drops);
	json_u64(j, "rows_cut", cur->rows_cut);
	json_object_end(j);
	json_end_line(j);
}

void report_text(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	double dt = prev ? cur->time_s - prev->time_s : 0;
	char to[16], from[16], avg[16], max[16];

	if (cur->pool.flags & DMAW_POOL_OK)
		fprintf(out, "pool: %llu/%llu slots used, high-water %llu, largest free run %u/%d\n",
			(unsigned long long)cur->pool.used, (unsigned long long)cur->pool.nslabs,
			(unsigned long long)cur->pool.hiwater, cur->pool.largest_free_run,
			DMAW_IO_TLB_SEGSIZE);
	fprintf(out, "%-16s %-12s %9s %9s %9s %7s %7s %8s %8s %8s\n", "DEVICE", "DRIVER",
		"MAPS/s", "TO-DEV/s", "FROM-DEV/s", "AVG", "MAX", "FAIL/s", "OVERLIM",
		"NEVERFIT");
	for (size_t i = 0; i < cur->ndevs; i++) {
		const struct dev_snapshot *d = &cur->devs[i];
		struct dev_rates r;

		dev_rates(&r, prev, d, dt);
		fmt_bytes(to, sizeof(to), r.to_dev_Bps);
		fmt_bytes(from, sizeof(from), r.from_dev_Bps);
		fmt_bytes(avg, sizeof(avg), r.avg_size);
		fmt_bytes(max, sizeof(max), d->sw.max_size);
		fprintf(out, "%-16s %-12s %9.0f %9s %9s %7s %7s %8.0f %8llu %8llu\n", d->id.dev,
			d->id.driver[0] ? d->id.driver : "-", r.maps_s, to, from, avg, max, r.fail_s,
			(unsigned long long)d->sw.over_limit,
			(unsigned long long)d->api.never_fit);
	}
	for (size_t i = 0; i < cur->nvqs; i++) {
		const struct vq_snapshot *v = &cur->vqs[i];
		__u64 fails = 0;

		for (int k = 0; k < DMAW_VQ_ERRS; k++)
			fails += v->st.failures[k];
		if (!i)
			fprintf(out, "%-16s %-10s %-16s %10s %10s %9s %9s\n", "VIRTIO", "VQ",
				"DMA-DEVICE", "ADDS", "BYTES", "FAILURES", "NEVERFIT");
		fmt_bytes(to, sizeof(to), v->st.bytes);
		fprintf(out, "%-16s %-10s %-16s %10llu %10s %9llu %9llu\n", v->key.dev, v->key.vq,
			v->st.names.dev, (unsigned long long)v->st.adds, to,
			(unsigned long long)fails, (unsigned long long)v->st.never_fit);
	}
	if (cur->event_drops)
		fprintf(out, "events dropped: %llu\n", (unsigned long long)cur->event_drops);
	if (cur->rows_cut)
		fprintf(out, "rows left out (tables larger than dmawatch reads): %llu\n",
			(unsigned long long)cur->rows_cut);
	fputc('\n', out);
	fflush(out);
}
