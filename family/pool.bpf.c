// SPDX-License-Identifier: GPL-2.0
/*
 * Pool family: occupancy and fragmentation of the default SWIOTLB pool,
 * read straight from the kernel's struct io_tlb_mem (kernel/dma/swiotlb.c).
 *
 * pool_scan is a raw_tp program that is never attached: user space runs it
 * on demand with BPF_PROG_TEST_RUN, and it leaves its result in the global
 * `stats`. It walks io_tlb_slot[] in bpf_loop(), one slot per iteration,
 * copying each 128-slot segment with one bpf_probe_read_kernel().
 *
 * Two layouts are handled by CO-RE field tests, never by version:
 *  - io_tlb_mem holds the pool itself (slots, areas, nareas), has no
 *    total_used, and its `used` is never written; io_tlb_slot.list is an
 *    unsigned int (Linux 6.1);
 *  - io_tlb_mem embeds a struct io_tlb_pool defpool and keeps atomic
 *    total_used / used_hiwater (CONFIG_DEBUG_FS); list is an unsigned short
 *    (Linux 6.12, the layout vmlinux.h was generated from). On 7.x the
 *    counters are kept only with swiotlb=...,track_hiwater
 *    (pool_counters_live() in common.bpf.h); else the areas are summed.
 *
 * With CONFIG_SWIOTLB_DYNAMIC (io_tlb_mem.pools exists) the allocator is
 * a list of pools: the boot pool (defpool) and those its worker added
 * (swiotlb_dyn_alloc()), each scanned; io_tlb_mem.nslabs is their sum. A
 * mapping that finds no slot in any of them gets a transient pool of its
 * own, on the device's list (swiotlb_find_slots()), counted apart in
 * io_tlb_mem.transient_nslabs and freed at its unmap. The allocator's
 * calls that are not inlined are counted by hooks (pool_events).
 *
 * Where the kernel keeps no live high-water mark, the high-water is the
 * most slots seen in use (pool_peak, family/common.bpf.h): at each scan,
 * at every failed mapping (the swiotlb family), and with --detail after
 * every swiotlb_map() (pool_map_exit, fexit or its kretprobe twin).
 */
#include "common.bpf.h"
#include "pool.h"

char LICENSE[] SEC("license") = "GPL";

/* io_tlb_default_mem has no BTF VAR on any lab kernel: its address comes
 * from kallsyms (dmaw_io_tlb_default_mem_addr, family/common.bpf.h), 0 when it
 * is missing, which pool_scan reports (user space checks before loading). */

/* Largest struct io_tlb_slot the segment buffer accepts (24 on both). */
#define SLOT_MAX 32
#define SEG_BUF_SIZE (DMAW_IO_TLB_SEGSIZE * SLOT_MAX)

/* One segment of io_tlb_slot[], copied per 128 slots. Only pool_scan uses
 * it, and user space runs pool_scan from one thread. */
static __u8 seg_buf[SEG_BUF_SIZE];

/* Written by pool_scan, read by user space after each test run. */
struct dmaw_pool_stats stats;

static __always_inline bool pools_dynamic(void)
{
	return bpf_core_field_exists(struct io_tlb_mem___dyn, pools);
}

struct scan_ctx {
	const void *slots;
	__u64 nslabs;
	__u64 used;
	__u32 max_run;
	__u32 max_run_page;
	__u32 free_segs;
	int err;
};

/* Slot i. list[i] is 0 for a used slot, else the free slots from i to the
 * next used slot or the end of i's 128-slot segment, so a segment is wholly
 * free exactly when list[] of its first slot is 128.
 *
 * A flat loop over the slots (not one per segment with an inner loop) keeps
 * the verifier's work to one pass over this callback. Keep every decision
 * here on values read from the kernel, never on scan_ctx state: before
 * Linux 6.7 the verifier checks a bpf_loop() callback once, with scan_ctx
 * as the caller initialised it, and drops branches that state cannot take
 * (6.1 silently lost a per-segment counter that way). */
