// SPDX-License-Identifier: GPL-2.0
/*
 * SWIOTLB family: every bounced streaming mapping (swiotlb_map), its release,
 * and the sync copies, per device and direction. dma-direct sends every
 * mapping of a device that must bounce (SEV/TDX, swiotlb=force) through
 * swiotlb_map(), so one hook sees them all, including the ones that fail.
 *
 * Each hook comes as fentry/fexit and as a kprobe/kretprobe twin, all
 * declared off (SEC("?...")); the engine enables one of the two: fentry
 * wherever BTF has the function, the kprobes where the kernel then refuses
 * the trampoline, or with -K (family/swiotlb.c declares the hooks).
 *
 * The hot path is one program per mapping, which sees the arguments and
 * the result, so it counts successes, failures and over-limit attempts
 * alone, in a per-CPU slot found without a hash lookup (dev_stats()):
 * where the kernel traces the DMA API (6.12+), a raw tracepoint after
 * each single mapping and a fexit per scatterlist (swiotlb_dma_map_raw_tp,
 * swiotlb_map_sg_fexit: half the cost of a trampoline per mapping);
 * elsewhere swiotlb_map's fexit. The release (the slots a device holds),
 * the process table, the fentry that starts the clock for the latency
 * histogram, and the sync hooks run only with --detail (dmaw_detail),
 * which counts on swiotlb_map.
 */
#include "common.bpf.h"
#include "sgwalk.bpf.h"
#include "swiotlb.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Where a device counts, without a hash lookup per mapping: a
 * per-CPU array indexed by a hash of the struct device pointer, each slot
 * holding the device it counts for. A slot is claimed by the first device
 * that hashes there on that CPU; a second device hashing to a claimed slot
 * counts in swiotlb_devs, the per-CPU hash all used before. User space adds
 * both up by device.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DMAW_DEV_SLOTS);
	__type(key, __u32);
	__type(value, struct dmaw_swiotlb_stats);
} swiotlb_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DMAW_MAX_DEVS);
	__type(key, __u64);
	__type(value, struct dmaw_swiotlb_stats);
} swiotlb_devs SEC(".maps");

/* The device and driver names, read from the kernel when a device is
 * first counted on a CPU, not copied into every per-CPU value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_MAX_DEVS);
	__type(key, __u64);
	__type(value, struct dmaw_names);
} swiotlb_names SEC(".maps");

/* All zero: the initial value for the overflow hash (too big for the
 * stack). */
static const struct dmaw_swiotlb_stats swiotlb_zero;

struct map_start {
	__u64 ts;
	const struct device *dev;
	__u64 key; /* dev as a number (fentry_dev_key()) */
	__u64 size;
	__u32 dir;
};

/* swiotlb_map() in flight (call_key()), for the kretprobe twin, which does
 * not see the arguments. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct map_start);
} map_starts SEC(".maps");

static __always_inline void first_seen(const struct device *dev, __u64 key)
{
	struct dmaw_names n = {};

	read_names(dev, &n);
	bpf_map_update_elem(&swiotlb_names, &key, &n, BPF_NOEXIST);
}

/* The overflow: a per-CPU hash keyed by the device, as before slots. */
static __always_inline struct dmaw_swiotlb_stats *overflow_stats(const struct device *dev,
								 __u64 key)
{
	struct dmaw_swiotlb_stats *st = bpf_map_lookup_elem(&swiotlb_devs, &key);

	if (st)
		return st;
	/* Not lookup_or_try_init(): created here (not by another CPU in
	 * between), it is named. User space reads the hash's key, so the
	 * value's dev stays 0. */
	if (!bpf_map_update_elem(&swiotlb_devs, &key, &swiotlb_zero, BPF_NOEXIST))
		first_seen(dev, key);
	return bpf_map_lookup_elem(&swiotlb_devs, &key);
}

/*
 * The struct device pointer as a number, to hash. A trampoline program's
 * argument is a typed kernel pointer, and the verifier refuses arithmetic
 * on one ("math between ptr_ pointer and ... is not allowed",
 * adjust_ptr_min_max_vals()); bpf_get_func_arg() hands the same value over
 * as a scalar, and the verifier inlines it (do_misc_fixups()). A kprobe's
 * argument is a scalar already.
 */
static __always_inline __u64 fentry_dev_key(void *ctx)
{
	__u64 key = 0;

	bpf_get_func_arg(ctx, 0, &key);
	return key;
}

