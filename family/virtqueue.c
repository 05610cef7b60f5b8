// SPDX-License-Identifier: GPL-2.0
/* Virtqueue family, user half: its hooks, per-virtqueue totals, and what
 * the outputs show of them. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "family/family.h"
#include "out/fmt.h"
#include "out/prom.h"
#include "out/report.h"
#include "util.h"
#include "virtqueue.skel.h"

struct virtqueue_state {
	struct virtqueue_bpf *skel; /* first: FAMILY_SKELETON */
	/* Deleted queues, one row per key, across reads. */
	struct vq_snapshot gone[DMAW_MAX_VQS];
	size_t ngone;
	__u64 gone_cut; /* records for keys that found no row */
};

/* virtio_ring is a module on some kernels (Debian 6.1), built in on others
 * (6.12): calibration looks in vmlinux, then in its module's BTF. No hook
 * is required alone; the family needs one of the three. */
static const struct hook hooks[] = {
	{ .funcs = { "virtqueue_add_sgs" },
	  .module = "virtio_ring",
	  .prog = "vq_add_sgs",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	{ .funcs = { "virtqueue_add_outbuf" },
	  .module = "virtio_ring",
	  .prog = "vq_add_outbuf",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	{ .funcs = { "virtqueue_add_inbuf" },
	  .module = "virtio_ring",
	  .prog = "vq_add_inbuf",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	/* A queue deleted: its row ends; a later one of its name starts
	 * from zero. */
	{ .funcs = { "vring_del_virtqueue" },
	  .module = "virtio_ring",
	  .prog = "vq_del",
	  .progs = HOOK_FENTRY | HOOK_KPROBE },
};

FAMILY_SKELETON(virtqueue)

static int add_vq(void *ctx, const void *key, const void *percpu, int ncpus)
{
	struct vq_snapshot *v = snapshot_vq(ctx);

	if (!v)
		return 0;
	memcpy(&v->key, key, sizeof(v->key));
	v->key.dev[sizeof(v->key.dev) - 1] = 0;
	v->key.vq[sizeof(v->key.vq) - 1] = 0;
	sum_percpu_u64(&v->st, percpu, sizeof(v->st), ncpus);
	return 0;
}

/* Counts into a row's: all sums; the names from whichever has them. */
static void vq_add(struct dmaw_vq_stats *into, const struct dmaw_vq_stats *v)
{
	if (!into->names.dev[0])
		into->names = v->names;
	add_u64_fields(into, v, sizeof(*v));
}

/* The records of queues deleted since the last read into the departed
 * rows, each taken out once added; before the live map (the order
 * family/virtqueue.bpf.c explains). */
static void take_departed(struct virtqueue_state *st, int fd)
{
	struct dmaw_vq_gone v;
	__u64 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		struct vq_snapshot *row = NULL;

		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) || bpf_map_delete_elem(fd, &key))
			break;
		v.key.dev[sizeof(v.key.dev) - 1] = 0;
		v.key.vq[sizeof(v.key.vq) - 1] = 0;
		for (size_t i = 0; i < st->ngone && !row; i++)
			if (!memcmp(&st->gone[i].key, &v.key, sizeof(v.key)))
				row = &st->gone[i];
		if (!row && st->ngone == DMAW_MAX_VQS) {
			st->gone_cut++;
			continue;
		}
		if (!row) {
			row = &st->gone[st->ngone++];
			memset(row, 0, sizeof(*row));
			row->key = v.key;
			row->gone = true;
		}
		vq_add(&row->st, &v.st);
	}
}

static int virtqueue_read(struct family_run *f, struct snapshot *s)
{
	struct virtqueue_state *st = f->state;
	int err;

	take_departed(st, bpf_map__fd(st->skel->maps.vq_gone));
	err = read_percpu_hash(bpf_map__fd(st->skel->maps.vq_stats), sizeof(struct dmaw_vq_key),
			       sizeof(struct dmaw_vq_stats), add_vq, s);
	for (size_t i = 0; i < st->ngone; i++) {
		struct vq_snapshot *v = snapshot_vq(s);

		if (v)
			*v = st->gone[i];
	}
	s->rows_cut += st->gone_cut + st->skel->bss->vq_gone_dropped;
	return err;
}

/* ---- what the outputs show ---------------------------------------------- */

static const char *const reasons[DMAW_VQ_ERRS] = { "enospc", "enomem", "eio", "other" };

static void json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	(void)prev;
	json_array_begin(j, "virtqueues");
	for (size_t i = 0; i < cur->nvqs; i++) {
		const struct vq_snapshot *v = &cur->vqs[i];

		json_object_begin(j, NULL);
		json_string(j, "device", v->key.dev);
		json_string(j, "vq", v->key.vq);
		json_string(j, "dma_device", v->st.names.dev);
		json_string(j, "driver", v->st.names.driver);
		json_bool(j, "gone", v->gone);
		json_u64(j, "adds", v->st.adds);
		json_u64(j, "sg_entries", v->st.sg_entries);
		json_u64(j, "bytes", v->st.bytes);
		json_object_begin(j, "failures");
		for (int k = 0; k < DMAW_VQ_ERRS; k++)
			json_u64(j, reasons[k], v->st.failures[k]);
		json_object_end(j);
		json_u64(j, "never_fit", v->st.never_fit);
		json_u64(j, "never_fit_requests", v->st.never_fit_reqs);
		json_object_end(j);
	}
	json_array_end(j);
}