static long scan_slot(__u32 i, struct scan_ctx *c)
{
	const __u32 stride = bpf_core_type_size(struct io_tlb_slot);
	const __u32 list_off = bpf_core_field_offset(struct io_tlb_slot, list);
	const __u32 list_size = bpf_core_field_size(struct io_tlb_slot, list);
	__u32 k = i % DMAW_IO_TLB_SEGSIZE, off, v;

	if (!k) {
		__u64 n = c->nslabs - i;
		__u64 bytes;

		if (n > DMAW_IO_TLB_SEGSIZE)
			n = DMAW_IO_TLB_SEGSIZE;
		bytes = n * stride;
		if (bytes > SEG_BUF_SIZE) {
			c->err = -E2BIG;
			return 1;
		}
		if (bpf_probe_read_kernel(seg_buf, bytes, c->slots + (__u64)i * stride)) {
			c->err = -EFAULT;
			return 1;
		}
	}
	off = k * stride + list_off;
	if (off > SEG_BUF_SIZE - 4) {
		c->err = -E2BIG;
		return 1;
	}
	if (list_size == 2)
		v = *(__u16 *)&seg_buf[off];
	else
		v = *(__u32 *)&seg_buf[off];
	if (!v) {
		c->used++;
		return 0;
	}
	if (!k && v >= DMAW_IO_TLB_SEGSIZE)
		c->free_segs++;
	if (v > c->max_run)
		c->max_run = v;
	/* The pool is page aligned: even slots start a page, and a mapping
	 * of a page or more starts only there. */
	if (!(i & 1) && v > c->max_run_page)
		c->max_run_page = v;
	return 0;
}

/* Scans one pool's slots (slots[nslabs]) into c and adds its areas' used
 * counts (areas[nareas]) to *area_used. 0, or a negative errno. */
static __always_inline int scan_slots(const void *slots, __u64 nslabs, const void *areas,
				      __u32 nareas, struct scan_ctx *c, __u64 *area_used)
{
	struct area_sum as = { .areas = areas };
	long ret;

	if (!slots || !nslabs || !areas)
		return -ENOENT;
	c->slots = slots;
	c->nslabs = nslabs;
	/* bpf_loop() takes at most 8M iterations (a 16 GiB pool). */
	ret = bpf_loop(nslabs, scan_slot, c, 0);
	if (ret < 0 && !c->err)
		c->err = ret;
	bpf_loop(nareas, area_sum_one, &as, 0);
	*area_used += as.sum;
	return c->err ? c->err : as.err;
}

/* One struct io_tlb_pool (6.6+), by scan_slots(). */
static __always_inline int scan_pool(const void *pool, struct scan_ctx *c, __u64 *area_used)
{
	return scan_slots((const void *)pool_member(pool, slots), pool_member(pool, nslabs),
			  (const void *)pool_member(pool, areas), pool_member(pool, nareas), c,
			  area_used);
}

/* Every pool on io_tlb_mem.pools (SWIOTLB_DYNAMIC), up to
 * DMAW_POOL_SCAN_MAX scanned; the rest only counted. */
static __always_inline int scan_pools(const struct io_tlb_mem *mem, struct scan_ctx *c,
				      struct dmaw_pool_stats *st, __u64 *area_used)
{
	const struct io_tlb_mem___dyn *m = (const void *)mem;
	const void *head =
		(const void *)mem + bpf_core_field_offset(struct io_tlb_mem___dyn, pools);
	const __u32 node = POOL_MEMBER_OFF(node);
	const struct list_head *pos = BPF_CORE_READ(m, pools.next);
	int err;

	for (int i = 0; i < 1024; i++) {
		if (!pos || (const void *)pos == head)
			return 0;
		if (i < DMAW_POOL_SCAN_MAX) {
			err = scan_pool((const void *)pos - node, c, area_used);
			if (err)
				return err;
			st->pools++;
		} else {
			st->pools_unscanned++;
		}
		pos = BPF_CORE_READ(pos, next);
	}
	return -E2BIG;
}