/* The slot a device counts in: Fibonacci hashing, whose high bits mix all
 * of the pointer's, whose low bits are the allocator's alignment. */
static __always_inline __u32 slot_of(__u64 key)
{
	return (key * 0x9e3779b97f4a7c15ULL) >> (64 - DMAW_DEV_SLOT_BITS);
}

/*
 * This CPU's counters for dev (key: the same pointer, as a number): one
 * array lookup on the hot path. A free slot is claimed with a compare-and-swap, not a store: the release and
 * sync programs are other programs and may run, on this CPU, inside the
 * map program (an interrupt that unmaps), so two devices could otherwise
 * claim one slot and share its counters.
 */
static __always_inline struct dmaw_swiotlb_stats *dev_stats(const struct device *dev, __u64 key)
{
	__u64 was;
	__u32 slot = slot_of(key);
	struct dmaw_swiotlb_stats *st = bpf_map_lookup_elem(&swiotlb_slots, &slot);

	if (!st)
		return NULL;
	if (st->dev == key)
		return st;
	if (st->dev)
		return overflow_stats(dev, key);
	was = __sync_val_compare_and_swap(&st->dev, 0, key);
	if (was && was != key)
		return overflow_stats(dev, key);
	if (!was)
		first_seen(dev, key);
	return st;
}

/* fentry -> fexit start time. swiotlb_map() neither sleeps nor migrates,
 * so a per-CPU slot does; an interrupt mapping in between on the same CPU
 * only shortens the outer call's latency sample. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} map_start_ns SEC(".maps");

static __always_inline int map_enter(const struct device *dev, __u64 size, __u32 dir)
{
	__u64 tid = call_key();
	struct map_start start = {
		.ts = dmaw_detail ? bpf_ktime_get_ns() : 0,
		.dev = dev,
		.key = (__u64)dev,
		.size = size,
		.dir = dir,
	};

	bpf_map_update_elem(&map_starts, &tid, &start, BPF_ANY);
	return 0;
}

/* The event of a failed mapping; total and used: its pool as read at the
 * failure (pool_usage()). */
static __always_inline void emit(void *ctx, __u32 kind, __u32 source, const struct map_start *m,
				 __u64 limit, __u32 total, __u32 used)
{
	struct dmaw_event *e = event_reserve(kind, source);

	if (!e)
		return;
	e->dir = m->dir;
	e->size = m->size;
	e->limit = limit;
	e->slots_needed = slots_for(m->size);
	e->slots_total = total;
	e->slots_used = used;
	read_dev_name(m->dev, e->dev, sizeof(e->dev));
	read_driver_name(m->dev, e->driver, sizeof(e->driver));
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
	bpf_ringbuf_submit(e, 0);
}

/*
 * Whether every mapping of dev bounces, so that the DMA API's tracepoint
 * (below) sees exactly the mappings swiotlb_map() would: dma-direct
 * (no dma_map_ops, no dma-iommu: dma_map_direct(), use_dma_iommu()) with a
 * pool that forces bouncing (is_swiotlb_force_bounce(): swiotlb=force, and
 * every device of a SEV or TDX guest). A device that bounces only some
 * mappings (a 32-bit DMA mask) is not counted there.
 */
static __always_inline __u64 bounce_mode(const struct device *dev)
{
	struct io_tlb_mem *mem = BPF_CORE_READ(dev, dma_io_tlb_mem);

	if (!mem || !BPF_CORE_READ(mem, force_bounce))
		return DMAW_BOUNCE_SOME;
	/* A kernel without CONFIG_DMA_OPS (the lab's own tinyconfig one) has
	 * no dma_ops member: every device is dma-direct there. */
	if (bpf_core_field_exists(dev->dma_ops) && BPF_CORE_READ(dev, dma_ops))
		return DMAW_BOUNCE_SOME;
	/* 6.12 has the bit; 7.x keeps it in dev->flags (DEV_FLAG_DMA_IOMMU),
	 * and a 7.x guest has no IOMMU doing dma-iommu with force_bounce. */
	if (bpf_core_field_exists(dev->dma_iommu) && BPF_CORE_READ_BITFIELD_PROBED(dev, dma_iommu))
		return DMAW_BOUNCE_SOME;
	return DMAW_BOUNCE_ALL;
}

