// SPDX-License-Identifier: GPL-2.0
/* Names and numbers as every output prints them. */
#include <stdio.h>

#include "out/fmt.h"

const char *event_kind_name(__u32 kind)
{
	switch (kind) {
	case DMAW_EV_OVER_LIMIT: return "over-limit";
	case DMAW_EV_MAP_FAILED: return "map-failed";
	case DMAW_EV_NEVER_FIT: return "never-fit";
	case DMAW_EV_VQ_FAILED: return "vq-failed";
	default: return "unknown";
	}
}

const char *event_source_name(__u32 source)
{
	switch (source) {
	case DMAW_SRC_SWIOTLB_MAP: return "swiotlb_map";
	case DMAW_SRC_DMA_MAP_SG: return "dma_map_sg";
	case DMAW_SRC_VIRTQUEUE: return "virtqueue_add";
	case DMAW_SRC_DMA_MAP: return "dma_map_page";
	default: return "?";
	}
}

void fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes >= 1024 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", bytes);
	else
		snprintf(buf, len, bytes < 10 ? "%.1f%c" : "%.0f%c", bytes, units[u]);
}

void fmt_bytes4(char *buf, size_t len, double v)
{
	static const char units[] = "KMGTP";
	int u = -1;

	while (v >= 999.5 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}
