// SPDX-License-Identifier: GPL-2.0
/* DMA mapping API family, user half. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "dmamap.skel.h"
#include "engine.h"

#define FAMILY "dmamap"

static struct bpf_object *dmamap_open(struct engine *e)
{
	struct dmamap_bpf *skel = dmamap_bpf__open();

	if (!skel)
		return NULL;
	e->dmamap = skel;
	choose_hook(e, FAMILY, skel->obj, FN_DMA_MAP_PAGE_ATTRS, "dma_map_page");
	choose_hook(e, FAMILY, skel->obj, FN___DMA_MAP_SG_ATTRS, "dma_map_sg");
	return skel->obj;
}

static int dmamap_attach(struct engine *e)
{
	return engine_attach_object(e, e->dmamap->obj, NULL);
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

static int dmamap_read(struct engine *e, struct snapshot *s)
{
	return read_percpu_hash(e->dmamap->maps.dmamap_devs, sizeof(__u64),
				sizeof(struct dmaw_dmamap_stats), add_device, s);
}

static void dmamap_destroy(struct engine *e)
{
	dmamap_bpf__destroy(e->dmamap);
	e->dmamap = NULL;
}

const struct family dmamap_family = {
	.name = FAMILY,
	.open = dmamap_open,
	.attach = dmamap_attach,
	.read = dmamap_read,
	.destroy = dmamap_destroy,
};
