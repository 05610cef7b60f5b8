// SPDX-License-Identifier: GPL-2.0
/*
 * Virtqueue family: every virtqueue_add_{sgs,outbuf,inbuf}() with its
 * result. Per virtqueue it counts submissions, scatterlist entries, bytes and
 * failures by errno; a failed add whose request needs more SWIOTLB slots than
 * the DMA device's whole pool is a request that can never be mapped (virtio-
 * blk requeues it forever): it is counted and reported as DMAW_EV_NEVER_FIT.
 *
 * The scatterlists are walked at entry, not at return: virtio-blk's
 * virtblk_add_req() tail-calls virtqueue_add_sgs(), so its sgs[] array and
 * the header/status entries live in a stack frame that is gone (and
 * overwritten) by the time fexit runs. Entry stashes the walk per call (call_key()),
 * return accounts it with the result. Each function has an fentry/fexit
 * pair and a kprobe/kretprobe twin for kernels that cannot build the
 * trampoline; family/virtqueue.c enables one pair per function.
 */
#include "common.bpf.h"
#include "sgwalk.bpf.h"
#include "virtqueue.h"

char LICENSE[] SEC("license") = "GPL";

/* Walk bound. A 1 MiB virtio-blk request is at most 256 data entries plus
 * header and status; virtio-net adds at most MAX_SKB_FRAGS + 2. */
#define VQ_MAX_ENTRIES 300

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DMAW_MAX_VQS);
	__type(key, struct dmaw_vq_key);
	__type(value, struct dmaw_vq_stats);
} vq_stats SEC(".maps");

/* Failures so far of one request, keyed by its `data` token: the driver
 * passes the same token each time it retries the same request. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} vq_retries SEC(".maps");

/* What entry saw, per call in flight (call_key()), until the return. */
struct vq_call {
	__u64 vq;
	__u64 data;
	__u64 bytes;
	__u32 slots;
	__u32 entries;
	__u32 dir;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct vq_call);
} vq_calls SEC(".maps");

/* Entry: sgs (n_out + n_in list heads) for virtqueue_add_sgs, or one list
 * sg of num entries for add_outbuf/inbuf. */
static __always_inline int vq_enter(void *vq, struct scatterlist **sgs, struct scatterlist *sg,
				    __u32 n_out, __u32 n_in, __u32 num, void *data)
{
	__u64 id = call_key();
	struct vq_call c = {};
	struct sg_walk w;

	/* No limit here: virtio entries are checked by swiotlb_map itself. */
	if (sg_walk(sgs, n_out + n_in, sg, num, VQ_MAX_ENTRIES, ~0ULL, false, &w))
		return 0;
	c.bytes = w.bytes;
	c.slots = w.slots;
	c.entries = w.entries;
	c.vq = (__u64)vq;
	c.data = (__u64)data;
	if (n_out && n_in)
		c.dir = DMAW_DIR_BIDI;
	else if (n_in)
		c.dir = DMAW_DIR_FROM_DEVICE;
	else
		c.dir = DMAW_DIR_TO_DEVICE;
	bpf_map_update_elem(&vq_calls, &id, &c, BPF_ANY);
	return 0;
}

/* The device the DMA API maps for: vring_dma_dev(). 6.12 keeps it in the
 * vring_virtqueue around vq (vq is its first member); 6.1 derives it from
 * the virtio device's parent (the PCI function for virtio-pci). */
static __always_inline struct device *vq_dma_dev(struct virtqueue *vq, struct virtio_device *vdev)
{
	struct vring_virtqueue *vvq = (void *)vq;
	struct device *dev = NULL;

	if (bpf_core_field_exists(vvq->dma_dev))
		dev = BPF_CORE_READ(vvq, dma_dev);
	if (!dev)
		dev = BPF_CORE_READ(vdev, dev.parent);
	return dev;
}

static __always_inline __u32 err_index(int ret)
{
	switch (ret) {
	case -ENOSPC: return DMAW_VQ_ENOSPC;
	case -ENOMEM: return DMAW_VQ_ENOMEM;
	case -EIO: return DMAW_VQ_EIO;
	default: return DMAW_VQ_EOTHER;
	}
}

static __always_inline void report(void *ctx, __u32 kind, struct virtio_device *vdev,
				   struct device *dma, const struct dmaw_vq_key *key,
				   const struct vq_call *c, int ret, __u32 retries, __u32 nslabs,
				   __u32 used)
{
	struct dmaw_event *e = event_reserve(kind, DMAW_SRC_VIRTQUEUE);

	if (!e)
		return;
	e->dir = c->dir;
	e->err = ret;
	e->retries = retries;
	e->size = c->bytes;
	e->slots_needed = c->slots;
	e->slots_total = nslabs;
	e->slots_used = used;
	if (dma) {
		e->limit = swiotlb_limit(dma);
		read_dev_name(dma, e->dev, sizeof(e->dev));
	}
	read_driver_name(&vdev->dev, e->driver, sizeof(e->driver));
	__builtin_memcpy(e->vq, key->vq, sizeof(e->vq));
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
	bpf_ringbuf_submit(e, 0);
}

