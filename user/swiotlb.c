// SPDX-License-Identifier: GPL-2.0
/* SWIOTLB family, user half: program choice and per-device aggregation. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine.h"
#include "swiotlb.skel.h"

#define FAMILY "swiotlb"

/* Release and syncs come under whichever name this kernel has (6.6 made
 * the plain names inline wrappers of the __ ones): both are offered. */
static const struct {
	enum func_id fn;
	const char *prefix; /* of the programs in bpf/swiotlb.bpf.c */
} optional_hooks[] = {
	{ FN_SWIOTLB_TBL_UNMAP_SINGLE, "swiotlb_tbl_unmap_single" },
	{ FN___SWIOTLB_TBL_UNMAP_SINGLE, "__swiotlb_tbl_unmap_single" },
	{ FN_SWIOTLB_SYNC_FOR_DEVICE, "swiotlb_sync_single_for_device" },
	{ FN_SWIOTLB_SYNC_FOR_CPU, "swiotlb_sync_single_for_cpu" },
	{ FN___SWIOTLB_SYNC_FOR_DEVICE, "__swiotlb_sync_single_for_device" },
	{ FN___SWIOTLB_SYNC_FOR_CPU, "__swiotlb_sync_single_for_cpu" },
};

static struct bpf_object *swiotlb_open(struct engine *e)
{
	struct swiotlb_bpf *skel = swiotlb_bpf__open();

	if (!skel)
		return NULL;
	e->swiotlb = skel;
	/* swiotlb_map: the hook everything else hangs off. */
	if (choose_hook(e, FAMILY, skel->obj, FN_SWIOTLB_MAP, "swiotlb_map") == ATTACH_NONE) {
		errno = ENOENT;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(optional_hooks) / sizeof(optional_hooks[0]); i++)
		choose_hook(e, FAMILY, skel->obj, optional_hooks[i].fn, optional_hooks[i].prefix);
	return skel->obj;
}

static int swiotlb_attach(struct engine *e)
{
	return engine_attach_object(e, e->swiotlb->obj, NULL);
}

static int add_device(void *ctx, const void *key, const void *percpu, int ncpus)
{
	const struct dmaw_swiotlb_stats *per = percpu;
	struct dmaw_swiotlb_stats total;
	struct dev_snapshot *d;
	__u64 max, limit;

	sum_percpu_u64(&total, per, sizeof(total), ncpus);
	d = snapshot_dev(ctx, &total.names, *(const __u64 *)key);
	if (!d)
		return 0;
	/* Maxima and the limit are not sums (a name can have several keys:
	 * a device removed and added again). */
	max = d->sw.max_size;
	limit = d->sw.limit;
	add_u64_fields(&d->sw, &total, sizeof(total));
	for (int c = 0; c < ncpus; c++) {
		if (per[c].max_size > max)
			max = per[c].max_size;
		if (per[c].limit)
			limit = per[c].limit;
	}
	d->sw.max_size = max;
	d->sw.limit = limit;
	return 0;
}

static int swiotlb_read(struct engine *e, struct snapshot *s)
{
	return read_percpu_hash(e->swiotlb->maps.swiotlb_devs, sizeof(__u64),
				sizeof(struct dmaw_swiotlb_stats), add_device, s);
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
