/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one scatterlist walker: sg_next() over one list (a driver's
 * dma_map_sg) or over an array of lists (virtqueue_add_sgs), summing what
 * SWIOTLB will need: entries, bytes, 2 KiB slots, the largest entry and the
 * entries longer than a limit. Included by the families that walk lists;
 * each object gets its own per-CPU walk state.
 *
 * The state lives in a per-CPU map value, not on the stack or in the
 * caller's registers, for two verifiers:
 * - 6.1 checks a bpf_loop callback once, with the caller's stack as it is
 *   at the call: a stack-held cursor that starts NULL is taken as a
 *   constant and the entry-walking half of the callback dropped as dead
 *   code (kernel/bpf/verifier.c, check_helper_call -> push_callback_call
 *   before 6.8's loop-like callback verification).
 * - 6.8+ verifies the callback like a loop body: a typed (PTR_TO_BTF_ID)
 *   cursor advanced by the entry size gets a new offset every iteration and
 *   the states never converge ("BPF program is too large"). Read back from
 *   a map value, the cursor is a plain number.
 * One slot per nesting level: an interrupt may walk another list on this
 * CPU while a walk runs.
 */
#ifndef DMAWATCH_SGWALK_BPF_H
#define DMAWATCH_SGWALK_BPF_H

#include "common.bpf.h"

/* include/linux/scatterlist.h: the low bits of page_link. */
#define SG_CHAIN 0x01UL
#define SG_END 0x02UL

#define SG_WALK_NEST 4
#define SG_WALK_MAX_LISTS 16
/* Steps beyond the entries: one per list started, and chain hops. */
#define SG_WALK_EXTRA_STEPS (SG_WALK_MAX_LISTS + 64)

struct sg_walk {
	struct scatterlist **sgs; /* list heads, or NULL: one list at cur */
	struct scatterlist *cur;  /* next entry to visit, NULL: next list */
	__u64 sg_size;            /* sizeof(struct scatterlist) on this kernel */
	__u64 limit;              /* entries longer are counted in over_limit */
	__u64 bytes;
	__u64 slots; /* ceil(length / 2 KiB), summed */
	__u64 largest;
	__u32 list; /* next list head to take from sgs[] */
	__u32 nlists;
	__u32 left;        /* entries the current list may still have */
	__u32 max_entries; /* stop after this many (sums: lower bounds) */
	__u32 entries;
	__u32 over_limit;
	/* Asked for: stop at the first entry whose dma_address is
	 * DMA_MAPPING_ERROR, the one dma_direct_map_sg() failed to map,
	 * which is left out of the sums; failed then says so, with its
	 * length. */
	__u32 stop_at_error;
	__u32 failed;
	__u64 failed_len;
	__u16 hist[DMAW_HIST_SLOTS]; /* log2 of each entry's length */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_WALK_NEST);
	__type(key, __u32);
	__type(value, struct sg_walk);
} sg_walks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sg_walk_depth SEC(".maps");

/* One step of sg_next() over all lists (bpf_loop callback). A chain entry
 * carries no data: it points at the next array of entries. */
static long sg_walk_step(__u32 index, void *ctx)
{
	struct sg_walk *w = bpf_map_lookup_elem(&sg_walks, ctx);
	struct scatterlist *sg;
	unsigned long page_link = 0;
	unsigned int len = 0;

	if (!w)
		return 1;
	sg = w->cur;
	if (!sg) {
		if (!w->sgs || w->list >= w->nlists || w->list >= SG_WALK_MAX_LISTS)
			return 1;
		if (bpf_probe_read_kernel(&sg, sizeof(sg), &w->sgs[w->list]))
			return 1;
		w->list++;
		w->cur = sg;
		w->left = w->max_entries;
		return 0;
	}
	if (w->entries >= w->max_entries)
		return 1;
	if (BPF_CORE_READ_INTO(&page_link, sg, page_link))
		return 1;
	if (page_link & SG_CHAIN) {
		w->cur = (struct scatterlist *)(page_link & ~(SG_CHAIN | SG_END));
		return 0;
	}
	BPF_CORE_READ_INTO(&len, sg, length);
	if (w->stop_at_error) {
		dma_addr_t addr = 0;

		BPF_CORE_READ_INTO(&addr, sg, dma_address);
		if (addr == DMA_MAPPING_ERROR) {
			w->failed = 1;
			w->failed_len = len;
			return 1;
		}
	}
	w->entries++;
	w->hist[log2_slot(len)]++;
	w->bytes += len;
	/* swiotlb_map() maps each entry on its own. */
	w->slots += slots_for(len);
	if (len > w->largest)
		w->largest = len;
	if (len > w->limit)
		w->over_limit++;
	if ((page_link & SG_END) || --w->left == 0)
		w->cur = NULL;
	else
		w->cur = (struct scatterlist *)((char *)sg + w->sg_size);
	return 0;
}

/*
 * Walks one list of at most nents entries (sgs NULL) or the nlists lists of
 * sgs[] (each to its end mark), stopping after max_entries entries (or at
 * a failed entry, with stop_at_error), and copies the sums to *out.
 * Returns 0, or -1 when the CPU's walk slots are all in use (out
 * untouched).
 */
static __always_inline int sg_walk(struct scatterlist **sgs, __u32 nlists, struct scatterlist *sg,
				   __u32 nents, __u32 max_entries, __u64 limit, bool stop_at_error,
				   struct sg_walk *out)
{
	__u32 zero = 0, *depth, slot;
	struct sg_walk *w;

	depth = bpf_map_lookup_elem(&sg_walk_depth, &zero);
	if (!depth)
		return -1;
	slot = *depth;
	if (slot >= SG_WALK_NEST)
		return -1;
	w = bpf_map_lookup_elem(&sg_walks, &slot);
	if (!w)
		return -1;
	*depth = slot + 1;
	__builtin_memset(w, 0, sizeof(*w));
	w->sg_size = bpf_core_type_size(struct scatterlist);
	w->limit = limit;
	w->max_entries = max_entries;
	w->stop_at_error = stop_at_error;
	if (sgs) {
		w->sgs = sgs;
		w->nlists = nlists;
	} else if (nents) {
		w->cur = sg;
		w->left = nents < max_entries ? nents : max_entries;
	}
	bpf_loop(max_entries + SG_WALK_EXTRA_STEPS, sg_walk_step, &slot, 0);
	__builtin_memcpy(out, w, sizeof(*out));
	*depth = slot;
	return 0;
}

#endif
