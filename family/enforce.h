/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Enforce (family/enforce.bpf.c, user/enforce/enforce.c, shown by the enforce
 * family in family/enforce.c): segment caps checked on
 * every bio at submission, in should_fail_bio() — the block layer's one
 * error-injection hook, called by submit_bio_noacct() before the bio is
 * split to the queue's limits. Deny (fmod_ret, kernels with
 * CONFIG_FUNCTION_ERROR_INJECTION) fails the bio there: submit_bio_noacct()
 * ends it with BLK_STS_IOERR, the caller sees EIO. Audit (the
 * block_bio_queue tracepoint, right after the hook) makes the same
 * decisions and changes nothing.
 *
 * The arithmetic is shared by both halves (the unit tests run it on
 * hand-computed cases): a bio's pieces, in order, become DMA segments the
 * way blk_rq_map_sg() merges them (physically contiguous, up to the
 * queue's max_segment_size) and requests the way the bio is split
 * (max_segments, max_sectors_kb); each segment needs the SWIOTLB slots
 * swiotlb_tbl_map_single() rounds it to, each request all its segments'
 * slots at once plus the driver's own mappings (virtio-blk's header and
 * status byte).
 */
#ifndef DMAWATCH_ENFORCE_H
#define DMAWATCH_ENFORCE_H

#include "dmawatch.h"

#define DMAW_ENF_MAX_DISKS 64
#define DMAW_ENF_MAX_BVECS 256 /* BIO_MAX_VECS */
/* Steps of one bio's walk in BPF: a step per bvec, and one more each time
 * a segment or request limit cuts a bvec. A bio that needs more is
 * flagged (dmaw_fit.cut), not misjudged silently. */
#define DMAW_ENF_MAX_STEPS 2048

enum dmaw_enf_policy {
	DMAW_ENF_NEVER_FIT = 1,   /* a request needing more slots than the pool has */
	DMAW_ENF_MAX_SEGMENT = 2, /* a DMA segment longer than the cap */
	DMAW_ENF_MAX_BYTES = 4,   /* a bio larger than the cap */
};
#define DMAW_ENF_POLICIES 3

enum dmaw_enf_mode {
	DMAW_ENF_AUDIT = 0,
	DMAW_ENF_DENY = 1,
};

/* Per disk (key: the whole disk's dev_t, MKDEV): what user space measured
 * of the disk, its pool and its device, and the caps it asked for. */
/* pool_slots of a pool that grows (CONFIG_SWIOTLB_DYNAMIC): a request
 * larger than it gets transient pools, so only a segment over 128 slots
 * never fits. */
#define DMAW_ENF_POOL_GROWS 0xffffffffu

struct dmaw_enf_rule {
	__u32 policies;                /* enum dmaw_enf_policy bits */
	__u32 pool_slots;              /* slots the pool has in all, or
					* DMAW_ENF_POOL_GROWS */
	__u32 extra_slots;             /* the driver's own mappings per request */
	__u32 align_mask;              /* min_align_mask & (IO_TLB_SIZE - 1) */
	__u32 seg_max;                 /* queue max_segment_size */
	__u32 req_max_segs;            /* queue max_segments */
	__u64 req_max_bytes;           /* queue max_sectors_kb * 1024 */
	__u64 seg_cap;                 /* --max-segment */
	__u64 bytes_cap;               /* --max-bytes */
	char disk[DMAW_DISK_NAME_LEN]; /* its name, for whoever reads the rules */
};

/* What a bio needs: the running state of the walk and its result. */
struct dmaw_fit {
	__u64 seg_bytes; /* the open segment */
	__u32 seg_off;   /* its start's offset inside a slot */
	__u32 req_segs;  /* the open request: segments, bytes, slots */
	__u64 req_bytes;
	__u64 req_slots;
	__u64 worst_req_slots; /* with the driver's own */
	__u64 worst_seg_slots;
	__u64 worst_seg_bytes;
	__u32 reqs; /* requests the bio becomes */
	__u32 cut;  /* the walk ran out of steps: bytes left uncounted */
};

/* Per disk, per CPU: bios checked, and per policy the bios it fired on and
 * their bytes (index: the policy's bit number). */
struct dmaw_enf_stats {
	__u64 checked;
	/* Under deny: bios the block layer queued (block_bio_queue), which
	 * should_fail_bio() must have checked first: more queued than
	 * checked means the hook did not run for some (an inlined copy). */
	__u64 queued;
	__u64 hits[DMAW_ENF_POLICIES];
	__u64 hit_bytes[DMAW_ENF_POLICIES];
};

/* One decision, as an event (ring buffer) and as the last one of a disk. */
struct dmaw_enf_event {
	__u64 ts_ns;
	__u32 devt;
	__u32 policy; /* the one that fired (enum dmaw_enf_policy) */
	__u32 mode;   /* enum dmaw_enf_mode */
	__u32 pid;
	__u64 bytes;        /* bi_size */
	__u64 slots_needed; /* the largest request's */
	__u64 seg_bytes;    /* the longest segment */
	__u32 pool_slots;
	__u32 pool_used; /* io_tlb_used when the bio came, if known */
	__u32 reqs;
	__u32 op; /* REQ_OP_* */
	__s32 stack_len;
	char comm[DMAW_COMM_LEN];
	char disk[DMAW_DISK_NAME_LEN];
	__u64 stack[DMAW_STACK_DEPTH];
};

