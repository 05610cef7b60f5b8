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

struct pool_geom {
	const void *slots;
	const void *areas;
	__u64 nslabs;      /* io_tlb_mem.nslabs: every pool */
	__u64 pool_nslabs; /* slots of the pool scanned */
	__u32 nareas;
};

static __always_inline int read_geom(const struct io_tlb_mem *mem, struct pool_geom *g)
{
	g->nslabs = BPF_CORE_READ(mem, nslabs);
	pool_areas(mem, &g->areas, &g->nareas);
	if (bpf_core_field_exists(struct io_tlb_mem, defpool)) {
		g->slots = BPF_CORE_READ(mem, defpool.slots);
		g->pool_nslabs = BPF_CORE_READ(mem, defpool.nslabs);
	} else {
		const struct io_tlb_mem___v61 *m = (const void *)mem;

		g->slots = BPF_CORE_READ(m, slots);
		g->pool_nslabs = g->nslabs;
	}
	if (!g->slots || !g->nslabs)
		return -ENOENT;
	return 0;
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

SEC("?raw_tp")
int pool_scan(void *ctx)
{
	const struct io_tlb_mem *mem = (const void *)dmaw_io_tlb_default_mem_addr;
	struct dmaw_pool_stats st = {};
	struct scan_ctx sc = {};
	struct pool_geom g = {};
	__u64 t0 = bpf_ktime_get_ns(), used = 0;
	long ret;
	int err;

	st.scans = stats.scans + 1;
	if (!mem) {
		st.scan_err = -ENOENT;
		goto out;
	}
	err = read_geom(mem, &g);
	if (err) {
		st.scan_err = err;
		goto out;
	}
	st.nslabs = g.nslabs;
	st.nareas = g.nareas;

	err = pool_used(mem, &used);
	if (err)
		st.scan_err = err;
	st.used = used;

	if (pool_counters_live()) {
		st.hiwater = BPF_CORE_READ(mem, used_hiwater.counter);
		st.flags |= DMAW_POOL_HIWATER_KERNEL;
	} else {
		/* User space takes the maximum of this and pool_peak. */
		st.hiwater = used;
		if (!err)
			pool_peak_keep(used);
	}

	sc.slots = g.slots;
	sc.nslabs = g.pool_nslabs;
	/* bpf_loop() takes at most 8M iterations (a 16 GiB pool). */
	ret = bpf_loop(g.pool_nslabs, scan_slot, &sc, 0);
	if (ret < 0 && !sc.err)
		sc.err = ret;
	if (sc.err) {
		st.scan_err = sc.err;
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
	if (!st.scan_err)
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
