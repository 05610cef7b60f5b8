/* SPDX-License-Identifier: GPL-2.0 */
/* Block requeue family (family/requeue.bpf.c): requests the block layer took
 * back because the driver could not queue them (block:block_rq_requeue). A
 * driver whose DMA mapping fails ("swiotlb buffer is full") returns a
 * resource status and its request comes back later: a pool exhausted for a
 * while shows as a burst of requeues, a request that can never fit as
 * requeues that never stop: the guest's IO hangs with no error. */
#ifndef DMAWATCH_REQUEUE_H
#define DMAWATCH_REQUEUE_H

#include "dmawatch.h"

#define DMAW_MAX_DISKS 32

struct dmaw_requeue_stats {            /* per-CPU, key: the disk's dev_t (MKDEV) */
	char disk[DMAW_DISK_NAME_LEN]; /* gendisk.disk_name */
	__u64 requeues;
	__u64 bytes; /* blk_rq_bytes() of those requests */
};

/* User space's reading of the map: the family's own part of a snapshot
 * (SNAPSHOT_MINE(s, requeue)), a row per disk. */
struct dmaw_requeue_disk {
	char name[DMAW_DISK_NAME_LEN];
	__u32 devt;
	__u64 requeues;
	__u64 bytes;
};

struct dmaw_requeue_snap {
	__u32 ndisks;
	struct dmaw_requeue_disk disks[DMAW_MAX_DISKS];
};

#endif