/*
 * The limit of the device of st, read from the device once per CPU: a
 * driver sets min_align_mask when it probes, before it maps
 * (nvme_pci_alloc_dev()). Two kernel reads fewer per mapping. From the
 * DMA API's hooks (dma_api), its bounce mode is read with it, and 0 means
 * the device is not counted there; a counted device costs one test.
 */
static __always_inline __u64 slot_limit(struct dmaw_swiotlb_stats *st, const struct device *dev,
					bool dma_api)
{
	__u64 mode, limit;

	if (!dma_api) {
		if (!st->limit)
			st->limit = swiotlb_limit(dev);
		return st->limit;
	}
	if (st->bounce == DMAW_BOUNCE_ALL)
		return st->limit;
	if (st->bounce)
		return 0;
	mode = bounce_mode(dev);
	limit = mode == DMAW_BOUNCE_ALL ? swiotlb_limit(dev) : 0;
	/* The limit first: a limit in a slot means its device is counted
	 * (count_fast()), also to a program interrupting this one here. A
	 * device that is not keeps 0. */
	st->limit = limit;
	barrier();
	st->bounce = mode;
	return limit;
}

/*
 * Nearly every mapping: a successful one, within the limit, of a device
 * counted in st (its limit is there: slot_limit()). It costs what
 * count_map() costs for it in the fewest steps: no event, no
 * over-limit, and a bucket from 32 bits, since size is at most the limit.
 */
static __always_inline void count_fast(struct dmaw_swiotlb_stats *st, __u64 size, __u32 dir)
{
	__u32 d = dir_index(dir);

	st->maps[d]++;
	st->bytes[d] += size;
	st->size_hist[log2_u32(size) & (DMAW_HIST_SLOTS - 1)]++;
	if (size > st->max_size)
		st->max_size = size;
}

/* One bounced mapping attempt of size bytes in st: its counters, and the
 * event it calls for (0: none). */
static __always_inline __u32 count_map(struct dmaw_swiotlb_stats *st, __u64 size, __u32 dir,
				       __u64 limit, bool failed)
{
	__u32 ev = 0;

	if (size > st->max_size)
		st->max_size = size;
	st->size_hist[log2_slot(size)]++;
	if (size > limit) {
		/* Over what the kernel promises the device
		 * (dma_max_mapping_size()). Without a min_align_mask it can
		 * never succeed: no run of free slots is longer than a segment
		 * (swiotlb_find_slots), the kernel only says "buffer is full",
		 * and a driver that retries it does so forever. With one
		 * (NVMe), the limit is the worst case over where the buffer
		 * starts: a page-aligned one of up to 128 slots still fits. */
		st->over_limit++;
		if (event_sampled(st->over_limit))
			ev = DMAW_EV_OVER_LIMIT;
	}
	if (failed) {
		st->failures++;
		/* Failures within the limit: the pool was full or fragmented. */
		if (size <= limit && event_sampled(st->failures - st->over_limit))
			ev = DMAW_EV_MAP_FAILED;
	} else {
		dir = dir_index(dir);
		st->maps[dir]++;
		st->bytes[dir] += size;
	}
	return ev;
}

static __always_inline void account_map(void *ctx, const struct map_start *m, dma_addr_t ret,
					bool dma_api)
{
	__u64 now = dmaw_detail ? bpf_ktime_get_ns() : 0, limit;
	struct dmaw_swiotlb_stats *st;
	bool failed = ret == DMA_MAPPING_ERROR;
	__u32 ev, total = 0, used = 0;

	st = dev_stats(m->dev, m->key);
	if (!st)
		return;
	/* size - 1: a mapping of 0 bytes takes the long way. */
	if (!dmaw_detail && !failed && m->size - 1 < st->limit) {
		count_fast(st, m->size, m->dir);
		return;
	}
	limit = slot_limit(st, m->dev, dma_api);
	if (!limit)
		return;
	if (dmaw_detail && m->ts) {
		st->latency_ns += now - m->ts;
		st->latency_hist[log2_slot(now - m->ts)]++;
	}
	ev = count_map(st, m->size, m->dir, limit, failed);
	/* Every failure reads the pool, events or not: its peak (pool_peak)
	 * is the high-water where the kernel keeps none. */
	if (failed || ev)
		pool_usage(m->dev, &total, &used);
	if (ev)
		emit(ctx, ev, dma_api ? DMAW_SRC_DMA_MAP : DMAW_SRC_SWIOTLB_MAP, m, limit, total,
		     used);
	if (!failed && dmaw_detail)
		proc_account(m->size);
}

