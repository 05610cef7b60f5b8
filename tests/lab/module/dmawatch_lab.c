// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch_lab - a lab stand-in for drivers that break under SWIOTLB.
 *
 * The module registers a platform device "dmawatch-lab" with a 64-bit DMA
 * mask and drives all of its I/O through the real DMA API.  In a guest booted
 * with swiotlb=force (or a confidential guest, where SWIOTLB bouncing is
 * mandatory) dma-direct bounces every streaming mapping of that device
 * through the SWIOTLB pool, so the module can reproduce the known failure
 * modes on demand:
 *
 *  - /dev/dmawlab0: a RAM-backed blk-mq disk.  Every read/write request is
 *    mapped with blk_rq_map_sg() + dma_map_sg(); the "device" then copies
 *    between the bounce slots and the RAM store.  Queue limits and the
 *    reaction to a mapping failure are module parameters, so both the old
 *    (segments larger than the SWIOTLB limit, I/O error) and the current
 *    (requeue forever) driver behaviour can be set up.
 *  - debugfs (/sys/kernel/debug/dmawatch_lab/), all mappings DMA_TO_DEVICE,
 *    buffer sizes 1 byte .. 4 MiB (physically contiguous pages):
 *      map_single  write N: map and unmap one N-byte buffer in
 *                  dmawatch_lab_map_single(); the write fails with -ENOMEM
 *                  if the mapping fails.  write "N DEVICE": the same on the
 *                  PCI device of that name (dev_name(), e.g. 0000:00:05.0)
 *                  instead of the module's own, so that another driver's
 *                  device (its min_align_mask, its SWIOTLB limit) does the
 *                  mapping; -ENODEV if there is none.
 *                  read: "size=N result=ok|fail|none" (the last write's)
 *      bench       write "COUNT SIZE": COUNT map/unmap pairs of one buffer.
 *                  read: "count= size= ns_total= ns_per_op= failures=
 *                  min_chunk_ns_per_op=" (ns_per_op is per map+unmap pair;
 *                  min_chunk_ns_per_op the same over the fastest chunk of
 *                  LAB_BENCH_RESCHED pairs: interrupts, the other vCPU and
 *                  the host only ever add time, so the fastest chunk is the
 *                  steadiest figure under TCG; a signal stops the run early
 *                  and count is then the number actually done)
 *      hold        write "N SIZE": add N held mappings of SIZE bytes (stops
 *                  at the first failure with -ENOMEM, keeping those made);
 *                  "release K": unmap every K-th held mapping;
 *                  "release all".  read: "held=N bytes=B"
 *      stats       read: "map_failures=N requests=N" for /dev/dmawlab0;
 *                  requests counts every read/write dispatch to queue_rq,
 *                  so a requeued request counts again on each retry.
 *
 * This is test code for the dmawatch lab; it is not meant for production.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#define LAB_DEV_NAME		"dmawatch-lab"
#define LAB_DISK_NAME		"dmawlab0"
#define LAB_QUEUE_DEPTH		64
/* Largest debugfs buffer: order 10, allowed by the page allocator on 6.1 and 6.12. */
#define LAB_MAX_BUF		(4UL << 20)
#define LAB_MAX_HELD		65536
#define LAB_MAX_SEGMENTS	4096
#define LAB_BENCH_RESCHED	1024

/* ---------------------------------------------------------------------- */
/* Module parameters                                                      */

static unsigned int size_mb = 64;
module_param(size_mb, uint, 0444);
MODULE_PARM_DESC(size_mb, "Size of /dev/" LAB_DISK_NAME " in MiB (1-4096, default 64)");

static unsigned int max_segment_size;
module_param(max_segment_size, uint, 0444);
MODULE_PARM_DESC(max_segment_size,
		 "Queue max_segment_size in bytes; 0 (default) = dma_max_mapping_size() of the device, anything else is applied as is, even above the SWIOTLB limit");

static unsigned int min_align_mask;
module_param(min_align_mask, uint, 0444);
MODULE_PARM_DESC(min_align_mask,
		 "The device's DMA min_align_mask (NVMe sets 4095); 0 (default) = none. swiotlb_max_mapping_size() is 128 slots less it, rounded up to a slot");

static unsigned int max_sectors_kb = 1280;
module_param(max_sectors_kb, uint, 0444);
MODULE_PARM_DESC(max_sectors_kb, "Largest request in KiB (sets max_hw_sectors and max_sectors, default 1280)");

