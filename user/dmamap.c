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
	__typeof__(skel->progs) *p;

	if (!skel)
		return NULL;
	e->dmamap = skel;
	p = &skel->progs;
	choose_fentry_or_kprobe(e, FAMILY, FN_DMA_MAP_PAGE_ATTRS,
				(struct bpf_program *[]){ p->dma_map_page_fentry,
							  p->dma_map_page_fexit }, 2,
				(struct bpf_program *[]){ p->dma_map_page_kprobe,
							  p->dma_map_page_kretprobe }, 2);
	choose_fentry_or_kprobe(e, FAMILY, FN___DMA_MAP_SG_ATTRS,
				(struct bpf_program *[]){ p->dma_map_sg_fentry,
							  p->dma_map_sg_fexit }, 2,
				(struct bpf_program *[]){ p->dma_map_sg_kprobe,
							  p->dma_map_sg_kretprobe }, 2);
	return skel->obj;
}

static int dmamap_attach(struct engine *e)
{
	return engine_attach_object(e, e->dmamap->obj, NULL);
}

static int dmamap_read(struct engine *e, struct snapshot *s)
{
	int ncpus = libbpf_num_possible_cpus();
	struct dmaw_dmamap_stats values[ncpus];
	struct dmaw_dev_key key, next;
	struct bpf_map *map = e->dmamap->maps.dmamap_devs;
	int err;

	for (err = bpf_map__get_next_key(map, NULL, &next, sizeof(next)); !err;
	     err = bpf_map__get_next_key(map, &key, &next, sizeof(next))) {
		struct dev_snapshot *d;

		key = next;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), values, sizeof(values), 0))
			continue;
		key.name[sizeof(key.name) - 1] = 0;
		d = snapshot_dev(s, key.name);
		if (!d)
			break;
		sum_percpu_u64(&d->api, values, sizeof(values[0]), sizeof(values[0].driver), ncpus);
		d->api.sg_largest_segment = 0;
		for (int c = 0; c < ncpus; c++)
			if (values[c].sg_largest_segment > d->api.sg_largest_segment)
				d->api.sg_largest_segment = values[c].sg_largest_segment;
		if (!d->driver[0])
			memcpy(d->driver, d->api.driver, sizeof(d->driver));
	}
	return 0;
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
