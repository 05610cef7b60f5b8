// SPDX-License-Identifier: GPL-2.0
/*
 * DMA mapping API family: dma_map_page_attrs() (what virtio_ring calls per
 * sg entry) and __dma_map_sg_attrs() (behind dma_map_sg_attrs() and
 * dma_map_sgtable(), what block and GPU drivers call). For scatterlists it
 * records the segment sizes the driver built: a segment larger than
 * swiotlb_max_mapping_size() can never be bounced (the mapping fails every
 * time it is tried, and a block request built of it is requeued forever),
 * whoever maps it.
 */
#include "common.bpf.h"
#include "dmamap.h"
#include "sgwalk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_SG_WALK 1024

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DMAW_MAX_DEVS);
	__type(key, __u64);
	__type(value, struct dmaw_dmamap_stats);
} dmamap_devs SEC(".maps");

struct call {
	const struct device *dev;
	__u64 bytes;
	__u64 largest;
	__u32 nents;
	__u32 over_limit;
	__u32 slots;
	__u32 dir;
	__u64 limit;
};

/* Arguments of a call in flight (call_key()), for the return probe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct call);
} calls SEC(".maps");

static const struct dmaw_dmamap_stats dmamap_zero;

static __always_inline struct dmaw_dmamap_stats *dev_stats(const struct device *dev)
{
	return device_stats(&dmamap_devs, dev, &dmamap_zero);
}

/* ---- dma_map_page_attrs ---------------------------------------------- */

