/* SPDX-License-Identifier: GPL-2.0 */
/* Virtqueue family (family/virtqueue.bpf.c): virtqueue_add_{sgs,outbuf,inbuf}. */
#ifndef DMAWATCH_VIRTQUEUE_H
#define DMAWATCH_VIRTQUEUE_H

#include "dmawatch.h"

struct dmaw_vq_key {
	char dev[DMAW_DEV_NAME_LEN]; /* the virtio device, e.g. virtio0 */
	char vq[DMAW_VQ_NAME_LEN];   /* vq->name, e.g. req.0 */
};

enum dmaw_vq_err {
	DMAW_VQ_ENOSPC, /* ring full */
	DMAW_VQ_ENOMEM, /* DMA mapping failed (split ring) */
	DMAW_VQ_EIO,    /* DMA mapping failed (packed ring) */
	DMAW_VQ_EOTHER,
	DMAW_VQ_ERRS,
};

struct dmaw_vq_stats {           /* per-CPU */
	struct dmaw_names names; /* dev: the device the DMA API maps for;
				  * driver: the virtio driver, e.g. virtio_blk */
	__u64 adds;              /* successful submissions */
	__u64 sg_entries;        /* scatterlist entries submitted */
	__u64 bytes;             /* bytes submitted */
	__u64 failures[DMAW_VQ_ERRS];
	__u64 never_fit;      /* failed requests needing more slots than the pool has */
	__u64 never_fit_reqs; /* of those, distinct requests (first failure of each) */
};

/* A virtqueue deleted (vring_del_virtqueue(): its device went, or its
 * driver let go): what it counted, summed over the CPUs. */
struct dmaw_vq_gone {
	struct dmaw_vq_key key;
	struct dmaw_vq_stats st;
};

#endif