static unsigned int max_segments = 254;
module_param(max_segments, uint, 0444);
MODULE_PARM_DESC(max_segments, "Queue max_segments (1-4096, default 254)");

enum lab_on_map_error {
	LAB_ON_ERR_IOERR,
	LAB_ON_ERR_REQUEUE,
};

static int on_map_error = LAB_ON_ERR_REQUEUE;

static int on_map_error_set(const char *val, const struct kernel_param *kp)
{
	int *p = kp->arg;

	if (sysfs_streq(val, "ioerr"))
		WRITE_ONCE(*p, LAB_ON_ERR_IOERR);
	else if (sysfs_streq(val, "requeue"))
		WRITE_ONCE(*p, LAB_ON_ERR_REQUEUE);
	else
		return -EINVAL;
	return 0;
}

static int on_map_error_get(char *buf, const struct kernel_param *kp)
{
	int v = READ_ONCE(*(int *)kp->arg);

	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 v == LAB_ON_ERR_IOERR ? "ioerr" : "requeue");
}

static const struct kernel_param_ops on_map_error_ops = {
	.set = on_map_error_set,
	.get = on_map_error_get,
};

/*
 * Writable at run time (/sys/module/dmawatch_lab/parameters/on_map_error):
 * switching a livelocked disk to "ioerr" lets the stuck request fail, so the
 * task waiting on it wakes up and the module can be unloaded again.
 */
module_param_cb(on_map_error, &on_map_error_ops, &on_map_error, 0644);
MODULE_PARM_DESC(on_map_error,
		 "On a dma_map_sg() failure: ioerr = fail the request with BLK_STS_IOERR, requeue (default) = return BLK_STS_RESOURCE so blk-mq retries it");

/* ---------------------------------------------------------------------- */
/* State                                                                  */

struct lab_hold {
	struct page *page;
	unsigned int order;
	size_t size;
	dma_addr_t dma;
};

/* Per-request driver data (blk-mq PDU). */
struct lab_cmd {
	struct scatterlist *sg;		/* max_segs entries, see lab_init_request() */
};

static struct {
	struct platform_device *pdev;
	struct device *dev;		/* &pdev->dev: the DMA device */

	/* block device */
	u8 *store;
	sector_t capacity;		/* in 512-byte sectors */
	unsigned int max_segs;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	atomic_long_t requests;
	atomic_long_t map_failures;

	/* debugfs */
	struct dentry *dbg_dir;
	struct mutex dbg_lock;		/* protects everything below */

	size_t last_map_size;
	int last_map_result;		/* 1 = none yet, 0 = ok, <0 = errno */

	u64 bench_count;
	size_t bench_size;
	u64 bench_ns;
	u64 bench_failures;
	u64 bench_min_chunk_ns;

	struct lab_hold *held;
	unsigned int nr_held;
	unsigned int held_cap;

	/* nested: a mapping in softirq while another is in flight */
	struct tracepoint *tp_bounced;	/* swiotlb:swiotlb_bounced */
	struct task_struct *nest_task;	/* whose next mapping gets one */
	struct tasklet_struct nest_tasklet;
	void *nest_buf;
	u64 nest_outer, nest_inner, nest_failures;
} lab = {
	.last_map_result = 1,
};

/* ---------------------------------------------------------------------- */
/* Block device                                                           */

/*
 * Block-layer API drift this module spans (6.1 to 7.x), by the release that
 * changed it: BLK_MQ_F_SHOULD_MERGE went away (merging is the default) in
 * 6.14; in 6.15 blk_rq_map_sg() lost its queue argument and init_request's
 * numa_node became an int.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
typedef int lab_numa_node_t;
#define lab_rq_map_sg(rq, sg) blk_rq_map_sg(rq, sg)
#else
typedef unsigned int lab_numa_node_t;
#define lab_rq_map_sg(rq, sg) blk_rq_map_sg((rq)->q, rq, sg)
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#define LAB_TAG_SET_FLAGS 0
#else
#define LAB_TAG_SET_FLAGS BLK_MQ_F_SHOULD_MERGE
#endif

static int lab_init_request(struct blk_mq_tag_set *set, struct request *rq,
			    unsigned int hctx_idx, lab_numa_node_t numa_node)
{
	struct lab_cmd *cmd = blk_mq_rq_to_pdu(rq);

	/*
	 * Kept out of the PDU itself: blk_mq_alloc_rqs() carves requests out
	 * of at most order-4 pages, so a large inline table would not fit.
	 */
	cmd->sg = kcalloc_node(lab.max_segs, sizeof(*cmd->sg), GFP_KERNEL,
			       numa_node);
	return cmd->sg ? 0 : -ENOMEM;
}

