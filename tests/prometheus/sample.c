// SPDX-License-Identifier: GPL-2.0
/*
 * prom-sample: the output of a fabricated snapshot that fills every family
 * (pool, two devices, one with a name that needs escaping, a virtqueue with
 * every failure reason), rendered by dmawatch's own code without a kernel.
 * Built by make ($(BUILD)/tests/prom-sample) against the loader's objects;
 * not part of dmawatch.
 *
 *   prom-sample [STEP]   the metrics `dmawatch export` would write; STEP
 *                        (default 1) scales the counters: a later sample of
 *                        the same exporter has a larger STEP
 *                        (tests/prometheus/run.sh hands it to promtool and
 *                        node_exporter).
 *   prom-sample --all    stat's text (with and without a previous
 *                        snapshot), stat's JSON and the metrics of two
 *                        samples that also fill the requeue and enforce
 *                        families and the process table: the output a
 *                        change of the code must leave byte-identical
 *                        (tests/unit/test-output.sh).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family/enforce_find.h"
#include "family/requeue.h"
#include "out/json.h"
#include "out/prom.h"
#include "out/report.h"

static void fill(struct snapshot *s, unsigned long long k)
{
	struct dev_snapshot *d;
	struct vq_snapshot *v;

	memset(s, 0, sizeof(*s));
	s->pool = (struct dmaw_pool_stats){
		.nslabs = 32768,
		.used = 300 + k,
		.used_scan = 300 + k,
		.hiwater = 4096,
		.largest_free_run = 128,
		.free_segments = 250,
		.nareas = 2,
		.flags = DMAW_POOL_OK | DMAW_POOL_HIWATER_KERNEL | DMAW_POOL_DYNAMIC |
			 DMAW_POOL_CAN_GROW | DMAW_POOL_TRANSIENT,
		.largest_free_run_page = 128,
		.scan_ns = 1500000,
		.scans = k,
		/* A pool that grew once and has one transient pool now. */
		.boot_nslabs = 16384,
		.transient_slots = 64,
		.pools = 2,
		.ev = { .grow_attempts = 1,
			.grows = 1,
			.grown_slots = 16384,
			.transient_frees = 3 * k,
			.transient_freed_slots = 192 * k },
	};
	d = &s->devs[s->ndevs++];
	strcpy(d->id.dev, "0000:00:01.0");
	strcpy(d->id.driver, "virtio-pci");
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 100 * k;
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = 100 * k * 65536;
	d->sw.maps[DMAW_DIR_FROM_DEVICE] = 50 * k;
	d->sw.bytes[DMAW_DIR_FROM_DEVICE] = 50 * k * 4096;
	d->sw.maps[DMAW_DIR_BIDI] = 3 * k;
	d->sw.bytes[DMAW_DIR_BIDI] = 3 * k * 16;
	d->sw.size_hist[16] = 100 * k;
	d->sw.size_hist[12] = 50 * k;
	d->sw.size_hist[4] = 3 * k;
	d->sw.latency_hist[10] = 150 * k;
	d->sw.latency_hist[13] = 3 * k;
	d->sw.latency_ns = 153 * k * 2000;
	s->detail = true; /* as with --detail */
	d->sw.unmaps = 150 * k;
	d->sw.unmap_bytes = 100 * k * 65536 + 50 * k * 4096;
	d->sw.sync_bytes[DMAW_DIR_FROM_DEVICE] = 50 * k * 4096;
	d->sw.max_size = 65536;
	d->sw.limit = 262144;
	d->api.page_maps = 153 * k;
	d->api.page_bytes = d->sw.bytes[1] + d->sw.bytes[2] + d->sw.bytes[0];

	d = &s->devs[s->ndevs++];
	/* Kernel names are free text to the format: quote, backslash, newline. */
	strcpy(d->id.dev, "lab\"dev\\1\n");
	strcpy(d->id.driver, "dmawatch_lab");
	d->sw.maps[DMAW_DIR_TO_DEVICE] = k;
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = k * 262144;
	d->sw.failures = 2 * k;
	d->sw.over_limit = k;
	d->sw.size_hist[18] = k;
	d->sw.size_hist[19] = 2 * k;
	d->sw.max_size = 524288;
	d->sw.limit = 262144;
	d->api.sg_maps = 2 * k;
	d->api.sg_nents = 4 * k;
	d->api.sg_bytes = 2 * k * 2097152;
	d->api.sg_errors = k;
	d->api.sg_largest_segment = 2097152;
	d->api.sg_segments_over_limit = 2 * k;
	d->api.never_fit = k;

	v = &s->vqs[s->nvqs++];
	strcpy(v->key.dev, "virtio0");
	strcpy(v->key.vq, "req.0");
	strcpy(v->st.names.dev, "0000:00:01.0");
	strcpy(v->st.names.driver, "virtio_blk");
	v->st.adds = 150 * k;
	v->st.sg_entries = 450 * k;
	v->st.bytes = 100 * k * 65536 + 50 * k * 4096;
	for (int i = 0; i < DMAW_VQ_ERRS; i++)
		v->st.failures[i] = i * k;
	v->st.never_fit = 5 * k;
	v->st.never_fit_reqs = k;
	s->event_drops = 0;
}