/* include/linux/dma-mapping.h (7.x; unused bits before): mappings that
 * never bounce, whatever the device (dma_direct_map_phys(): MMIO and
 * coherent-only ones fail, memory already shared with the host is mapped
 * as it is). */
#define DMA_ATTR_MMIO (1UL << 10)
#define DMA_ATTR_REQUIRE_COHERENT (1UL << 12)
#define DMA_ATTR_CC_SHARED (1UL << 13)
#define DMAW_ATTRS_NO_BOUNCE (DMA_ATTR_MMIO | DMA_ATTR_REQUIRE_COHERENT | DMA_ATTR_CC_SHARED)

/*
 * Kernels that trace the DMA API (6.12: dma:dma_map_page; 6.17 renamed it
 * dma:dma_map_phys, same arguments) fire one tracepoint per single mapping
 * with the device, size, direction and result: everything swiotlb_map()'s
 * fexit sees, for the least a program can cost there (a raw tracepoint
 * costs about half a trampoline with fexit: make bench). raw_tp, not tp_btf:
 * its arguments are plain numbers, so the device pointer hashes without
 * bpf_get_func_arg(). The lists (dma_map_sg) are swiotlb_map_sg's below.
 */
SEC("?raw_tp/dma_map_page")
int swiotlb_dma_map_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	/* TP_PROTO(dev, phys_addr, dma_addr, size, dir, attrs) */
	struct map_start m = {
		.dev = (const struct device *)ctx->args[0],
		.key = ctx->args[0],
		.size = ctx->args[3],
		.dir = ctx->args[4],
	};

	if (!(ctx->args[5] & DMAW_ATTRS_NO_BOUNCE))
		account_map(ctx, &m, ctx->args[2], true);
	return 0;
}

/*
 * A list: dma_direct_map_sg() bounces its entries one by one and, at the
 * first that fails, marks it DMA_MAPPING_ERROR, unmaps those before it
 * and returns -EIO. Only the successes reach dma:dma_map_sg, and 6.12's
 * dma:dma_map_sg_err fires only for unexpected errors (__dma_map_sg_attrs),
 * so the list is counted at __dma_map_sg_attrs's return: a program per
 * list, not per entry. The walk sums the entries mapped before the
 * failed one; that one counts as a failure.
 */
#define MAX_SG_WALK 4096

SEC("?fexit/__dma_map_sg_attrs")
int BPF_PROG(swiotlb_map_sg_fexit, struct device *dev, struct scatterlist *sg, int nents,
	     enum dma_data_direction dir, unsigned long attrs, int ret)
{
	struct map_start m = { .dev = dev, .key = fentry_dev_key(ctx), .dir = dir };
	struct dmaw_swiotlb_stats *st;
	struct sg_walk w = {};
	__u64 limit;
	__u32 d, ev, total = 0, used = 0;

	/* -EIO: an entry failed to bounce; the other errors (a peer-to-peer
	 * entry, -EINVAL) are not the pool's, and not counted. */
	if (nents <= 0 || (attrs & DMAW_ATTRS_NO_BOUNCE) || (ret <= 0 && ret != -EIO))
		return 0;
	st = dev_stats(dev, m.key);
	if (!st)
		return 0;
	limit = slot_limit(st, dev, true);
	if (!limit)
		return 0;
	if (sg_walk(NULL, 0, sg, nents, MAX_SG_WALK, limit, ret < 0, &w))
		return 0;
	/* Each entry was a mapping of its own, and one within the limit
	 * (the one over it fails). */
	d = dir_index(dir);
	st->maps[d] += w.entries;
	st->bytes[d] += w.bytes;
	if (w.largest > st->max_size)
		st->max_size = w.largest;
	for (int i = 0; i < DMAW_HIST_SLOTS; i++)
		st->size_hist[i] += w.hist[i];
	if (!w.failed)
		return 0;
	m.size = w.failed_len;
	ev = count_map(st, m.size, dir, limit, true);
	pool_usage(dev, &total, &used);
	if (ev)
		emit(ctx, ev, DMAW_SRC_DMA_MAP_SG, &m, limit, total, used);
	return 0;
}

SEC("?fentry/swiotlb_map")
int BPF_PROG(swiotlb_map_fentry)
{
	__u32 zero = 0;
	__u64 *start = bpf_map_lookup_elem(&map_start_ns, &zero);

	if (start)
		*start = bpf_ktime_get_ns();
	return 0;
}