static void lab_exit_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx)
{
	struct lab_cmd *cmd = blk_mq_rq_to_pdu(rq);

	kfree(cmd->sg);
	cmd->sg = NULL;
}

static bool lab_in_range(struct request *rq)
{
	sector_t pos = blk_rq_pos(rq);
	sector_t nr = blk_rq_sectors(rq);

	return pos <= lab.capacity && nr <= lab.capacity - pos;
}

/*
 * Read or write one request the way a DMA device would: map its pages for
 * the device, let the "device" access the DMA addresses, unmap.
 */
static blk_status_t lab_do_rw(struct request *rq)
{
	struct lab_cmd *cmd = blk_mq_rq_to_pdu(rq);
	enum dma_data_direction dir;
	struct scatterlist *sg;
	size_t off;
	int nents, mapped, i;

	atomic_long_inc(&lab.requests);

	if (!lab_in_range(rq))
		return BLK_STS_IOERR;

	dir = rq_data_dir(rq) == WRITE ? DMA_TO_DEVICE : DMA_FROM_DEVICE;

	sg_init_table(cmd->sg, lab.max_segs);
	nents = lab_rq_map_sg(rq, cmd->sg);
	if (nents <= 0)
		return BLK_STS_IOERR;

	/*
	 * dma_map_sg() -> dma_direct_map_sg() -> dma_direct_map_page() ->
	 * swiotlb_map() for each entry when the pool forces bouncing.  For a
	 * write, swiotlb_tbl_map_single() copies the data into the bounce slot
	 * here.  If any entry cannot get slots (pool full, or an entry larger
	 * than IO_TLB_SEGSIZE slots = 256 KiB) the entries mapped so far are
	 * unmapped again and 0 is returned.
	 */
	mapped = dma_map_sg(lab.dev, cmd->sg, nents, dir);
	if (!mapped) {
		atomic_long_inc(&lab.map_failures);
		if (READ_ONCE(on_map_error) == LAB_ON_ERR_REQUEUE) {
			/*
			 * Today's virtio-blk behaviour: blk_mq_dispatch_rq_list()
			 * puts the request back and reruns the queue after
			 * BLK_MQ_RESOURCE_DELAY.  A request that can never be
			 * mapped is retried forever; its submitter waits in D
			 * state.
			 */
			return BLK_STS_RESOURCE;
		}
		/* The 2019 behaviour: the submitter gets an I/O error. */
		return BLK_STS_IOERR;
	}

	/*
	 * Play the device.  sg_dma_address() is the bus address of the bounce
	 * slot; dma_to_phys() strips the memory-encryption bit (__sme_clr), and
	 * the SWIOTLB pool sits in the direct map, so phys_to_virt() reaches
	 * the very bytes a real device would read or write.
	 */
	off = (size_t)blk_rq_pos(rq) << SECTOR_SHIFT;
	for_each_sg(cmd->sg, sg, mapped, i) {
		void *slot = phys_to_virt(dma_to_phys(lab.dev, sg_dma_address(sg)));
		unsigned int len = sg_dma_len(sg);

		if (dir == DMA_TO_DEVICE)
			memcpy(lab.store + off, slot, len);
		else
			memcpy(slot, lab.store + off, len);
		off += len;
	}

	/*
	 * Unmap with the nents given to dma_map_sg(), not its return value.
	 * For a read, swiotlb_tbl_unmap_single() copies the slots back to the
	 * request's pages here.
	 */
	dma_unmap_sg(lab.dev, cmd->sg, nents, dir);
	return BLK_STS_OK;
}

static blk_status_t lab_queue_rq(struct blk_mq_hw_ctx *hctx,
				 const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	blk_status_t st;

	blk_mq_start_request(rq);

	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		st = lab_do_rw(rq);
		/*
		 * BLK_STS_RESOURCE (and any error) goes back to blk-mq, which
		 * requeues or ends the request; the request is not ended here.
		 */
		if (st != BLK_STS_OK)
			return st;
		break;
	case REQ_OP_FLUSH:
		/* The store is plain RAM: there is no cache to write back. */
		st = BLK_STS_OK;
		break;
	case REQ_OP_DISCARD:
		/* No data moves, so no DMA: just zero the range. */
		if (!lab_in_range(rq))
			return BLK_STS_IOERR;
		memset(lab.store + ((size_t)blk_rq_pos(rq) << SECTOR_SHIFT), 0,
		       blk_rq_bytes(rq));
		st = BLK_STS_OK;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}

	/* The "device" is synchronous: complete in the submitting context. */
	blk_mq_end_request(rq, st);
	return BLK_STS_OK;
}

