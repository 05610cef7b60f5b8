/* SPDX-License-Identifier: GPL-2.0 */
/* The swiotlb family's per-device arithmetic, which stat, dmatop's device
 * table and diagnose share (family/swiotlb.c): user space only, unlike
 * swiotlb.h, which the BPF side shares. */
#ifndef DMAWATCH_SWIOTLB_RATES_H
#define DMAWATCH_SWIOTLB_RATES_H

#include "engine/snapshot.h"

struct dev_rates {
	const struct dev_snapshot *dev;
	double maps_s;     /* bounced mappings per second */
	double to_dev_Bps; /* bytes bounced toward the device per second */
	double from_dev_Bps;
	double fail_s;
	double avg_size; /* bytes per mapping in the interval */
};

/* Totals of a device over all directions. */
__u64 dev_maps(const struct dev_snapshot *d);
__u64 dev_bytes(const struct dev_snapshot *d);
/* Rates of cur against prev (prev NULL: zero rates) over dt seconds. */
void dev_rates_between(struct dev_rates *r, const struct snapshot *prev,
		       const struct dev_snapshot *cur, double dt);

#endif