static __always_inline int page_enter(const struct device *dev, __u64 size, __u32 dir)
{
	__u64 tid = call_key();
	struct call c = { .dev = dev, .bytes = size, .dir = dir };

	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline void count_page(const struct device *dev, __u64 size, dma_addr_t ret)
{
	struct dmaw_dmamap_stats *st = dev_stats(dev);

	if (st) {
		st->page_maps++;
		st->page_bytes += size;
		if (ret == DMA_MAPPING_ERROR)
			st->page_errors++;
	}
}

/* fexit sees the arguments too: no entry program needed. */
SEC("?fexit/dma_map_page_attrs")
int BPF_PROG(dma_map_page_fexit, struct device *dev, struct page *page, size_t offset, size_t size,
	     enum dma_data_direction dir, unsigned long attrs, dma_addr_t ret)
{
	count_page(dev, size, ret);
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(dma_map_page_kprobe, struct device *dev, struct page *page, size_t offset,
	       size_t size, enum dma_data_direction dir)
{
	return page_enter(dev, size, dir);
}

SEC("?kretprobe")
int BPF_KRETPROBE(dma_map_page_kretprobe, dma_addr_t ret)
{
	__u64 tid = call_key();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);

	if (c) {
		count_page(c->dev, c->bytes, ret);
		bpf_map_delete_elem(&calls, &tid);
	}
	return 0;
}

/* ---- __dma_map_sg_attrs ----------------------------------------------- */

static __always_inline int sg_enter(const struct device *dev, struct scatterlist *sg, int nents,
				    __u32 dir)
{
	__u64 tid = call_key();
	struct sg_walk w = {};
	struct call c = {
		.dev = dev,
		.dir = dir,
		.limit = swiotlb_limit(dev),
	};

	/* A list is recorded even empty: the exit counts the call. */
	if (nents > 0 && sg_walk(NULL, 0, sg, nents, MAX_SG_WALK, c.limit, false, &w))
		return 0;
	c.bytes = w.bytes;
	c.largest = w.largest;
	c.nents = w.entries;
	c.over_limit = w.over_limit;
	c.slots = w.slots;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline int sg_exit(void *ctx, int ret)
{
	__u64 tid = call_key();
	struct dmaw_dmamap_stats *st;
	struct dmaw_event *e;
	__u32 total, used;
	struct call *c = bpf_map_lookup_elem(&calls, &tid);

	if (!c)
		return 0;
	st = dev_stats(c->dev);
	if (!st)
		goto out;
	st->sg_maps++;
	st->sg_nents += c->nents;
	st->sg_bytes += c->bytes;
	st->sg_segments_over_limit += c->over_limit;
	if (c->largest > st->sg_largest_segment)
		st->sg_largest_segment = c->largest;
	if (ret > 0)
		goto out;
	st->sg_errors++;
	pool_usage(c->dev, &total, &used);
	/* Bounced entry by entry, the whole list must be in the pool at once
	 * (dma_direct_map_sg): more slots than the pool has never fit. */
	if (!total || c->slots <= total)
		goto out;
	st->never_fit++;
	if (!event_sampled(st->never_fit))
		goto out;
	e = event_reserve(DMAW_EV_NEVER_FIT, DMAW_SRC_DMA_MAP_SG);
	if (!e)
		goto out;
	e->dir = c->dir;
	e->err = ret;
	e->size = c->bytes;
	e->limit = c->limit;
	e->slots_needed = c->slots;
	e->slots_total = total;
	e->slots_used = used;
	read_dev_name(c->dev, e->dev, sizeof(e->dev));
	read_driver_name(c->dev, e->driver, sizeof(e->driver));
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("?fentry/__dma_map_sg_attrs")
int BPF_PROG(dma_map_sg_fentry, struct device *dev, struct scatterlist *sg, int nents,
	     enum dma_data_direction dir)
{
	return sg_enter(dev, sg, nents, dir);
}

SEC("?fexit/__dma_map_sg_attrs")
int BPF_PROG(dma_map_sg_fexit, struct device *dev, struct scatterlist *sg, int nents,
	     enum dma_data_direction dir, unsigned long attrs, int ret)
{
	return sg_exit(ctx, ret);
}

SEC("?kprobe")
int BPF_KPROBE(dma_map_sg_kprobe, struct device *dev, struct scatterlist *sg, int nents,
	       enum dma_data_direction dir)
{
	return sg_enter(dev, sg, nents, dir);
}

SEC("?kretprobe")
int BPF_KRETPROBE(dma_map_sg_kretprobe, int ret)
{
	return sg_exit(ctx, ret);
}

/* ---- a device that is gone ------------------------------------------------ */

/* Devices freed (device_release(), kobj_device_key()): their counters
 * summed over the CPUs, names included, keyed by the order of release, for
 * user space to take out (family/dmamap.c); as the swiotlb family does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_MAX_GONE);
	__type(key, __u64);
	__type(value, struct dmaw_dmamap_stats);
} dmamap_gone SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dmaw_dmamap_stats);
} dmamap_gone_sum SEC(".maps");

__u64 dmamap_gone_seq;
__u64 dmamap_gone_dropped;

#define API_WORDS (sizeof(struct dmaw_dmamap_stats) / 8)
#define API_FIRST (offsetof(struct dmaw_dmamap_stats, page_maps) / 8)
#define API_LARGEST (offsetof(struct dmaw_dmamap_stats, sg_largest_segment) / 8)

struct api_walk {
	__u64 key;
	struct dmaw_dmamap_stats *sum;
};

/* CPU cpu's copy of the device's counters into the sum; the largest
 * segment is not a sum, the names come from the CPU that has them. */
static long api_gone_cpu(__u32 cpu, void *ctx)
{
	struct api_walk *w = ctx;
	const struct dmaw_dmamap_stats *v = bpf_map_lookup_percpu_elem(&dmamap_devs, &w->key, cpu);
	const __u64 *s = (const __u64 *)v;
	__u64 *d = (__u64 *)w->sum;

	if (!v)
		return 1; /* the entry went: nothing on any CPU */
	if (!w->sum->names.dev[0] && v->names.dev[0])
		w->sum->names = v->names;
	for (__u32 i = API_FIRST; i < API_WORDS; i++) {
		if (i == API_LARGEST)
			d[i] = d[i] > s[i] ? d[i] : s[i];
		else
			d[i] += s[i];
	}
	return 0;
}

/* The device at key is gone: its entry leaves the live map, then the
 * record of it is published (the order family/swiotlb.bpf.c explains). */
static __always_inline void device_gone(__u64 key)
{
	struct api_walk w = { .key = key };
	__u32 zero = 0;
	__u64 seq;

	if (!bpf_map_lookup_elem(&dmamap_devs, &key))
		return; /* never counted here */
	w.sum = bpf_map_lookup_elem(&dmamap_gone_sum, &zero);
	if (!w.sum)
		return;
	for (__u32 i = 0; i < API_WORDS; i++)
		((__u64 *)w.sum)[i] = 0;
	bpf_loop(dmaw_nr_cpus, api_gone_cpu, &w, 0);
	bpf_map_delete_elem(&dmamap_devs, &key);
	seq = __sync_fetch_and_add(&dmamap_gone_seq, 1);
	if (bpf_map_update_elem(&dmamap_gone, &seq, w.sum, BPF_NOEXIST))
		__sync_fetch_and_add(&dmamap_gone_dropped, 1);
}

DEVICE_GONE_PROGS(dmamap_gone)