static const struct blk_mq_ops lab_mq_ops = {
	.queue_rq	= lab_queue_rq,
	.init_request	= lab_init_request,
	.exit_request	= lab_exit_request,
};

static const struct block_device_operations lab_bdops = {
	.owner		= THIS_MODULE,
};

/* Segment size the queue will advertise; see the max_segment_size param. */
static unsigned int lab_segment_size(void)
{
	size_t sz = max_segment_size;

	if (!sz)
		sz = min_t(size_t, dma_max_mapping_size(lab.dev), UINT_MAX);
	/* The block layer does not accept segments smaller than a page. */
	return max_t(size_t, sz, PAGE_SIZE);
}

static int lab_create_disk(void)
{
	unsigned int seg_size = lab_segment_size();
	unsigned int hw_sectors;
	struct gendisk *disk;
	int ret;

	/* At least a page, at most 1 GiB per request. */
	hw_sectors = clamp_t(unsigned int, max_sectors_kb, PAGE_SIZE >> 10,
			     1U << 20) << 1;

	lab.tag_set.ops = &lab_mq_ops;
	lab.tag_set.nr_hw_queues = 1;
	lab.tag_set.queue_depth = LAB_QUEUE_DEPTH;
	lab.tag_set.numa_node = NUMA_NO_NODE;
	lab.tag_set.cmd_size = sizeof(struct lab_cmd);
	lab.tag_set.flags = LAB_TAG_SET_FLAGS;
	ret = blk_mq_alloc_tag_set(&lab.tag_set);
	if (ret)
		return ret;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	{
		/*
		 * Since 6.9 the limits are handed to blk_mq_alloc_disk() and
		 * checked by blk_validate_limits(); since 6.11 the cache
		 * and rotational flags are "features" in the same struct.
		 * blk_validate_limits() caps max_sectors at
		 * BLK_DEF_MAX_SECTORS_CAP (1280 KiB) unless max_user_sectors
		 * is set, so set it to make max_sectors_kb the request size.
		 */
		struct queue_limits lim = {
			.logical_block_size	= SECTOR_SIZE,
			.max_hw_sectors		= hw_sectors,
			.max_user_sectors	= hw_sectors,
			.max_segments		= lab.max_segs,
			.max_segment_size	= seg_size,
			.max_hw_discard_sectors	= UINT_MAX >> SECTOR_SHIFT,
			.discard_granularity	= SECTOR_SIZE,
			.features		= BLK_FEAT_WRITE_CACHE,
		};

		disk = blk_mq_alloc_disk(&lab.tag_set, &lim, NULL);
		if (IS_ERR(disk)) {
			ret = PTR_ERR(disk);
			goto out_tags;
		}
	}
#else
	{
		struct request_queue *q;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
		disk = blk_mq_alloc_disk(&lab.tag_set, NULL, NULL);
#else
		disk = blk_mq_alloc_disk(&lab.tag_set, NULL);
#endif
		if (IS_ERR(disk)) {
			ret = PTR_ERR(disk);
			goto out_tags;
		}
		q = disk->queue;
		blk_queue_logical_block_size(q, SECTOR_SIZE);
		blk_queue_max_hw_sectors(q, hw_sectors);
		/*
		 * blk_queue_max_hw_sectors() caps max_sectors at
		 * BLK_DEF_MAX_SECTORS (1280 KiB); lift the cap so that
		 * max_sectors_kb is really the request size (the same as
		 * writing queue/max_sectors_kb in sysfs).
		 */
		q->limits.max_sectors = hw_sectors;
		blk_queue_max_segments(q, lab.max_segs);
		blk_queue_max_segment_size(q, seg_size);
		blk_queue_max_discard_sectors(q, UINT_MAX >> SECTOR_SHIFT);
		/* 6.1 rejects discards while this is 0 ("discard_granularity is 0"). */
		q->limits.discard_granularity = SECTOR_SIZE;
		blk_queue_write_cache(q, true, false);
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	}
#endif

	/* major 0 and minors 0: device_add_disk() picks a dynamic dev_t. */
	disk->fops = &lab_bdops;
	disk->flags |= GENHD_FL_NO_PART;
	strscpy(disk->disk_name, LAB_DISK_NAME, sizeof(disk->disk_name));
	set_capacity(disk, lab.capacity);

	/* Parent it under the platform device: /sys/devices/platform/dmawatch-lab/block/ */
	ret = device_add_disk(lab.dev, disk, NULL);
	if (ret)
		goto out_disk;

	lab.disk = disk;
	pr_info("%s: %u MiB, max_segment_size=%u (dma_max_mapping_size=%zu) max_sectors_kb=%u max_segments=%u on_map_error=%s\n",
		LAB_DISK_NAME, size_mb, seg_size, dma_max_mapping_size(lab.dev),
		hw_sectors >> 1, lab.max_segs,
		READ_ONCE(on_map_error) == LAB_ON_ERR_IOERR ? "ioerr" : "requeue");
	return 0;

out_disk:
	put_disk(disk);
out_tags:
	blk_mq_free_tag_set(&lab.tag_set);
	return ret;
}

