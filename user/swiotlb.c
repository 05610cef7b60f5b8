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

static int add_device(void *ctx, const void *key, void *sum, const void *percpu, int ncpus)
{
	const struct dmaw_swiotlb_stats *per = percpu, *total = sum;
	struct dev_snapshot *d = snapshot_dev(ctx, total->dev);

	(void)key;
	if (!d)
		return 1;
	d->sw = *total;
	/* Maxima and the limit are not sums. */
	d->sw.max_size = d->sw.limit = 0;
	for (int c = 0; c < ncpus; c++) {
		if (per[c].max_size > d->sw.max_size)
			d->sw.max_size = per[c].max_size;
		if (per[c].limit)
			d->sw.limit = per[c].limit;
	}
	if (!d->driver[0])
		memcpy(d->driver, total->driver, sizeof(d->driver));
	return 0;
}

static int swiotlb_read(struct engine *e, struct snapshot *s)
{
	return read_percpu_hash(e->swiotlb->maps.swiotlb_devs, sizeof(__u64),
				sizeof(struct dmaw_swiotlb_stats), DEV_NAMES_LEN, add_device, s);
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