SEC("?raw_tp")
int pool_scan(void *ctx)
{
	const struct io_tlb_mem *mem = (const void *)dmaw_io_tlb_default_mem_addr;
	struct dmaw_pool_stats st = {};
	struct scan_ctx sc = {};
	__u64 t0 = bpf_ktime_get_ns(), used = 0, area_used = 0;
	bool live = pool_counters_live();
	int err;

	st.scans = stats.scans + 1;
	if (!mem) {
		st.scan_err = -ENOENT;
		goto out;
	}
	st.nslabs = BPF_CORE_READ(mem, nslabs);
	if (!st.nslabs) {
		st.scan_err = -ENOENT;
		goto out;
	}

	if (pools_dynamic()) {
		st.flags |= DMAW_POOL_DYNAMIC;
		if (pool_can_grow(mem))
			st.flags |= DMAW_POOL_CAN_GROW;
		st.boot_nslabs = BPF_CORE_READ(mem, defpool.nslabs);
		st.nareas = BPF_CORE_READ(mem, defpool.nareas);
		err = scan_pools(mem, &sc, &st, &area_used);
	} else if (bpf_core_field_exists(struct io_tlb_mem, defpool)) {
		st.boot_nslabs = st.nslabs;
		st.nareas = BPF_CORE_READ(mem, defpool.nareas);
		st.pools = 1;
		err = scan_pool((const void *)mem +
					bpf_core_field_offset(struct io_tlb_mem, defpool),
				&sc, &area_used);
	} else {
		const struct io_tlb_mem___v61 *m = (const void *)mem;

		st.boot_nslabs = st.nslabs;
		st.nareas = BPF_CORE_READ(m, nareas);
		st.pools = 1;
		err = scan_slots(BPF_CORE_READ(m, slots), st.nslabs, BPF_CORE_READ(m, areas),
				 st.nareas, &sc, &area_used);
	}
	/* The transient pools' slots, where the kernel counts them (debugfs
	 * io_tlb_transient_nslabs); 0 without SWIOTLB_DYNAMIC. */
	if (bpf_core_field_exists(struct io_tlb_mem, transient_nslabs)) {
		st.transient_slots = BPF_CORE_READ(mem, transient_nslabs.counter);
		st.flags |= DMAW_POOL_TRANSIENT;
	}

	/* In use, as the kernel's mem_used() counts it: total_used where it
	 * is live (transient pools included), else the sum over every
	 * pool's areas. */
	if (live)
		used = BPF_CORE_READ(mem, total_used.counter);
	else
		used = area_used;
	st.used = used;
	if (live) {
		st.hiwater = BPF_CORE_READ(mem, used_hiwater.counter);
		st.flags |= DMAW_POOL_HIWATER_KERNEL;
	} else {
		/* User space takes the maximum of this and pool_peak. */
		st.hiwater = used;
		if (!err)
			pool_peak_keep(used);
	}
	if (err) {
		st.scan_err = err;
		goto out;
	}
	/* A run longer than a segment means the layout was misread. */
	if (sc.max_run > DMAW_IO_TLB_SEGSIZE) {
		st.scan_err = -EINVAL;
		goto out;
	}
	st.used_scan = sc.used;
	st.largest_free_run = sc.max_run;
	st.largest_free_run_page = sc.max_run_page;
	st.free_segments = sc.free_segs;
	st.flags |= DMAW_POOL_OK;
out:
	st.scan_ns = bpf_ktime_get_ns() - t0;
	stats = st;
	return 0;
}

/* After a mapping: keep the highest used count this CPU has seen. */
static __always_inline void note_used(void)
{
	const struct io_tlb_mem *mem = (const void *)dmaw_io_tlb_default_mem_addr;
	__u64 used;

	if (mem && !pool_used(mem, &used))
		pool_peak_keep(used);
}

