/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmatop's model of a frame, kept apart from the drawing in top.c so it can
 * be checked without a terminal: one row per device (rates, counts, share
 * of the pool), sorted and filtered.
 */
#ifndef DMAWATCH_TOP_H
#define DMAWATCH_TOP_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

/* Sort columns in the order s cycles through them (S goes back). */
enum top_sort {
	TOP_SORT_BYTES,  /* both directions: the default, biggest bouncer first */
	TOP_SORT_TO,
	TOP_SORT_FROM,
	TOP_SORT_MAPS,
	TOP_SORT_AVG,
	TOP_SORT_MAX,
	TOP_SORT_FAIL,
	TOP_SORT_OVER,
	TOP_SORT_NEVER,
	TOP_SORT_POOL,
	TOP_SORT_NAME,
	TOP_SORTS,
};

struct top_row {
	char name[DMAW_DEV_NAME_LEN];
	char driver[DMAW_DRV_NAME_LEN];
	const struct dev_snapshot *dev; /* NULL: seen only as a virtqueue's DMA device */
	double to_Bps, from_Bps;        /* bounced bytes per second, per direction */
	double maps_s, fail_s;
	double avg_size;                /* of this interval's mappings; 0: none */
	__u64 max_size;                 /* largest mapping attempted since start */
	__u64 over_limit;               /* mappings over swiotlb_max_mapping_size() */
	/* Requests that need more slots than the whole pool: the DMA API's
	 * scatterlists plus the virtqueues whose DMA device this is. */
	__u64 never_fit;
	/* Slots this device holds, in % of the pool: bytes mapped minus bytes
	 * unmapped since dmatop started, in 2 KiB slots. Mappings made before
	 * the start are not seen. < 0: the pool is unknown. */
	double pool_pct;
};

/* Rows of cur (rates against prev, which may be NULL) whose device or
 * driver contains filter (NULL or "": all), at most max; returns how many. */
size_t top_rows(const struct snapshot *prev, const struct snapshot *cur, const char *filter,
		struct top_row *rows, size_t max);
/* Does the device or driver name contain filter (any case)? NULL or "":
 * everything does. */
bool top_matches(const char *filter, const char *name, const char *driver);
void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key);
/* The column header a sort key orders by ("TO/s"; "TO+FROM" for bytes). */
const char *top_sort_name(enum top_sort key);

#endif
