/* SPDX-License-Identifier: GPL-2.0 */
/* SWIOTLB family (family/swiotlb.bpf.c): swiotlb_map(), the slot release and
 * the sync bounces, per device. */
#ifndef DMAWATCH_SWIOTLB_H
#define DMAWATCH_SWIOTLB_H

#include "dmawatch.h"

/* Per-CPU slots of the hot path: a device counts in the slot its pointer
 * hashes to (dev_stats()) on each CPU, claimed by the first device that
 * hashes there; a device whose slot another holds counts in the overflow hash
 * (family/swiotlb.bpf.c). A power of two. */
#define DMAW_DEV_SLOT_BITS 6
#define DMAW_DEV_SLOTS (1u << DMAW_DEV_SLOT_BITS)

enum {
	DMAW_BOUNCE_ALL = 1,  /* dma-direct with a force_bounce pool: counted */
	DMAW_BOUNCE_SOME = 2, /* not counted from the DMA API's tracepoints */
};

struct dmaw_swiotlb_stats { /* per-CPU: a slot, or the overflow hash's value */
	union {
		/* BPF: the struct device the counters are for, 0 in a free
		 * slot. The names are in their own map, read once. */
		__u64 dev;
		/* User space: the names, where the snapshot keeps them. */
		struct dmaw_names names;
	};
	__u64 maps[DMAW_DIRS];  /* successful bounced mappings */
	__u64 bytes[DMAW_DIRS]; /* bytes of those mappings */
	__u64 failures;         /* swiotlb_map() returned DMA_MAPPING_ERROR */
	__u64 over_limit;       /* size > swiotlb_max_mapping_size() */
	__u64 unmaps;
	__u64 unmap_bytes;
	__u64 sync_bytes[DMAW_DIRS]; /* swiotlb_sync_single_for_{device,cpu}: copies */
	__u64 max_size;              /* largest mapping attempted */
	__u64 limit;                 /* swiotlb_max_mapping_size(); BPF: 0 until
				      * read, and where the device is not counted */
	/* Counted from the DMA API's tracepoints: whether every mapping of
	 * the device bounces (DMAW_BOUNCE_*, read with limit); 0 where
	 * swiotlb_map() itself is hooked. Not a sum. */
	__u64 bounce;
	__u64 latency_ns;                    /* summed swiotlb_map() time */
	__u64 size_hist[DMAW_HIST_SLOTS];    /* log2 of bytes */
	__u64 latency_hist[DMAW_HIST_SLOTS]; /* log2 of ns */
};

#endif