#ifdef __VMLINUX_H__
#define DMAW_ENF_INLINE static __always_inline
#else
#define DMAW_ENF_INLINE static inline
#endif

/* A policy's bit number: its index in the per-policy counters and names. */
DMAW_ENF_INLINE int dmaw_enf_policy_index(__u32 policy)
{
	return policy == DMAW_ENF_NEVER_FIT ? 0 : policy == DMAW_ENF_MAX_SEGMENT ? 1 : 2;
}

DMAW_ENF_INLINE __u64 dmaw_enf_slots(__u64 off, __u64 bytes)
{
	return (off + bytes + DMAW_IO_TLB_SIZE - 1) >> DMAW_IO_TLB_SHIFT;
}

DMAW_ENF_INLINE void dmaw_fit_close_seg(struct dmaw_fit *f)
{
	__u64 slots;

	if (!f->seg_bytes)
		return;
	slots = dmaw_enf_slots(f->seg_off, f->seg_bytes);
	f->req_slots += slots;
	if (slots > f->worst_seg_slots)
		f->worst_seg_slots = slots;
	if (f->seg_bytes > f->worst_seg_bytes)
		f->worst_seg_bytes = f->seg_bytes;
	f->seg_bytes = 0;
}

DMAW_ENF_INLINE void dmaw_fit_close_req(struct dmaw_fit *f, const struct dmaw_enf_rule *r)
{
	dmaw_fit_close_seg(f);
	if (!f->req_bytes)
		return;
	if (f->req_slots + r->extra_slots > f->worst_req_slots)
		f->worst_req_slots = f->req_slots + r->extra_slots;
	f->reqs++;
	f->req_bytes = f->req_slots = 0;
	f->req_segs = 0;
}

/*
 * One step of the walk: takes what it can of the next len bytes, which
 * start at offset off inside their page (only the low bits matter: the
 * offset inside a slot), directly after the previous piece in physical
 * memory or not; returns the bytes taken (at least one). A piece continues
 * the open segment while the segment and the request have room, as
 * blk_rq_map_sg() merges physically contiguous bvecs; what does not fit
 * starts a new segment, and a new request when the request is full
 * (bio_split_rw(): max_segments, max_sectors). No loop inside: the BPF
 * side runs one step per bpf_loop() iteration, so the verifier walks the
 * step once (a loop here, unrolled per bvec, took it past its
 * 1M-instruction limit).
 */
DMAW_ENF_INLINE __u64 dmaw_fit_step(struct dmaw_fit *f, const struct dmaw_enf_rule *r,
				    int contiguous, __u64 off, __u64 len)
{
	__u64 seg_max = r->seg_max ? r->seg_max : ~0ULL;
	__u64 req_max = r->req_max_bytes ? r->req_max_bytes : ~0ULL;
	__u32 max_segs = r->req_max_segs ? r->req_max_segs : ~0U;
	__u64 take = len;

	if (f->req_bytes >= req_max)
		dmaw_fit_close_req(f, r);
	if (!contiguous || !f->seg_bytes || f->seg_bytes >= seg_max) {
		dmaw_fit_close_seg(f);
		if (f->req_segs >= max_segs)
			dmaw_fit_close_req(f, r);
		f->seg_off = off & r->align_mask;
		f->req_segs++;
	}
	if (take > seg_max - f->seg_bytes)
		take = seg_max - f->seg_bytes;
	if (take > req_max - f->req_bytes)
		take = req_max - f->req_bytes;
	f->seg_bytes += take;
	f->req_bytes += take;
	return take;
}

#ifndef __VMLINUX_H__
/* A whole piece (user space: the unit tests). */
static inline void dmaw_fit_add(struct dmaw_fit *f, const struct dmaw_enf_rule *r, int contiguous,
				__u64 off, __u64 len)
{
	while (len) {
		__u64 take = dmaw_fit_step(f, r, contiguous, off, len);

		off += take;
		len -= take;
		contiguous = 1;
	}
}
#endif

/* Which policy of r fires on a bio of 'bytes' whose walk ended in f (the
 * first of never-fit, max-segment, max-bytes), or 0. */
DMAW_ENF_INLINE __u32 dmaw_fit_verdict(struct dmaw_fit *f, const struct dmaw_enf_rule *r,
				       __u64 bytes)
{
	dmaw_fit_close_req(f, r);
	if ((r->policies & DMAW_ENF_NEVER_FIT) && r->pool_slots &&
	    (f->worst_req_slots > r->pool_slots || f->worst_seg_slots > DMAW_IO_TLB_SEGSIZE))
		return DMAW_ENF_NEVER_FIT;
	if ((r->policies & DMAW_ENF_MAX_SEGMENT) && r->seg_cap && f->worst_seg_bytes > r->seg_cap)
		return DMAW_ENF_MAX_SEGMENT;
	if ((r->policies & DMAW_ENF_MAX_BYTES) && r->bytes_cap && bytes > r->bytes_cap)
		return DMAW_ENF_MAX_BYTES;
	return 0;
}

#endif