SEC("?fexit/swiotlb_map")
int BPF_PROG(swiotlb_map_fexit, struct device *dev, phys_addr_t paddr, size_t size,
	     enum dma_data_direction dir, unsigned long attrs, dma_addr_t ret)
{
	struct map_start m = {
		.dev = dev,
		.key = fentry_dev_key(ctx),
		.size = size,
		.dir = dir,
	};

	if (dmaw_detail) {
		__u32 zero = 0;
		__u64 *start = bpf_map_lookup_elem(&map_start_ns, &zero);

		m.ts = start ? *start : 0;
	}
	account_map(ctx, &m, ret, false);
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(swiotlb_map_kprobe, struct device *dev, phys_addr_t paddr, size_t size,
	       enum dma_data_direction dir)
{
	return map_enter(dev, size, dir);
}

SEC("?kretprobe")
int BPF_KRETPROBE(swiotlb_map_kretprobe, dma_addr_t ret)
{
	__u64 tid = call_key();
	struct map_start *m = bpf_map_lookup_elem(&map_starts, &tid);

	if (m) {
		account_map(ctx, m, ret, false);
		bpf_map_delete_elem(&map_starts, &tid);
	}
	return 0;
}

static __always_inline int count_unmap(const struct device *dev, __u64 key, __u64 size)
{
	struct dmaw_swiotlb_stats *st = dev_stats(dev, key);

	if (st) {
		st->unmaps++;
		st->unmap_bytes += size;
	}
	return 0;
}

static __always_inline int count_sync(const struct device *dev, __u64 key, __u64 size, __u32 dir)
{
	struct dmaw_swiotlb_stats *st = dev_stats(dev, key);

	if (st)
		st->sync_bytes[dir_index(dir)] += size;
	return 0;
}

/*
 * The release and sync entry points were renamed when io_tlb_pool came in
 * (6.6: swiotlb_tbl_unmap_single became an inline wrapper around
 * __swiotlb_tbl_unmap_single, likewise the syncs); the leading arguments
 * are the same, so one program serves both names: family/swiotlb.c declares
 * the names and the engine points the program at the one this kernel has
 * (bpf_program__set_attach_target; kprobes attach by name).
 */
SEC("?fentry/swiotlb_tbl_unmap_single")
int BPF_PROG(swiotlb_unmap_fentry, struct device *dev, phys_addr_t tlb_addr, size_t size)
{
	return count_unmap(dev, fentry_dev_key(ctx), size);
}

SEC("?kprobe")
int BPF_KPROBE(swiotlb_unmap_kprobe, struct device *dev, phys_addr_t tlb_addr, size_t size)
{
	return count_unmap(dev, (__u64)dev, size);
}

SEC("?fentry/swiotlb_sync_single_for_device")
int BPF_PROG(swiotlb_sync_dev_fentry, struct device *dev, phys_addr_t tlb_addr, size_t size,
	     enum dma_data_direction dir)
{
	return count_sync(dev, fentry_dev_key(ctx), size, dir);
}

SEC("?kprobe")
int BPF_KPROBE(swiotlb_sync_dev_kprobe, struct device *dev, phys_addr_t tlb_addr, size_t size,
	       enum dma_data_direction dir)
{
	return count_sync(dev, (__u64)dev, size, dir);
}

SEC("?fentry/swiotlb_sync_single_for_cpu")
int BPF_PROG(swiotlb_sync_cpu_fentry, struct device *dev, phys_addr_t tlb_addr, size_t size,
	     enum dma_data_direction dir)
{
	return count_sync(dev, fentry_dev_key(ctx), size, dir);
}

SEC("?kprobe")
int BPF_KPROBE(swiotlb_sync_cpu_kprobe, struct device *dev, phys_addr_t tlb_addr, size_t size,
	       enum dma_data_direction dir)
{
	return count_sync(dev, (__u64)dev, size, dir);
}

/* ---- a device that is gone ------------------------------------------------ */

/*
 * Devices whose struct device was freed (device_release(), see
 * kobj_device_key()): each one's counters summed over the CPUs, its names
 * in the union, keyed by the order of release. User space takes each out
 * (family/swiotlb.c) and keeps the departed device's row apart from any
 * later device at the same address or under the same name.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_MAX_GONE);
	__type(key, __u64);
	__type(value, struct dmaw_swiotlb_stats);
} swiotlb_gone SEC(".maps");

/* Where the sum is made, to be published whole. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dmaw_swiotlb_stats);
} swiotlb_gone_sum SEC(".maps");

__u64 swiotlb_gone_seq;     /* records published */
__u64 swiotlb_gone_dropped; /* records swiotlb_gone had no room for */

#define STATS_WORDS (sizeof(struct dmaw_swiotlb_stats) / 8)
#define STATS_FIRST (offsetof(struct dmaw_swiotlb_stats, maps) / 8)
#define STATS_MAX_SIZE (offsetof(struct dmaw_swiotlb_stats, max_size) / 8)
#define STATS_LIMIT (offsetof(struct dmaw_swiotlb_stats, limit) / 8)
#define STATS_BOUNCE (offsetof(struct dmaw_swiotlb_stats, bounce) / 8)

/* One CPU's counters into the sum, as user space adds them (add_counts()
 * in family/swiotlb.c): the largest mapping, the limit and the bounce
 * mode are not sums. */
static __always_inline void stats_add(struct dmaw_swiotlb_stats *sum,
				      const struct dmaw_swiotlb_stats *v)
{
	const __u64 *s = (const __u64 *)v;
	__u64 *d = (__u64 *)sum;

	for (__u32 i = STATS_FIRST; i < STATS_WORDS; i++) {
		if (i == STATS_MAX_SIZE)
			d[i] = d[i] > s[i] ? d[i] : s[i];
		else if (i == STATS_LIMIT || i == STATS_BOUNCE)
			d[i] = s[i] ? s[i] : d[i];
		else
			d[i] += s[i];
	}
}

struct gone_walk {
	__u64 key;
	__u32 slot;
	struct dmaw_swiotlb_stats *sum;
};

/*
 * CPU cpu's share: its copy of the device's slot, if the device holds it
 * there, and its copy of the device's overflow entry. The slot is freed for
 * the next device: marked (key | 1: no device's address), cleared, then
 * released, so a program on that CPU never claims it half cleared. Nothing
 * counts for a released device any more, so nothing else writes there.
 */
static long gone_cpu(__u32 cpu, void *ctx)
{
	struct gone_walk *w = ctx;
	struct dmaw_swiotlb_stats *st = bpf_map_lookup_percpu_elem(&swiotlb_slots, &w->slot, cpu);

	if (st && st->dev == w->key) {
		stats_add(w->sum, st);
		if (__sync_val_compare_and_swap(&st->dev, w->key, w->key | 1) == w->key) {
			for (__u32 i = STATS_FIRST; i < STATS_WORDS; i++)
				((__u64 *)st)[i] = 0;
			__sync_val_compare_and_swap(&st->dev, w->key | 1, 0);
		}
	}
	st = bpf_map_lookup_percpu_elem(&swiotlb_devs, &w->key, cpu);
	if (st)
		stats_add(w->sum, st);
	return 0;
}

/*
 * The device at key is gone: its counters leave the live maps before the
 * record that holds them is published, so user space, which reads the
 * records first and the live maps after, never counts them twice (at worst
 * it misses them for one read).
 */
static __always_inline void device_gone(__u64 key)
{
	struct dmaw_names *names = bpf_map_lookup_elem(&swiotlb_names, &key);
	struct gone_walk w = { .key = key, .slot = slot_of(key) };
	__u32 zero = 0;
	__u64 seq;

	if (!names)
		return; /* never counted here */
	w.sum = bpf_map_lookup_elem(&swiotlb_gone_sum, &zero);
	if (!w.sum)
		return;
	for (__u32 i = STATS_FIRST; i < STATS_WORDS; i++)
		((__u64 *)w.sum)[i] = 0;
	w.sum->names = *names;
	bpf_loop(dmaw_nr_cpus, gone_cpu, &w, 0);
	bpf_map_delete_elem(&swiotlb_devs, &key);
	seq = __sync_fetch_and_add(&swiotlb_gone_seq, 1);
	if (bpf_map_update_elem(&swiotlb_gone, &seq, w.sum, BPF_NOEXIST))
		__sync_fetch_and_add(&swiotlb_gone_dropped, 1);
	/* Last: the next device at this address is named afresh. */
	bpf_map_delete_elem(&swiotlb_names, &key);
}

DEVICE_GONE_PROGS(swiotlb_gone)