static void lab_destroy_disk(void)
{
	del_gendisk(lab.disk);
	put_disk(lab.disk);
	blk_mq_free_tag_set(&lab.tag_set);
	lab.disk = NULL;
}

/* ---------------------------------------------------------------------- */
/* debugfs helpers                                                        */

/* Copy a short command from user space, NUL-terminated and trimmed. */
static char *lab_get_cmd(const char __user *ubuf, size_t len)
{
	if (!len || len > 64)
		return ERR_PTR(-EINVAL);
	return memdup_user_nul(ubuf, len);
}

/* A buffer size accepted by the debugfs files: 1 byte .. 4 MiB. */
static bool lab_size_ok(unsigned long size)
{
	return size && size <= LAB_MAX_BUF;
}

/* Physically contiguous, so one dma_map_single() covers all of it. */
static struct page *lab_alloc_buf(size_t size, unsigned int *order)
{
	*order = get_order(size);
	return alloc_pages(GFP_KERNEL | __GFP_NOWARN, *order);
}

/* ---------------------------------------------------------------------- */
/* debugfs: map_single                                                    */

/*
 * Map and unmap one buffer.  Kept out of line and under its own name so
 * that it shows in kernel stacks (e.g. a stack taken at swiotlb_tbl_map_single
 * or at the "swiotlb buffer is full" warning).  Returns 0 or -ENOMEM.
 */
