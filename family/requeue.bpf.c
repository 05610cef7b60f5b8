// SPDX-License-Identifier: GPL-2.0
/*
 * Block requeue family: block:block_rq_requeue, which the block layer
 * fires from __blk_mq_requeue_request() when a driver's queue_rq returned
 * BLK_STS_RESOURCE or BLK_STS_DEV_RESOURCE (virtio-blk does for a failed
 * mapping) and when a driver requeues a request itself. A rare path: one
 * map update per requeue, keyed by disk.
 */
#include "common.bpf.h"
#include "requeue.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DMAW_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct dmaw_requeue_stats);
} requeue_disks SEC(".maps");

/* MINORBITS of include/linux/kdev_t.h: the kernel's dev_t. */
#define DMAW_MINORBITS 20

static __always_inline int count(struct request *rq)
{
	static const struct dmaw_requeue_stats zero;
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	struct dmaw_requeue_stats *st;
	__u32 key = 0;

	if (disk)
		key = (BPF_CORE_READ(disk, major) << DMAW_MINORBITS) |
		      BPF_CORE_READ(disk, first_minor);
	st = lookup_or_try_init(&requeue_disks, &key, &zero);
	if (!st)
		return 0; /* DMAW_MAX_DISKS disks seen already */
	/* Named on the CPU that saw the disk first. */
	if (!st->disk[0] && disk)
		bpf_probe_read_kernel_str(st->disk, sizeof(st->disk), disk->disk_name);
	st->requeues++;
	st->bytes += BPF_CORE_READ(rq, __data_len);
	return 0;
}

SEC("?tp_btf/block_rq_requeue")
int BPF_PROG(requeue_tp_btf, struct request *rq)
{
	return count(rq);
}

SEC("?raw_tp/block_rq_requeue")
int BPF_PROG(requeue_raw_tp, struct request *rq)
{
	return count(rq);
}
