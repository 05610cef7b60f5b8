// SPDX-License-Identifier: GPL-2.0
/* SWIOTLB family, user half: program choice and per-device aggregation. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine.h"
#include "swiotlb.skel.h"

#define FAMILY "swiotlb"

static struct bpf_object *swiotlb_open(struct engine *e)
{
	struct swiotlb_bpf *skel = swiotlb_bpf__open();
	__typeof__(skel->progs) *p;

	if (!skel)
		return NULL;
	e->swiotlb = skel;
	p = &skel->progs;
	/* swiotlb_map: the hook everything else hangs off. */
	if (choose_fentry_or_kprobe(e, FAMILY, FN_SWIOTLB_MAP,
				    (struct bpf_program *[]){ p->swiotlb_map_fentry,
							      p->swiotlb_map_fexit }, 2,
				    (struct bpf_program *[]){ p->swiotlb_map_kprobe,
							      p->swiotlb_map_kretprobe }, 2) ==
	    ATTACH_NONE) {
		errno = ENOENT;
		return NULL;
	}
	/* Release and syncs under whichever name this kernel has. */
	choose_fentry_or_kprobe(e, FAMILY, FN_SWIOTLB_TBL_UNMAP_SINGLE,
				&p->swiotlb_tbl_unmap_single_fentry, 1,
				&p->swiotlb_tbl_unmap_single_kprobe, 1);
	choose_fentry_or_kprobe(e, FAMILY, FN___SWIOTLB_TBL_UNMAP_SINGLE,
				&p->__swiotlb_tbl_unmap_single_fentry, 1,
				&p->__swiotlb_tbl_unmap_single_kprobe, 1);
	choose_fentry_or_kprobe(e, FAMILY, FN_SWIOTLB_SYNC_FOR_DEVICE,
				&p->swiotlb_sync_single_for_device_fentry, 1,
				&p->swiotlb_sync_single_for_device_kprobe, 1);
	choose_fentry_or_kprobe(e, FAMILY, FN_SWIOTLB_SYNC_FOR_CPU,
				&p->swiotlb_sync_single_for_cpu_fentry, 1,
				&p->swiotlb_sync_single_for_cpu_kprobe, 1);
	choose_fentry_or_kprobe(e, FAMILY, FN___SWIOTLB_SYNC_FOR_DEVICE,
				&p->__swiotlb_sync_single_for_device_fentry, 1,
				&p->__swiotlb_sync_single_for_device_kprobe, 1);
	choose_fentry_or_kprobe(e, FAMILY, FN___SWIOTLB_SYNC_FOR_CPU,
				&p->__swiotlb_sync_single_for_cpu_fentry, 1,
				&p->__swiotlb_sync_single_for_cpu_kprobe, 1);
	return skel->obj;
}

static int swiotlb_attach(struct engine *e)
{
	return engine_attach_object(e, e->swiotlb->obj, NULL);
}

static int swiotlb_read(struct engine *e, struct snapshot *s)
{
	int ncpus = libbpf_num_possible_cpus();
	struct dmaw_swiotlb_stats values[ncpus];
	struct dmaw_dev_key key, next;
	struct bpf_map *map = e->swiotlb->maps.swiotlb_devs;
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
		sum_percpu_u64(&d->sw, values, sizeof(values[0]), sizeof(values[0].driver), ncpus);
		/* Maxima and the limit are not sums. */
		d->sw.max_size = d->sw.limit = 0;
		for (int c = 0; c < ncpus; c++) {
			if (values[c].max_size > d->sw.max_size)
				d->sw.max_size = values[c].max_size;
			if (values[c].limit)
				d->sw.limit = values[c].limit;
		}
		if (!d->driver[0])
			memcpy(d->driver, d->sw.driver, sizeof(d->driver));
	}
	return 0;
}

static void swiotlb_destroy(struct engine *e)
{
	swiotlb_bpf__destroy(e->swiotlb);
	e->swiotlb = NULL;
}

const struct family swiotlb_family = {
	.name = FAMILY,
	.open = swiotlb_open,
	.attach = swiotlb_attach,
	.read = swiotlb_read,
	.destroy = swiotlb_destroy,
};