/* Return: account what entry saw with the result. */
static __always_inline int vq_exit(void *ctx, int ret)
{
	__u64 id = call_key();
	struct dmaw_vq_key key = {};
	struct dmaw_vq_stats *st;
	struct virtio_device *vdev;
	struct device *dma = NULL;
	struct virtqueue *vq;
	struct vq_call c, *cp;
	__u32 *seen, retries = 0, nslabs = 0, used = 0;
	const char *name;
	bool never_fit, grows = false;

	cp = bpf_map_lookup_elem(&vq_calls, &id);
	if (!cp)
		return 0;
	c = *cp;
	bpf_map_delete_elem(&vq_calls, &id);

	vq = (struct virtqueue *)c.vq;
	vdev = BPF_CORE_READ(vq, vdev);
	if (!vdev)
		return 0;
	read_dev_name(&vdev->dev, key.dev, sizeof(key.dev));
	name = BPF_CORE_READ(vq, name);
	if (name)
		bpf_probe_read_kernel_str(key.vq, sizeof(key.vq), name);

	st = bpf_map_lookup_elem(&vq_stats, &key);
	if (!st) {
		/* Not lookup_or_try_init(): the first value carries the names. */
		struct dmaw_vq_stats first = {};

		dma = vq_dma_dev(vq, vdev);
		if (dma)
			read_dev_name(dma, first.names.dev, sizeof(first.names.dev));
		read_driver_name(&vdev->dev, first.names.driver, sizeof(first.names.driver));
		bpf_map_update_elem(&vq_stats, &key, &first, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&vq_stats, &key);
		if (!st)
			return 0;
	}

	if (ret == 0) {
		st->adds++;
		st->sg_entries += c.entries;
		st->bytes += c.bytes;
		/* Lookup first: a delete takes the bucket lock even on a miss. */
		if (bpf_map_lookup_elem(&vq_retries, &c.data))
			bpf_map_delete_elem(&vq_retries, &c.data);
		return 0;
	}

	st->failures[err_index(ret)]++;
	if (!dma)
		dma = vq_dma_dev(vq, vdev);
	if (dma)
		grows = pool_usage(dma, &nslabs, &used);
	/* More slots than the pool has, where it cannot grow: no retry fits. */
	never_fit = (ret == -ENOMEM || ret == -EIO) && nslabs && c.slots > nslabs && !grows;

	seen = bpf_map_lookup_elem(&vq_retries, &c.data);
	if (seen) {
		retries = *seen;
		__sync_fetch_and_add(seen, 1);
	} else {
		__u32 one = 1;

		bpf_map_update_elem(&vq_retries, &c.data, &one, BPF_ANY);
	}
	if (never_fit) {
		st->never_fit++;
		if (!retries)
			st->never_fit_reqs++;
	}
	/* virtio-blk retries a request thousands of times a second: this is
	 * failure number retries + 1 of the request. */
	if (event_sampled(retries + 1))
		report(ctx, never_fit ? DMAW_EV_NEVER_FIT : DMAW_EV_VQ_FAILED, vdev, dma, &key, &c,
		       ret, retries, nslabs, used);
	return 0;
}

/* ---- fentry/fexit ---------------------------------------------------------
 * Raw ctx rather than BPF_PROG for add_sgs: 6.1's verifier refuses a ctx
 * load of an argument that points to a pointer ("arg1 type PTR is not a
 * struct"), so sgs comes through bpf_get_func_arg(). */

SEC("?fentry/virtqueue_add_sgs")
int vq_add_sgs_fentry(unsigned long long *ctx)
{
	/* (vq, sgs, out_sgs, in_sgs, data, gfp) */
	__u64 sgs = 0;

	bpf_get_func_arg(ctx, 1, &sgs);
	return vq_enter((void *)ctx[0], (struct scatterlist **)sgs, NULL, (__u32)ctx[2],
			(__u32)ctx[3], 0, (void *)ctx[4]);
}

SEC("?fexit/virtqueue_add_sgs")
int vq_add_sgs_fexit(unsigned long long *ctx)
{
	return vq_exit(ctx, (int)ctx[6]);
}

SEC("?fentry/virtqueue_add_outbuf")
int BPF_PROG(vq_add_outbuf_fentry, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	     void *data)
{
	return vq_enter(vq, NULL, sg, 1, 0, num, data);
}

SEC("?fexit/virtqueue_add_outbuf")
int BPF_PROG(vq_add_outbuf_fexit, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	     void *data, gfp_t gfp, int ret)
{
	return vq_exit(ctx, ret);
}

SEC("?fentry/virtqueue_add_inbuf")
int BPF_PROG(vq_add_inbuf_fentry, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	     void *data)
{
	return vq_enter(vq, NULL, sg, 0, 1, num, data);
}

