/* SPDX-License-Identifier: GPL-2.0 */
/* Pool family (family/pool.bpf.c): occupancy and fragmentation of the default
 * SWIOTLB pool, read from the kernel's own io_tlb_mem. */
#ifndef DMAWATCH_POOL_H
#define DMAWATCH_POOL_H

#include "dmawatch.h"

enum dmaw_pool_flags {
	DMAW_POOL_OK = 1 << 0,             /* the scan ran and read the pool */
	DMAW_POOL_HIWATER_KERNEL = 1 << 1, /* hiwater is the kernel's used_hiwater */
};

struct dmaw_pool_stats {
	__u64 nslabs;           /* slots in the default pool */
	__u64 used;             /* slots in use, the kernel's own count */
	__u64 used_scan;        /* slots in use seen by the slot scan */
	__u64 hiwater;          /* most slots ever in use (see flags) */
	__u32 largest_free_run; /* longest run of free slots, <= 128 */
	__u32 free_segments;    /* 128-slot segments entirely free */
	__u32 nareas;
	__u32 flags; /* enum dmaw_pool_flags */
	/* Added by the pool family: */
	__u32 largest_free_run_page; /* same, from a page-aligned (even) slot:
				      * the longest run a >= 4 KiB mapping gets */
	__s32 scan_err;              /* negative errno of the scan, 0 if none */
	__u64 scan_ns;               /* time the last scan took in the kernel */
	__u64 scans;                 /* scans run since load */
};

#endif