SEC("?fexit/swiotlb_map")
int BPF_PROG(pool_map_fexit, struct device *dev, phys_addr_t paddr, size_t size,
	     enum dma_data_direction dir, unsigned long attrs, dma_addr_t ret)
{
	if (ret != DMA_MAPPING_ERROR)
		note_used();
	return 0;
}

SEC("?kretprobe")
int BPF_KRETPROBE(pool_map_kretprobe, dma_addr_t ret)
{
	if (ret != DMA_MAPPING_ERROR)
		note_used();
	return 0;
}

/* ---- the pool allocator's own calls (SWIOTLB_DYNAMIC) ----------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dmaw_pool_events);
} pool_events SEC(".maps");

static __always_inline struct dmaw_pool_events *events_here(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pool_events, &zero);
}

/* The worker's runs in flight, by thread: whether it added a pool. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} growing SEC(".maps");

/* swiotlb_dyn_alloc(work): allocates a pool and adds it, or warns. */
static __always_inline void grow_enter(void)
{
	__u64 tid = bpf_get_current_pid_tgid();
	__u32 added = 0;
	struct dmaw_pool_events *e = events_here();

	if (e)
		e->grow_attempts++;
	bpf_map_update_elem(&growing, &tid, &added, BPF_ANY);
}

static __always_inline void grow_exit(void)
{
	__u64 tid = bpf_get_current_pid_tgid();
	__u32 *added = bpf_map_lookup_elem(&growing, &tid);
	struct dmaw_pool_events *e;

	if (!added)
		return;
	if (!*added && (e = events_here()))
		e->grow_failures++;
	bpf_map_delete_elem(&growing, &tid);
}

/* add_mem_pool(mem, pool): at boot, for a restricted pool, and from the
 * worker; only the default allocator's pools count. */
static __always_inline void pool_added(const struct io_tlb_mem *mem, const void *pool)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct dmaw_pool_events *e;
	__u32 *added;

	if ((__u64)mem != dmaw_io_tlb_default_mem_addr)
		return;
	added = bpf_map_lookup_elem(&growing, &tid);
	if (added)
		*added = 1;
	e = events_here();
	if (e) {
		e->grows++;
		e->grown_slots += pool_member(pool, nslabs);
	}
}

/* swiotlb_dyn_free(rcu), the RCU callback that frees a pool: a transient
 * one after its mapping's unmap (swiotlb_del_transient()). */
static __always_inline void pool_freed(const struct callback_head *rcu)
{
	const void *pool = (const void *)rcu - POOL_MEMBER_OFF(rcu);
	struct dmaw_pool_events *e;

	if (!pool_member(pool, transient))
		return;
	e = events_here();
	if (e) {
		e->transient_frees++;
		e->transient_freed_slots += pool_member(pool, nslabs);
	}
}

SEC("?fentry/swiotlb_dyn_alloc")
int BPF_PROG(pool_grow_fentry, struct work_struct *work)
{
	grow_enter();
	return 0;
}

SEC("?fexit/swiotlb_dyn_alloc")
int BPF_PROG(pool_grow_fexit, struct work_struct *work)
{
	grow_exit();
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(pool_grow_kprobe)
{
	grow_enter();
	return 0;
}

SEC("?kretprobe")
int BPF_KRETPROBE(pool_grow_kretprobe)
{
	grow_exit();
	return 0;
}

SEC("?fentry/add_mem_pool")
int BPF_PROG(pool_add_fentry, struct io_tlb_mem *mem, void *pool)
{
	pool_added(mem, pool);
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(pool_add_kprobe, struct io_tlb_mem *mem, void *pool)
{
	pool_added(mem, pool);
	return 0;
}

SEC("?fentry/swiotlb_dyn_free")
int BPF_PROG(pool_free_fentry, struct callback_head *rcu)
{
	pool_freed(rcu);
	return 0;
}

SEC("?kprobe")
int BPF_KPROBE(pool_free_kprobe, struct callback_head *rcu)
{
	pool_freed(rcu);
	return 0;
}