static noinline __noclone int dmawatch_lab_map_single(struct device *dev,
						      void *buf, size_t size)
{
	dma_addr_t dma;

	dma = dma_map_single(dev, buf, size, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;
	dma_unmap_single(dev, dma, size, DMA_TO_DEVICE);
	return 0;
}

/*
 * The PCI device named @name (as dev_name() gives it), with a reference the
 * caller drops with put_device(); NULL if there is none.
 */
static struct device *lab_find_pci_dev(const char *name)
{
#ifdef CONFIG_PCI
	return bus_find_device_by_name(&pci_bus_type, NULL, name);
#else
	return NULL;
#endif
}

static ssize_t map_single_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct device *dev = lab.dev;
	unsigned long size;
	unsigned int order;
	struct page *page;
	char *cmd, *s, *name;
	int ret;

	cmd = lab_get_cmd(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	/* "SIZE" maps on the module's own device, "SIZE DEVICE" on that one. */
	s = strim(cmd);
	name = strpbrk(s, " \t");
	if (name) {
		*name = '\0';
		name = skip_spaces(name + 1);
	}
	ret = kstrtoul(s, 0, &size);
	if (!ret && !lab_size_ok(size))
		ret = -EINVAL;
	if (!ret && name) {
		dev = lab_find_pci_dev(name);
		if (!dev)
			ret = -ENODEV;
	}
	kfree(cmd);
	if (ret)
		return ret;

	page = lab_alloc_buf(size, &order);
	if (!page) {
		ret = -ENOMEM;
		goto out_put;
	}

	mutex_lock(&lab.dbg_lock);
	ret = dmawatch_lab_map_single(dev, page_address(page), size);
	lab.last_map_size = size;
	lab.last_map_result = ret;
	mutex_unlock(&lab.dbg_lock);

	__free_pages(page, order);
out_put:
	if (dev != lab.dev)
		put_device(dev);
	return ret ? ret : len;
}

static ssize_t map_single_read(struct file *file, char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[64];
	int n;

	mutex_lock(&lab.dbg_lock);
	n = scnprintf(buf, sizeof(buf), "size=%zu result=%s\n",
		      lab.last_map_size,
		      lab.last_map_result > 0 ? "none" :
		      lab.last_map_result == 0 ? "ok" : "fail");
	mutex_unlock(&lab.dbg_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations map_single_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= map_single_read,
	.write	= map_single_write,
	.llseek	= default_llseek,
};

/* ---------------------------------------------------------------------- */
/* debugfs: bench                                                         */

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	unsigned long count, size, done, failures = 0;
	unsigned int order;
	struct page *page;
	u64 t0, t1, tc, min_chunk = U64_MAX;
	void *buf;
	char *cmd;
	int n;

	cmd = lab_get_cmd(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	n = sscanf(cmd, "%lu %lu", &count, &size);
	kfree(cmd);
	if (n != 2 || !count || !lab_size_ok(size))
		return -EINVAL;

	page = lab_alloc_buf(size, &order);
	if (!page)
		return -ENOMEM;
	buf = page_address(page);

	mutex_lock(&lab.dbg_lock);
	t0 = ktime_get_ns();
	tc = t0;
	for (done = 0; done < count; done++) {
		dma_addr_t dma = dma_map_single(lab.dev, buf, size, DMA_TO_DEVICE);

		if (dma_mapping_error(lab.dev, dma))
			failures++;
		else
			dma_unmap_single(lab.dev, dma, size, DMA_TO_DEVICE);

		if ((done + 1) % LAB_BENCH_RESCHED == 0) {
			u64 now = ktime_get_ns();

			if (now - tc < min_chunk)
				min_chunk = now - tc;
			cond_resched();
			/* Let ^C stop a long run; the partial result is kept. */
			if (signal_pending(current)) {
				done++;
				break;
			}
			tc = ktime_get_ns();
		}
	}
	t1 = ktime_get_ns();
	lab.bench_count = done;
	lab.bench_size = size;
	lab.bench_ns = t1 - t0;
	lab.bench_failures = failures;
	lab.bench_min_chunk_ns = min_chunk == U64_MAX ? 0 : min_chunk;
	mutex_unlock(&lab.dbg_lock);

	__free_pages(page, order);
	return len;
}

static ssize_t bench_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	char buf[200];
	int n;

	mutex_lock(&lab.dbg_lock);
	n = scnprintf(buf, sizeof(buf),
		      "count=%llu size=%zu ns_total=%llu ns_per_op=%llu failures=%llu "
		      "min_chunk_ns_per_op=%llu\n",
		      lab.bench_count, lab.bench_size, lab.bench_ns,
		      lab.bench_count ? div64_u64(lab.bench_ns, lab.bench_count) : 0,
		      lab.bench_failures,
		      div64_u64(lab.bench_min_chunk_ns, LAB_BENCH_RESCHED));
	mutex_unlock(&lab.dbg_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations bench_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= bench_read,
	.write	= bench_write,
	.llseek	= default_llseek,
};

/* ---------------------------------------------------------------------- */
/* debugfs: hold                                                          */

static void lab_unmap_held(struct lab_hold *h)
{
	dma_unmap_single(lab.dev, h->dma, h->size, DMA_TO_DEVICE);
	__free_pages(h->page, h->order);
}

/* Called with dbg_lock held. */
static int lab_hold_add(unsigned long nr, unsigned long size)
{
	unsigned long i;

	if (nr > LAB_MAX_HELD - lab.nr_held)
		return -ENOSPC;

	if (lab.nr_held + nr > lab.held_cap) {
		unsigned int cap = lab.nr_held + nr;
		struct lab_hold *p;

		p = kvmalloc_array(cap, sizeof(*p), GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		if (lab.held)
			memcpy(p, lab.held, lab.nr_held * sizeof(*p));
		kvfree(lab.held);
		lab.held = p;
		lab.held_cap = cap;
	}

	for (i = 0; i < nr; i++) {
		struct lab_hold *h = &lab.held[lab.nr_held];

		h->size = size;
		h->page = lab_alloc_buf(size, &h->order);
		if (!h->page)
			return -ENOMEM;
		h->dma = dma_map_single(lab.dev, page_address(h->page), size,
					DMA_TO_DEVICE);
		if (dma_mapping_error(lab.dev, h->dma)) {
			/* Keep what was mapped so far: a full pool is a goal here. */
			__free_pages(h->page, h->order);
			return -ENOMEM;
		}
		lab.nr_held++;
		if ((i + 1) % 256 == 0)
			cond_resched();
	}
	return 0;
}

/* Unmap every k-th held mapping (k == 1: all) and compact the array. */
static void lab_hold_release(unsigned long k)
{
	unsigned int i, kept = 0;

	for (i = 0; i < lab.nr_held; i++) {
		if ((i + 1) % k == 0)
			lab_unmap_held(&lab.held[i]);
		else
			lab.held[kept++] = lab.held[i];
	}
	lab.nr_held = kept;
	if (!kept) {
		kvfree(lab.held);
		lab.held = NULL;
		lab.held_cap = 0;
	}
}

static ssize_t hold_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	unsigned long a, b;
	char *cmd, *s;
	int ret = 0;

	cmd = lab_get_cmd(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	s = strim(cmd);

	mutex_lock(&lab.dbg_lock);
	if (!strcmp(s, "release all")) {
		lab_hold_release(1);
	} else if (sscanf(s, "release %lu", &a) == 1) {
		if (a)
			lab_hold_release(a);
		else
			ret = -EINVAL;
	} else if (sscanf(s, "%lu %lu", &a, &b) == 2) {
		if (a && lab_size_ok(b))
			ret = lab_hold_add(a, b);
		else
			ret = -EINVAL;
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&lab.dbg_lock);

	kfree(cmd);
	return ret ? ret : len;
}

static ssize_t hold_read(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	unsigned long long bytes = 0;
	unsigned int i;
	char buf[64];
	int n;

	mutex_lock(&lab.dbg_lock);
	for (i = 0; i < lab.nr_held; i++)
		bytes += lab.held[i].size;
	n = scnprintf(buf, sizeof(buf), "held=%u bytes=%llu\n", lab.nr_held,
		      bytes);
	mutex_unlock(&lab.dbg_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations hold_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= hold_read,
	.write	= hold_write,
	.llseek	= default_llseek,
};

/* ---------------------------------------------------------------------- */
/* debugfs: nested                                                        */

/*
 * "N" maps a 4 KiB buffer N times; while each mapping is in flight (in
 * swiotlb_map(), at its swiotlb_bounced tracepoint) a tasklet maps a 2 KiB
 * buffer in softirq on the same CPU: the interrupt that arrives mid-call,
 * made deterministic. A tool that keys calls in flight by thread (the
 * interrupted task's pid_tgid) mixes the two up. Read: the counts.
 */
#define LAB_NEST_OUTER 4096
#define LAB_NEST_INNER 2048

static void lab_nest_tasklet(struct tasklet_struct *t)
{
	if (dmawatch_lab_map_single(lab.dev, lab.nest_buf, LAB_NEST_INNER))
		lab.nest_failures++;
	else
		lab.nest_inner++;
}

static void lab_nest_probe(void *data, struct device *dev, dma_addr_t dev_addr, size_t size)
{
	if (dev != lab.dev || current != READ_ONCE(lab.nest_task) || in_interrupt())
		return;
	WRITE_ONCE(lab.nest_task, NULL);
	/* local_bh_enable() runs the pending tasklet here, in softirq. */
	local_bh_disable();
	tasklet_schedule(&lab.nest_tasklet);
	local_bh_enable();
}

static void lab_find_bounced(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "swiotlb_bounced"))
		lab.tp_bounced = tp;
}

static ssize_t nested_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	unsigned long count;
	struct page *page;
	void *outer;
	char *cmd;
	int ret, n;

	cmd = lab_get_cmd(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	n = sscanf(cmd, "%lu", &count);
	kfree(cmd);
	if (n != 1 || !count || count > 100000)
		return -EINVAL;
	if (!lab.tp_bounced)
		for_each_kernel_tracepoint(lab_find_bounced, NULL);
	if (!lab.tp_bounced)
		return -ENOENT;
	page = alloc_pages(GFP_KERNEL, 1);
	if (!page)
		return -ENOMEM;
	outer = page_address(page);

	mutex_lock(&lab.dbg_lock);
	lab.nest_buf = outer + LAB_NEST_OUTER;
	lab.nest_outer = lab.nest_inner = lab.nest_failures = 0;
	ret = tracepoint_probe_register(lab.tp_bounced, lab_nest_probe, NULL);
	if (ret)
		goto out;
	for (unsigned long i = 0; i < count; i++) {
		WRITE_ONCE(lab.nest_task, current);
		if (dmawatch_lab_map_single(lab.dev, outer, LAB_NEST_OUTER))
			lab.nest_failures++;
		else
			lab.nest_outer++;
		WRITE_ONCE(lab.nest_task, NULL);
		cond_resched();
	}
	tracepoint_probe_unregister(lab.tp_bounced, lab_nest_probe, NULL);
	tracepoint_synchronize_unregister();
	tasklet_kill(&lab.nest_tasklet);
	ret = len;
out:
	mutex_unlock(&lab.dbg_lock);
	__free_pages(page, 1);
	return ret;
}

static ssize_t nested_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[96];
	int n;

	mutex_lock(&lab.dbg_lock);
	n = scnprintf(buf, sizeof(buf), "outer=%llu inner=%llu failures=%llu\n",
		      lab.nest_outer, lab.nest_inner, lab.nest_failures);
	mutex_unlock(&lab.dbg_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations nested_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= nested_read,
	.write	= nested_write,
	.llseek	= default_llseek,
};

/* ---------------------------------------------------------------------- */
/* debugfs: stats                                                         */

static ssize_t stats_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	char buf[96];
	int n;

	n = scnprintf(buf, sizeof(buf), "map_failures=%ld requests=%ld\n",
		      atomic_long_read(&lab.map_failures),
		      atomic_long_read(&lab.requests));
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations stats_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= stats_read,
	.llseek	= default_llseek,
};

static void lab_debugfs_init(void)
{
	/* debugfs failures are not fatal; the calls accept error pointers. */
	lab.dbg_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("map_single", 0600, lab.dbg_dir, NULL, &map_single_fops);
	debugfs_create_file("bench", 0600, lab.dbg_dir, NULL, &bench_fops);
	debugfs_create_file("hold", 0600, lab.dbg_dir, NULL, &hold_fops);
	debugfs_create_file("stats", 0400, lab.dbg_dir, NULL, &stats_fops);
	debugfs_create_file("nested", 0600, lab.dbg_dir, NULL, &nested_fops);
}

/* ---------------------------------------------------------------------- */
/* Module init/exit                                                       */

static int __init dmawatch_lab_init(void)
{
	int ret;

	if (!size_mb || size_mb > 4096) {
		pr_err("size_mb must be 1..4096\n");
		return -EINVAL;
	}
	if (!max_segments || max_segments > LAB_MAX_SEGMENTS) {
		pr_err("max_segments must be 1..%d\n", LAB_MAX_SEGMENTS);
		return -EINVAL;
	}
	lab.max_segs = max_segments;
	lab.capacity = (sector_t)size_mb << (20 - SECTOR_SHIFT);
	mutex_init(&lab.dbg_lock);
	tasklet_setup(&lab.nest_tasklet, lab_nest_tasklet);

	lab.pdev = platform_device_register_simple(LAB_DEV_NAME, -1, NULL, 0);
	if (IS_ERR(lab.pdev))
		return PTR_ERR(lab.pdev);
	lab.dev = &lab.pdev->dev;

	/*
	 * A 64-bit mask: nothing needs bouncing for addressing reasons, so
	 * only swiotlb=force / memory encryption makes dma-direct bounce
	 * (is_swiotlb_force_bounce() in dma_direct_map_page()).
	 * device_initialize() already pointed dev->dma_io_tlb_mem at the
	 * default pool.
	 */
	ret = dma_coerce_mask_and_coherent(lab.dev, DMA_BIT_MASK(64));
	if (ret)
		goto out_pdev;
	/* A platform device has its dma_parms (platform_device_alloc()). */
	if (min_align_mask)
		dma_set_min_align_mask(lab.dev, min_align_mask);

	lab.store = vzalloc((size_t)size_mb << 20);
	if (!lab.store) {
		ret = -ENOMEM;
		goto out_pdev;
	}

	ret = lab_create_disk();
	if (ret)
		goto out_store;

	lab_debugfs_init();
	return 0;

out_store:
	vfree(lab.store);
out_pdev:
	platform_device_unregister(lab.pdev);
	return ret;
}

static void __exit dmawatch_lab_exit(void)
{
	/* debugfs_remove_recursive() waits for running file operations. */
	debugfs_remove_recursive(lab.dbg_dir);
	lab_hold_release(1);
	lab_destroy_disk();
	vfree(lab.store);
	platform_device_unregister(lab.pdev);
}

module_init(dmawatch_lab_init);
module_exit(dmawatch_lab_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dmawatch lab: a block device and debugfs knobs that drive SWIOTLB through the DMA API");
