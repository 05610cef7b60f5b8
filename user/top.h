/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmatop's model of a frame, kept apart from the drawing in top.c so it can
 * be checked without a terminal: one row per device (rates, counts, share
 * of the pool), sorted and filtered, and what kind of guest this is.
 */
#ifndef DMAWATCH_TOP_H
#define DMAWATCH_TOP_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

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
void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key);
/* The column header a sort key orders by ("TO/s"; "TO+FROM" for bytes). */
const char *top_sort_name(enum top_sort key);

enum cc_kind { CC_NONE, CC_SEV, CC_SEV_ES, CC_SEV_SNP, CC_TDX };

/* The confidential-computing state of the machine and whether every DMA is
 * bounced, read from what the running kernel exposes, never its version. */
struct cc_state {
	enum cc_kind kind;
	const char *source;    /* what said so, e.g. "SEV status MSR" */
	bool hint;             /* only a hint: CPU flags of a guest, no proof */
	bool forced;           /* swiotlb=...force on the command line */
	bool noforce;          /* swiotlb=noforce */
	char swiotlb_arg[48];  /* the swiotlb= value, "" if none */
};

/* From the text of /proc/cpuinfo and /proc/cmdline (either may be NULL),
 * the SEV status MSR (sev_msr < 0: unreadable) and whether the kernel
 * registered the SEV-SNP guest platform device. */
void cc_parse(struct cc_state *cc, const char *cpuinfo, const char *cmdline, long long sev_msr,
	      bool snp_guest_dev);
/* Reads those sources of this machine. */
void cc_detect(struct cc_state *cc);
const char *cc_name(enum cc_kind kind);

#endif
