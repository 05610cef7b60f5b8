// SPDX-License-Identifier: GPL-2.0
/* Block requeue family, user half: its hook, requeues per disk, and what
 * the outputs show of them. The figures are the family's own part of the
 * snapshot: no other family reads them. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "family/family.h"
#include "family/requeue.h"
#include "out/prom.h"
#include "out/report.h"
#include "requeue.skel.h"
#include "top/canvas.h"
#include "util.h"

struct requeue_state {
	struct requeue_bpf *skel; /* first: FAMILY_SKELETON */
};

static const struct hook hooks[] = {
	{ .tracepoints = { "block/block_rq_requeue" },
	  .prog = "requeue",
	  .progs = HOOK_TRACEPOINTS,
	  .required = true },
};

FAMILY_SKELETON(requeue)

static int add_disk(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_requeue_stats *per = percpu;
	struct snapshot *s = ctx;
	struct dmaw_requeue_snap *m = SNAPSHOT_MINE(s, requeue);
	struct dmaw_requeue_disk *d;

	if (m->ndisks == DMAW_MAX_DISKS) {
		s->rows_cut++;
		return 0;
	}
	d = &m->disks[m->ndisks++];
	d->devt = *(const __u32 *)key;
	for (int c = 0; c < ncpus; c++) {
		if (!d->name[0] && per[c].disk[0])
			memcpy(d->name, per[c].disk, sizeof(d->name));
		d->requeues += per[c].requeues;
		d->bytes += per[c].bytes;
	}
	d->name[sizeof(d->name) - 1] = 0;
	return 0;
}

static int requeue_read(struct family_run *f, struct snapshot *s)
{
	struct requeue_state *st = f->state;

	return read_percpu_hash(bpf_map__fd(st->skel->maps.requeue_disks), sizeof(__u32),
				sizeof(struct dmaw_requeue_stats), add_disk, s);
}

/* ---- what the outputs show ---------------------------------------------- */

#define MAJOR_OF(devt) ((devt) >> 20)
#define MINOR_OF(devt) ((devt)&0xfffff)

static const struct dmaw_requeue_disk *disk_in(const struct snapshot *s, __u32 devt)
{
	const struct dmaw_requeue_snap *m = s ? SNAPSHOT_MINE(s, requeue) : NULL;

	for (__u32 i = 0; m && i < m->ndisks; i++)
		if (m->disks[i].devt == devt)
			return &m->disks[i];
	return NULL;
}

static void json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_requeue_snap *m = SNAPSHOT_MINE(cur, requeue);
	char dev[24];

	(void)prev;
	json_array_begin(j, "requeues");
	for (__u32 i = 0; i < m->ndisks; i++) {
		const struct dmaw_requeue_disk *d = &m->disks[i];

		snprintf(dev, sizeof(dev), "%u:%u", MAJOR_OF(d->devt), MINOR_OF(d->devt));
		json_object_begin(j, NULL);
		json_string(j, "disk", d->name);
		json_string(j, "dev", dev);
		json_u64(j, "requeues", d->requeues);
		json_u64(j, "bytes", d->bytes);
		json_object_end(j);
	}
	json_array_end(j);
}

static void text_tail(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_requeue_snap *m = SNAPSHOT_MINE(cur, requeue);
	double dt = report_interval(prev, cur);

	for (__u32 i = 0; i < m->ndisks; i++) {
		const struct dmaw_requeue_disk *d = &m->disks[i], *p = disk_in(prev, d->devt);

		if (!i)
			fprintf(out, "%-16s %10s %10s\n", "REQUEUED-DISK", "REQUEUES", "PER-S");
		fprintf(out, "%-16s %10llu %10.0f\n", d->name[0] ? d->name : "-",
			(unsigned long long)d->requeues,
			report_rate(d->requeues, p ? p->requeues : 0, dt));
	}
}

static void prom(struct prom_out *o)
{
	const struct dmaw_requeue_snap *m = SNAPSHOT_MINE(o->s, requeue);
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "dmawatch_block_requeues_total",
		  "Block requests taken back from the driver (block:block_rq_requeue): "
		  "a failed DMA mapping returns them; never stopping means a request "
		  "that cannot fit.",
		  offsetof(struct dmaw_requeue_disk, requeues) },
		{ "dmawatch_block_requeued_bytes_total", "Bytes of the requeued requests.",
		  offsetof(struct dmaw_requeue_disk, bytes) },
	};
	static struct prom_rows r;
	char l[PROM_LABELS_LEN];

	r.n = 0;
	for (__u32 i = 0; i < m->ndisks; i++) {
		l[0] = 0;
		prom_add_label(l, sizeof(l), "disk", m->disks[i].name, sizeof(m->disks[i].name));
		prom_rows_add(&r, i, l);
	}
	for (size_t k = 0; r.n && k < sizeof(counters) / sizeof(counters[0]); k++) {
		prom_family(o, counters[k].name, "counter", counters[k].help);
		for (size_t i = 0; i < r.n; i++)
			prom_sample(o, counters[k].name, r.labels[i], NULL,
				    *(const __u64 *)((const char *)&m->disks[r.idx[i]] +
						     counters[k].off));
	}
}

/* Counters never go down; disks last had that cur lacks are carried. */
static void keep(struct snapshot *cur, const struct snapshot *last)
{
	struct dmaw_requeue_snap *m = SNAPSHOT_MINE(cur, requeue);
	const struct dmaw_requeue_snap *l = SNAPSHOT_MINE(last, requeue);

	for (__u32 i = 0; i < l->ndisks; i++) {
		struct dmaw_requeue_disk *c =
			(struct dmaw_requeue_disk *)disk_in(cur, l->disks[i].devt);

		if (!c) {
			if (m->ndisks < DMAW_MAX_DISKS)
				m->disks[m->ndisks++] = l->disks[i];
			continue;
		}
		if (l->disks[i].requeues > c->requeues)
			c->requeues = l->disks[i].requeues;
		if (l->disks[i].bytes > c->bytes)
			c->bytes = l->disks[i].bytes;
	}
}

/* dmatop: a line only while some disk is requeueing. */
static int top(struct canvas *c, int y, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_requeue_snap *m = SNAPSHOT_MINE(cur, requeue);
	double dt = report_interval(prev, cur);
	int x = -1;

	for (__u32 i = 0; i < m->ndisks; i++) {
		const struct dmaw_requeue_disk *d = &m->disks[i], *p = disk_in(prev, d->devt);
		double rate = report_rate(d->requeues, p ? p->requeues : 0, dt);

		if (rate <= 0)
			continue;
		if (x < 0)
			x = cprintf(c, y, 0, P_TITLE, "Requeue");
		x = cprintf(c, y, x + 1, P_BAD, "%s %.0f/s", d->name, rate);
	}
	return x < 0 ? y : y + 1;
}

const struct family requeue_family = {
	.name = "requeue",
	.summary = "block requests taken back from their driver (block_rq_requeue), per disk",
	.hooks = hooks,
	.nhooks = ARRAY_SIZE(hooks),
	.state_size = sizeof(struct requeue_state),
	FAMILY_SKELETON_OPS(requeue),
	.read = requeue_read,
	.snap_size = FAMILY_SNAPSHOT(struct dmaw_requeue_snap),
	.view = {
		.json = json,
		.text_tail = text_tail,
		.prom = prom,
		.keep = keep,
		.top = top,
	},
};
