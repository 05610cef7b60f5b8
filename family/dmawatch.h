/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types and constants both halves of dmawatch share: included by every
 * family's BPF program (after vmlinux.h) and by the loader. Per-family map
 * values live in the family's own header (swiotlb.h, dmamap.h,
 * virtqueue.h, pool.h, requeue.h, enforce.h).
 */
#ifndef DMAWATCH_H
#define DMAWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DMAW_DEV_NAME_LEN 32
#define DMAW_DRV_NAME_LEN 16
#define DMAW_COMM_LEN 16
#define DMAW_VQ_NAME_LEN 16
#define DMAW_DISK_NAME_LEN 32 /* gendisk.disk_name */
#define DMAW_HIST_SLOTS 32    /* log2 buckets: slot i counts values in [2^i, 2^(i+1)) */
#define DMAW_STACK_DEPTH 24

/* Capacities of the BPF tables, which user space reads whole: a snapshot
 * has room for every row a map can hold, so nothing is cut before sorting. */
#define DMAW_MAX_DEVS 256   /* per-device stats of each family */
#define DMAW_MAX_VQS 1024   /* virtqueues */
#define DMAW_MAX_PROCS 4096 /* processes (LRU) */
#define DMAW_MAX_GONE 64    /* departed devices not yet read by user space */

/* SWIOTLB geometry: kernel/dma/swiotlb.c (IO_TLB_SHIFT, IO_TLB_SEGSIZE) is
 * the same on every kernel dmawatch supports. A mapping needs
 * ceil(size / 2 KiB) contiguous slots inside one 128-slot segment. */
#define DMAW_IO_TLB_SHIFT 11
#define DMAW_IO_TLB_SIZE (1u << DMAW_IO_TLB_SHIFT)
#define DMAW_IO_TLB_SEGSIZE 128

/* enum dma_data_direction, indexing per-direction counters. */
enum dmaw_dir {
	DMAW_DIR_BIDI = 0,
	DMAW_DIR_TO_DEVICE = 1,
	DMAW_DIR_FROM_DEVICE = 2,
	DMAW_DIR_NONE = 3,
	DMAW_DIRS = 4,
};

enum dmaw_event_kind {
	DMAW_EV_OVER_LIMIT = 1, /* a mapping larger than swiotlb_max_mapping_size() */
	DMAW_EV_MAP_FAILED,     /* a bounced mapping failed within the limit */
	DMAW_EV_NEVER_FIT,      /* a request needing more slots than the pool has */
	DMAW_EV_VQ_FAILED,      /* virtqueue add failed (ring full or mapping) */
};

enum dmaw_source {
	DMAW_SRC_SWIOTLB_MAP = 1, /* swiotlb_map() */
	DMAW_SRC_DMA_MAP_SG,      /* __dma_map_sg_attrs() */
	DMAW_SRC_VIRTQUEUE,       /* virtqueue_add_*() */
	DMAW_SRC_DMA_MAP,         /* dma:dma_map_page / dma_map_phys */
};

struct dmaw_event {
	__u64 ts_ns;
	__u32 kind;   /* enum dmaw_event_kind */
	__u32 source; /* enum dmaw_source */
	__u32 pid;
	__u32 dir;
	__s32 err;     /* negative errno where the hook returns one */
	__u32 retries; /* how often this same request failed before */
	__u64 size;    /* bytes of the mapping (or the whole request) */
	__u64 limit;   /* swiotlb_max_mapping_size() for the device */
	__u32 slots_needed;
	__u32 slots_total;
	__u32 slots_used;
	__s32 stack_len; /* bytes of stack[], or a negative errno */
	char comm[DMAW_COMM_LEN];
	char dev[DMAW_DEV_NAME_LEN];
	char driver[DMAW_DRV_NAME_LEN];
	char vq[DMAW_VQ_NAME_LEN];
	__u64 stack[DMAW_STACK_DEPTH];
};

/* What every per-device value starts with: the names, read from the kernel
 * once per device (dev_name() and the driver's name); then only __u64s. */
struct dmaw_names {
	char dev[DMAW_DEV_NAME_LEN];
	char driver[DMAW_DRV_NAME_LEN];
};

/* Per-process bounce attribution: key pid, value below (per-CPU, LRU). */
struct dmaw_proc_stats {
	char comm[DMAW_COMM_LEN];
	__u64 maps;
	__u64 bytes;
};

#endif