SEC("?fexit/virtqueue_add_inbuf")
int BPF_PROG(vq_add_inbuf_fexit, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	     void *data, gfp_t gfp, int ret)
{
	return vq_exit(ctx, ret);
}

/* ---- kprobe/kretprobe twins ------------------------------------------------ */

SEC("?kprobe")
int BPF_KPROBE(vq_add_sgs_kprobe, struct virtqueue *vq, struct scatterlist **sgs,
	       unsigned int out_sgs, unsigned int in_sgs, void *data)
{
	return vq_enter(vq, sgs, NULL, out_sgs, in_sgs, 0, data);
}

SEC("?kretprobe")
int BPF_KRETPROBE(vq_add_sgs_kretprobe, int ret)
{
	return vq_exit(ctx, ret);
}

SEC("?kprobe")
int BPF_KPROBE(vq_add_outbuf_kprobe, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	       void *data)
{
	return vq_enter(vq, NULL, sg, 1, 0, num, data);
}

SEC("?kretprobe")
int BPF_KRETPROBE(vq_add_outbuf_kretprobe, int ret)
{
	return vq_exit(ctx, ret);
}

SEC("?kprobe")
int BPF_KPROBE(vq_add_inbuf_kprobe, struct virtqueue *vq, struct scatterlist *sg, unsigned int num,
	       void *data)
{
	return vq_enter(vq, NULL, sg, 0, 1, num, data);
}

SEC("?kretprobe")
int BPF_KRETPROBE(vq_add_inbuf_kretprobe, int ret)
{
	return vq_exit(ctx, ret);
}

/* ---- a virtqueue deleted ------------------------------------------------- */

/*
 * vring_del_virtqueue(): the virtqueue's counters leave the live map for a
 * record (keyed by the order of deletion) that user space takes out, so a
 * later device's queue of the same name (virtio0's req.0 again, after a
 * re-plug) starts from zero. As device_gone() in family/swiotlb.bpf.c: the
 * live entry goes before the record is published.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_MAX_GONE);
	__type(key, __u64);
	__type(value, struct dmaw_vq_gone);
} vq_gone SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dmaw_vq_gone);
} vq_gone_sum SEC(".maps");

__u64 vq_gone_seq;
__u64 vq_gone_dropped;

#define VQ_WORDS (sizeof(struct dmaw_vq_stats) / 8)
#define VQ_FIRST (offsetof(struct dmaw_vq_stats, adds) / 8)

struct vq_walk {
	struct dmaw_vq_gone *sum;
};

static long vq_gone_cpu(__u32 cpu, void *ctx)
{
	struct dmaw_vq_gone *sum = ((struct vq_walk *)ctx)->sum;
	const struct dmaw_vq_stats *v = bpf_map_lookup_percpu_elem(&vq_stats, &sum->key, cpu);

	if (!v)
		return 1;
	if (!sum->st.names.dev[0] && v->names.dev[0])
		sum->st.names = v->names;
	for (__u32 i = VQ_FIRST; i < VQ_WORDS; i++)
		((__u64 *)&sum->st)[i] += ((const __u64 *)v)[i];
	return 0;
}

static __always_inline void vq_deleted(struct virtqueue *vq)
{
	struct virtio_device *vdev = BPF_CORE_READ(vq, vdev);
	struct dmaw_vq_gone *sum;
	struct vq_walk w;
	const char *name;
	__u32 zero = 0;
	__u64 seq;

	sum = bpf_map_lookup_elem(&vq_gone_sum, &zero);
	if (!sum || !vdev)
		return;
	__builtin_memset(&sum->key, 0, sizeof(sum->key));
	read_dev_name(&vdev->dev, sum->key.dev, sizeof(sum->key.dev));
	name = BPF_CORE_READ(vq, name);
	if (name)
		bpf_probe_read_kernel_str(sum->key.vq, sizeof(sum->key.vq), name);
	if (!bpf_map_lookup_elem(&vq_stats, &sum->key))
		return; /* never counted */
	for (__u32 i = 0; i < VQ_WORDS; i++)
		((__u64 *)&sum->st)[i] = 0;
	w.sum = sum; /* bpf_loop's context lives on the stack */
	bpf_loop(dmaw_nr_cpus, vq_gone_cpu, &w, 0);
	bpf_map_delete_elem(&vq_stats, &sum->key);
	seq = __sync_fetch_and_add(&vq_gone_seq, 1);
	if (bpf_map_update_elem(&vq_gone, &seq, sum, BPF_NOEXIST))
		__sync_fetch_and_add(&vq_gone_dropped, 1);
}

SEC("?fentry/vring_del_virtqueue")
int vq_del_fentry(unsigned long long *ctx)
{
	vq_deleted((struct virtqueue *)ctx[0]);
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(vq_del_kprobe, struct virtqueue *vq)
{
	vq_deleted(vq);
	return 0;
}