/* The families that keep their own figures, and a process. */
static void fill_more(struct snapshot *s, unsigned long long k)
{
	struct dmaw_requeue_snap *m = SNAPSHOT_MINE(s, requeue);
	struct dmaw_requeue_disk *d = &m->disks[m->ndisks++];
	struct enf_found *x = SNAPSHOT_MINE(s, enforce);
	struct proc_snapshot *p = &s->procs[s->nprocs++];

	snprintf(d->name, sizeof(d->name), "vda");
	d->devt = 254u << 20;
	d->requeues = 25 * k;
	d->bytes = 25 * k * 1048576;
	x->attached = 1;
	x->mode = DMAW_ENF_DENY;
	x->prog_id = 7;
	snprintf(x->prog, sizeof(x->prog), "enforce_deny");
	x->ndisks = 1;
	snprintf(x->disks[0].name, sizeof(x->disks[0].name), "vda");
	x->disks[0].devt = 254u << 20;
	x->disks[0].policies = DMAW_ENF_NEVER_FIT;
	x->disks[0].pool_slots = 512;
	x->disks[0].checked = 40 * k;
	x->disks[0].hits[0] = 3 * k;
	p->pid = 42;
	p->st.bytes = 1000 * k;
	snprintf(p->st.comm, sizeof(p->st.comm), "fio");
	s->missed_runs[0] = k;
}

/* Devices removed while running: the first device's namesake gone (its
 * live row is a later device, from 0), and an NVMe disk that left. */
static void fill_departed(struct snapshot *s)
{
	struct dev_snapshot *d = &s->devs[s->ndevs++];

	strcpy(d->id.dev, "0000:00:01.0");
	strcpy(d->id.driver, "virtio-pci");
	d->gone = true;
	d->departures = 1;
	d->sw.maps[DMAW_DIR_TO_DEVICE] = 7;
	d->sw.bytes[DMAW_DIR_TO_DEVICE] = 7 * 4096;
	d->sw.size_hist[12] = 7;
	d->sw.max_size = 4096;
	d->sw.limit = 262144;
	s->devs[0].departures = 1;
	d = &s->devs[s->ndevs++];
	strcpy(d->id.dev, "0000:00:04.0");
	strcpy(d->id.driver, "nvme");
	d->gone = true;
	d->departures = 2;
	d->sw.maps[DMAW_DIR_FROM_DEVICE] = 64;
	d->sw.bytes[DMAW_DIR_FROM_DEVICE] = 64 * 65536;
	d->sw.size_hist[16] = 64;
	d->sw.max_size = 65536;
	d->sw.limit = 258048;
	/* The first device's queue, deleted with it. */
	s->vqs[s->nvqs] = s->vqs[0];
	memset(&s->vqs[s->nvqs].st.adds, 0,
	       sizeof(s->vqs[0].st) - offsetof(struct dmaw_vq_stats, adds));
	s->vqs[s->nvqs].st.adds = 5;
	s->vqs[s->nvqs].st.bytes = 5 * 4096;
	s->vqs[s->nvqs++].gone = true;
}

static int render_all(struct prom_health *h)
{
	static struct snapshot prev, cur;
	struct json j;

	fill(&prev, 1);
	fill_more(&prev, 1);
	prev.time_s = 100;
	fill(&cur, 3);
	fill_more(&cur, 3);
	cur.time_s = 102;
	printf("==== stat text\n");
	report_text(stdout, &prev, &cur);
	printf("==== stat text, first interval\n");
	report_text(stdout, NULL, &cur);
	printf("==== stat --json\n");
	json_init(&j, stdout);
	report_json(&j, &prev, &cur);
	printf("\n==== export\n");
	if (prom_render(stdout, &cur, h))
		return 1;
	/* Two devices gone while running: one whose name a later device
	 * took, one that left for good. */
	fill_departed(&cur);
	printf("==== stat text, devices gone\n");
	report_text(stdout, &prev, &cur);
	printf("==== stat --json, devices gone\n");
	report_json(&j, &prev, &cur);
	printf("\n==== export, devices gone\n");
	prom_fold_departed(&cur);
	return prom_render(stdout, &cur, h) || fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct attach_note notes[] = {
		{ "swiotlb", "swiotlb_map", ATTACH_FENTRY, "" },
		{ "swiotlb", "swiotlb_tbl_unmap_single", ATTACH_KPROBE, "" },
		{ "dmamap", "dma_map_page_attrs", ATTACH_FENTRY, "" },
		{ "virtqueue", "virtqueue_add_sgs", ATTACH_FENTRY, "" },
		{ "pool", "io_tlb_default_mem", ATTACH_RAW_TP, "" },
		{ "pool", "used_hiwater", ATTACH_NONE, "" },
	};
	static struct snapshot s;
	struct prom_health h = {
		.up = true,
		.collected_at = 1717000000.25,
		.started_at = 1716999000.5,
		.version = "sample",
		.nfamilies = 4,
		.families = { { "swiotlb", true },
			      { "dmamap", true },
			      { "virtqueue", true },
			      { "pool", true } },
		.notes = notes,
		.nnotes = sizeof(notes) / sizeof(notes[0]),
	};
	unsigned long long step;

	if (argc > 1 && !strcmp(argv[1], "--all"))
		return render_all(&h);
	step = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;

	fill(&s, step ? step : 1);
	h.collected_at += step * 15;
	return prom_render(stdout, &s, &h) || fflush(stdout) ? 1 : 0;
}
