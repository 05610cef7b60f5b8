// SPDX-License-Identifier: GPL-2.0
/* DMA mapping API family, user half. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "dmamap.skel.h"
#include "engine.h"
#include "family.h"

struct dmamap_state {
	struct dmamap_bpf *skel; /* first: FAMILY_SKELETON */
};

static const struct hook hooks[] = {
	/* fexit sees the arguments too: no entry program with fexit. */
	{ .funcs = { "dma_map_page_attrs" }, .prog = "dma_map_page",
	  .progs = HOOK_FEXIT | HOOK_KPROBES },
	{ .funcs = { "__dma_map_sg_attrs" }, .prog = "dma_map_sg",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
};

FAMILY_SKELETON(dmamap)

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

static int dmamap_read(struct fam *f, struct snapshot *s)
{
	struct dmamap_state *st = f->state;

	return read_percpu_hash(bpf_map__fd(st->skel->maps.dmamap_devs), sizeof(__u64),
				sizeof(struct dmaw_dmamap_stats), add_device, s);
}

const struct family dmamap_family = {
	.name = "dmamap",
	.summary = "dma_map_page_attrs and dma_map_sg: segment sizes any driver maps",
	.hooks = hooks,
	.nhooks = sizeof(hooks) / sizeof(hooks[0]),
	.state_size = sizeof(struct dmamap_state),
	.open = dmamap_skel_open,
	.load = dmamap_skel_load,
	.read = dmamap_read,
	.destroy = dmamap_skel_destroy,
};
