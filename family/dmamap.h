/* SPDX-License-Identifier: GPL-2.0 */
/* DMA mapping API family (family/dmamap.bpf.c): dma_map_page_attrs() and
 * __dma_map_sg_attrs() (behind both dma_map_sg_attrs and dma_map_sgtable). */
#ifndef DMAWATCH_DMAMAP_H
#define DMAWATCH_DMAMAP_H

#include "dmawatch.h"

struct dmaw_dmamap_stats { /* per-CPU, key: the struct device pointer */
	struct dmaw_names names;
	__u64 page_maps; /* dma_map_page_attrs() calls */
	__u64 page_bytes;
	__u64 page_errors; /* returned DMA_MAPPING_ERROR */
	__u64 sg_maps;     /* __dma_map_sg_attrs() calls */
	__u64 sg_nents;
	__u64 sg_bytes;
	__u64 sg_errors; /* returned <= 0 */
	__u64 sg_largest_segment;
	__u64 sg_segments_over_limit; /* segments > swiotlb_max_mapping_size() */
	__u64 never_fit;              /* failed sg lists needing more slots than the pool */
};

#endif
