// SPDX-License-Identifier: GPL-2.0
/* SWIOTLB family, user half: its hooks and per-device aggregation. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "family.h"
#include "engine.h"
#include "swiotlb.skel.h"

struct swiotlb_state {
	struct swiotlb_bpf *skel; /* first: FAMILY_SKELETON */
};

static const struct hook hooks[] = {
	/* The hook everything else hangs off: its fexit alone counts a
	 * mapping; --latency adds the fentry that starts the clock. */
	{ .funcs = { "swiotlb_map" }, .prog = "swiotlb_map",
	  .progs = HOOK_FEXIT | HOOK_KPROBES, .latency_progs = HOOK_FENTRY, .required = true },
	/* The release and syncs, under whichever name this kernel has (6.6
	 * made the plain names inline wrappers of the __ ones). */
	{ .funcs = { "__swiotlb_tbl_unmap_single", "swiotlb_tbl_unmap_single" },
	  .prog = "swiotlb_unmap", .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_tbl_unmap_single" },
	{ .funcs = { "__swiotlb_sync_single_for_device", "swiotlb_sync_single_for_device" },
	  .prog = "swiotlb_sync_dev", .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_sync_single_for_device", .latency_only = true },
	{ .funcs = { "__swiotlb_sync_single_for_cpu", "swiotlb_sync_single_for_cpu" },
	  .prog = "swiotlb_sync_cpu", .progs = HOOK_FENTRY | HOOK_KPROBE,
	  .label = "swiotlb_sync_single_for_cpu", .latency_only = true },
};

FAMILY_SKELETON(swiotlb)

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

static int swiotlb_read(struct fam *f, struct snapshot *s)
{
	struct swiotlb_state *st = f->state;

	s->latency = st->skel->rodata->dmaw_latency;
	return read_percpu_hash(bpf_map__fd(st->skel->maps.swiotlb_devs), sizeof(__u64),
				sizeof(struct dmaw_swiotlb_stats), add_device, s);
}

const struct family swiotlb_family = {
	.name = "swiotlb",
	.summary = "every bounced mapping (swiotlb_map), its release and syncs, per device",
	.hooks = hooks,
	.nhooks = sizeof(hooks) / sizeof(hooks[0]),
	.state_size = sizeof(struct swiotlb_state),
	.open = swiotlb_skel_open,
	.load = swiotlb_skel_load,
	.read = swiotlb_read,
	.destroy = swiotlb_skel_destroy,
};
