/* SPDX-License-Identifier: GPL-2.0 */
/* Pool family (family/pool.bpf.c): occupancy and fragmentation of the default
 * SWIOTLB allocator, read from the kernel's own io_tlb_mem: its boot pool
 * and, with CONFIG_SWIOTLB_DYNAMIC, the pools it added at run time and the
 * transient pools single mappings got when every pool was full. */
#ifndef DMAWATCH_POOL_H
#define DMAWATCH_POOL_H

#include "dmawatch.h"

enum dmaw_pool_flags {
	DMAW_POOL_OK = 1 << 0,             /* the scan ran and read the pool */
	DMAW_POOL_HIWATER_KERNEL = 1 << 1, /* hiwater is the kernel's used_hiwater */
	DMAW_POOL_DYNAMIC = 1 << 2,        /* SWIOTLB_DYNAMIC: io_tlb_mem.pools */
	DMAW_POOL_CAN_GROW = 1 << 3,       /* io_tlb_mem.can_grow: it grows now */
	DMAW_POOL_TRANSIENT = 1 << 4,      /* transient_slots is the kernel's */
	/* User space: hiwater is dmawatch's own, sampled after every mapping
	 * (--detail). Without this or HIWATER_KERNEL it is the most seen at
	 * reads and failed mappings: a lower bound, shown as such. */
	DMAW_POOL_HIWATER_EVERY = 1 << 5,
};

/* Scanned pools at most; more are counted in pools_unscanned. */
#define DMAW_POOL_SCAN_MAX 32

/* What the kernel's pool allocator did, per CPU, counted since dmawatch
 * attached, from the calls it keeps out of line (kernel/dma/swiotlb.c):
 * the worker swiotlb_dyn_alloc(), add_mem_pool(), and swiotlb_dyn_free(),
 * which frees a transient pool after its unmap. A transient pool's
 * creation is inlined into the mapping (swiotlb_find_slots()): those alive
 * show in the kernel's transient slots, the rest here once freed. */
struct dmaw_pool_events {
	__u64 grow_attempts;         /* the worker ran */
	__u64 grows;                 /* it added a pool to the default allocator */
	__u64 grow_failures;         /* it could not ("Failed to allocate new pool") */
	__u64 grown_slots;           /* slots of the pools it added */
	__u64 transient_frees;       /* transient pools freed */
	__u64 transient_freed_slots; /* their slots */
};

struct dmaw_pool_stats {
	__u64 nslabs;           /* slots in every pool of the allocator
				 * (io_tlb_mem.nslabs; transient ones aside) */
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
	/* SWIOTLB_DYNAMIC (flags DMAW_POOL_DYNAMIC), else pools is 1: */
	__u64 boot_nslabs;     /* slots of the pool set up at boot (defpool) */
	__u64 transient_slots; /* slots in transient pools now */
	__u32 pools;           /* pools on io_tlb_mem.pools, the boot pool included */
	__u32 pools_unscanned; /* past DMAW_POOL_SCAN_MAX: in no run or count */
	/* User space: the events, summed over CPUs (the scan leaves them 0). */
	struct dmaw_pool_events ev;
};

#endif