static void text_tail(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	char bytes[16];

	(void)prev;
	for (size_t i = 0; i < cur->nvqs; i++) {
		const struct vq_snapshot *v = &cur->vqs[i];
		__u64 fails = 0;

		for (int k = 0; k < DMAW_VQ_ERRS; k++)
			fails += v->st.failures[k];
		if (!i)
			fprintf(out, "%-16s %-10s %-16s %10s %10s %9s %9s\n", "VIRTIO", "VQ",
				"DMA-DEVICE", "ADDS", "BYTES", "FAILURES", "NEVERFIT");
		fmt_bytes(bytes, sizeof(bytes), v->st.bytes);
		fprintf(out, "%-16s %-10s %-16s %10llu %10s %9llu %9llu%s\n", v->key.dev, v->key.vq,
			v->st.names.dev, (unsigned long long)v->st.adds, bytes,
			(unsigned long long)fails, (unsigned long long)v->st.never_fit,
			v->gone ? "  (gone)" : "");
	}
}

static void prom(struct prom_out *o)
{
	/* Up to SNAP_MAX_VQS label sets: not for the stack. */
	static struct prom_rows r;
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "dmawatch_virtqueue_submissions_total",
		  "Successful virtqueue_add_{sgs,outbuf,inbuf} calls.",
		  offsetof(struct dmaw_vq_stats, adds) },
		{ "dmawatch_virtqueue_submitted_bytes_total",
		  "Bytes of the successful submissions.", offsetof(struct dmaw_vq_stats, bytes) },
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
	const struct snapshot *s = o->s;
	char l[PROM_LABELS_LEN], extra[64];

	r.n = 0;
	for (size_t i = 0; i < s->nvqs; i++) {
		const struct vq_snapshot *v = &s->vqs[i];

		l[0] = 0;
		prom_add_label(l, sizeof(l), "device", v->key.dev, sizeof(v->key.dev));
		prom_add_label(l, sizeof(l), "vq", v->key.vq, sizeof(v->key.vq));
		prom_add_label(l, sizeof(l), "driver", v->st.names.driver,
			       sizeof(v->st.names.driver));
		prom_add_label(l, sizeof(l), "dma_device", v->st.names.dev,
			       sizeof(v->st.names.dev));
		prom_rows_add(&r, i, l);
	}
	if (!r.n)
		return;
	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		prom_family(o, counters[k].name, "counter", counters[k].help);
		for (size_t i = 0; i < r.n; i++) {
			const char *st = (const char *)&s->vqs[r.idx[i]].st;

			prom_sample(o, counters[k].name, r.labels[i], NULL,
				    *(const __u64 *)(st + counters[k].off));
		}
	}
	prom_family(o, "dmawatch_virtqueue_failures_total", "counter",
		    "Failed submissions by errno: enospc (ring full), enomem (DMA mapping, "
		    "split ring), eio (DMA mapping, packed ring), other.");
	for (size_t i = 0; i < r.n; i++)
		for (int k = 0; k < DMAW_VQ_ERRS; k++) {
			snprintf(extra, sizeof(extra), "reason=\"%s\"", reasons[k]);
			prom_sample(o, "dmawatch_virtqueue_failures_total", r.labels[i], extra,
				    s->vqs[r.idx[i]].st.failures[k]);
		}
}

/* A deleted queue's row into the live row of its key, where there is
 * one: one series per key, never lower. */
static void fold(struct snapshot *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nvqs; i++) {
		struct vq_snapshot *v = &s->vqs[i], *live = NULL;

		for (size_t j = 0; v->gone && j < n && !live; j++)
			if (!s->vqs[j].gone && !memcmp(&s->vqs[j].key, &v->key, sizeof(v->key)))
				live = &s->vqs[j];
		if (live) {
			vq_add(&live->st, &v->st);
			continue;
		}
		if (n != i)
			s->vqs[n] = *v;
		n++;
	}
	s->nvqs = n;
}

/* Rows last had that cur lacks are carried over while there is room. */
static void keep(struct snapshot *cur, const struct snapshot *last)
{
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
		prom_max_u64s(&c->st.adds, &l->st.adds,
			      sizeof(c->st) - offsetof(struct dmaw_vq_stats, adds));
	}
}

const struct family virtqueue_family = {
	.name = "virtqueue",
	.summary = "virtqueue_add_*: submissions, failures and never-fitting requests per queue",
	.hooks = hooks,
	.nhooks = ARRAY_SIZE(hooks),
	.needs_a_hook = true,
	.state_size = sizeof(struct virtqueue_state),
	FAMILY_SKELETON_OPS(virtqueue),
	.read = virtqueue_read,
	.view = {
		.json = json,
		.text_tail = text_tail,
		.prom = prom,
		.keep = keep,
		.fold = fold,
	},
};
