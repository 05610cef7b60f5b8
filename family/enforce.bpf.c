// SPDX-License-Identifier: GPL-2.0
/*
 * Enforce: segment caps on every bio at submission (family/enforce.h has
 * the arithmetic). User space enables one mode's programs:
 *  - deny: enforce_deny, fmod_ret on should_fail_bio(): returning non-zero
 *    makes submit_bio_noacct() end the bio with BLK_STS_IOERR instead of
 *    queueing it. The kernel lets fmod_ret attach only to functions it
 *    marks ALLOW_ERROR_INJECTION, and only with
 *    CONFIG_FUNCTION_ERROR_INJECTION (bpf_check_attach_target() ->
 *    check_attach_modify_return()). Beside it enforce_seen, on
 *    block_bio_queue, counts the ruled bios that reached the queue: the
 *    witness that deny saw them all.
 *  - audit: enforce_tp, tp_btf block_bio_queue, the same decisions with IO
 *    unchanged, on every kernel (Debian's 6.1 has no BTF for
 *    should_fail_bio, only should_fail_bio.constprop.0).
 *    submit_bio_noacct_nocheck() fires it once per bio, after
 *    should_fail_bio(): the same bios, the same decisions.
 * Only disks with a rule are looked at: a bio of any other disk costs one
 * hash lookup.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "enforce.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* enum dmaw_enf_mode: what a policy that fires does (set before load). */
const volatile __u32 dmaw_enf_mode = DMAW_ENF_AUDIT;

/* Key: the whole disk's dev_t (MKDEV: major << 20 | minor). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_ENF_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct dmaw_enf_rule);
} enf_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DMAW_ENF_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct dmaw_enf_stats);
} enf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} enf_events SEC(".maps");

/* The last decision per disk: what dmawatch trace shows of decisions it
 * did not see in the ring buffer (another process's). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DMAW_ENF_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct dmaw_enf_event);
} enf_last SEC(".maps");

/* Decisions the ring buffer had no room for (their counts are exact). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} enf_drops SEC(".maps");

#define DMAW_MINORBITS 20
#define DMAW_PAGE_SIZE 4096ULL /* x86's PAGE_SIZE: bvec offsets are within pages of it */
#define DMAW_REQ_OP_MASK 0xff  /* REQ_OP_BITS of include/linux/blk_types.h */

/* 7.x renamed bvec_iter.bi_bvec_done to bi_offset (the bytes of the
 * current bvec already done): one of the two is there. */
struct bvec_iter___bi_offset {
	unsigned int bi_offset;
} __attribute__((preserve_access_index));

static __always_inline __u64 bvec_done(struct bio *bio)
{
	struct bvec_iter___bi_offset *it = (void *)&bio->bi_iter;

	if (bpf_core_field_exists(bio->bi_iter.bi_bvec_done))
		return BPF_CORE_READ(bio, bi_iter.bi_bvec_done);
	if (bpf_core_field_exists(it->bi_offset))
		return BPF_CORE_READ(it, bi_offset);
	return 0;
}

struct walk {
	struct dmaw_enf_rule r;
	__u64 vecs;      /* struct bio_vec *, read with bpf_probe_read_kernel() */
	__u64 page_size; /* sizeof(struct page): pfn distance of two pages */
	__u64 left;      /* bytes of the bio not walked yet */
	__u64 skip;      /* bytes of the first bvec already done */
	__u64 prev_page;
	__u64 prev_end;  /* offset of the previous bvec's end in prev_page */
	__u64 cur_off;   /* the bvec being walked: where its rest starts */
	__u64 cur_len;   /* and how much of it is left */
	__u32 idx, vcnt; /* the next bvec */
	__u32 cur_contiguous;
	__u32 started;
	struct dmaw_fit fit;
	struct dmaw_enf_event ev; /* a decision's event, built here */
};

/*
 * The walk's state lives in a map, not on the stack: since Linux 6.8 the
 * verifier checks a bpf_loop() callback as a loop, again for each state
 * it is entered with, until one repeats (check_helper_call() ->
 * push_callback_call(); commit ab5cfac139ab "bpf: verify callbacks as if
 * they are called unknown number of times"). Counters on the stack never
 * repeat, so it unrolled all steps and gave up ("The sequence of 8193
 * jumps is too complex"); values read from a map are unknown each time,
 * and the callback's state repeats at once. Per CPU: the program does not
 * nest on a CPU (the trampoline's recursion protection).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk);
} enf_walk SEC(".maps");

/*
 * The next bvec. Pages of the vmemmap are in pfn order, so a bvec starts
 * where the previous one ended iff its page lies (prev_end - off) /
 * PAGE_SIZE pages on: contiguity without the physical addresses.
 */
static __always_inline int next_bvec(struct walk *w)
{
	struct bio_vec bv;
	__u64 page, off, len;

	if (w->idx >= w->vcnt)
		return -1;
	if (bpf_probe_read_kernel(&bv, sizeof(bv),
				  (struct bio_vec *)w->vecs + (w->idx & (DMAW_ENF_MAX_BVECS - 1))))
		return -1;
	page = (__u64)bv.bv_page;
	off = bv.bv_offset;
	len = bv.bv_len;
	if (!w->started && w->skip < len) {
		off += w->skip;
		len -= w->skip;
	}
	if (len > w->left)
		len = w->left;
	w->cur_contiguous = 0;
	if (w->started && w->prev_end >= off && !((w->prev_end - off) % DMAW_PAGE_SIZE))
		w->cur_contiguous =
			page == w->prev_page + (w->prev_end - off) / DMAW_PAGE_SIZE * w->page_size;
	w->prev_page = page;
	w->prev_end = off + len;
	w->cur_off = off;
	w->cur_len = len;
	w->started = 1;
	w->idx++;
	return 0;
}

/* One step (dmaw_fit_step()): bpf_loop() verifies it once. */
static long walk_step(__u32 n, void *ctx)
{
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&enf_walk, &zero);
	__u64 take;

	(void)n;
	(void)ctx;
	if (!w || !w->left)
		return 1;
	if (!w->cur_len && next_bvec(w))
		return 1;
	if (!w->cur_len)
		return 0; /* an empty bvec */
	take = dmaw_fit_step(&w->fit, &w->r, w->cur_contiguous, w->cur_off, w->cur_len);
	if (take > w->cur_len) /* cannot happen; bounds it for the verifier */
		take = w->cur_len;
	w->cur_off += take;
	w->cur_len -= take;
	w->left -= take;
	w->cur_contiguous = 1;
	return 0;
}

/* The rule of the bio's disk if it has one and the bio is a read or a
 * write (only those carry data pages to bounce), with its dev_t and op. */
static __always_inline const struct dmaw_enf_rule *ruled(struct bio *bio, __u32 *devt, __u32 *op)
{
	struct gendisk *disk = BPF_CORE_READ(bio, bi_bdev, bd_disk);

	if (!disk)
		return NULL;
	*devt = (BPF_CORE_READ(disk, major) << DMAW_MINORBITS) | BPF_CORE_READ(disk, first_minor);
	*op = BPF_CORE_READ(bio, bi_opf) & DMAW_REQ_OP_MASK;
	if (*op != REQ_OP_READ && *op != REQ_OP_WRITE)
		return NULL;
	return bpf_map_lookup_elem(&enf_rules, devt);
}

/* The disk's per-CPU counters, made on first use (NULL: the map is full). */
static __always_inline struct dmaw_enf_stats *disk_stats(__u32 *devt)
{
	static const struct dmaw_enf_stats zero;

	return lookup_or_try_init(&enf_stats, devt, &zero);
}

/* Returns the policy that fired, or 0. */
static __always_inline __u32 check(void *ctx, struct bio *bio)
{
	struct dmaw_enf_stats *st;
	const struct dmaw_enf_rule *r;
	__u32 zero_key = 0;
	struct walk *w = bpf_map_lookup_elem(&enf_walk, &zero_key);
	struct dmaw_enf_event *ev;
	struct gendisk *disk;
	__u32 devt, policy, op;
	__u64 bytes;
	int k;

	r = ruled(bio, &devt, &op);
	if (!r)
		return 0;
	bytes = BPF_CORE_READ(bio, bi_iter.bi_size);
	if (!w)
		return 0;
	__builtin_memset(w, 0, sizeof(*w));
	w->r = *r;
	w->vecs = (__u64)BPF_CORE_READ(bio, bi_io_vec);
	w->vcnt = BPF_CORE_READ(bio, bi_vcnt);
	w->idx = BPF_CORE_READ(bio, bi_iter.bi_idx);
	w->skip = bvec_done(bio);
	w->left = bytes;
	w->page_size = bpf_core_type_size(struct page);
	if (w->vecs && bytes)
		bpf_loop(DMAW_ENF_MAX_STEPS, walk_step, NULL, 0);
	if (w->left)
		w->fit.cut = 1;
	policy = dmaw_fit_verdict(&w->fit, r, bytes);

	st = disk_stats(&devt);
	if (!st)
		return policy;
	st->checked++;
	if (!policy)
		return 0;
	k = dmaw_enf_policy_index(policy);
	st->hits[k]++;
	st->hit_bytes[k] += bytes;

	ev = &w->ev;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->devt = devt;
	ev->policy = policy;
	ev->mode = dmaw_enf_mode;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->bytes = bytes;
	ev->slots_needed = w->fit.worst_req_slots;
	ev->seg_bytes = w->fit.worst_seg_bytes;
	ev->pool_slots = r->pool_slots;
	ev->reqs = w->fit.reqs;
	ev->op = op;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	disk = BPF_CORE_READ(bio, bi_bdev, bd_disk);
	bpf_probe_read_kernel_str(ev->disk, sizeof(ev->disk), disk->disk_name);
	ev->stack_len = bpf_get_stack(ctx, ev->stack, sizeof(ev->stack), 0);
	bpf_map_update_elem(&enf_last, &devt, ev, BPF_ANY);
	if (bpf_ringbuf_output(&enf_events, ev, sizeof(*ev), 0)) {
		__u64 *drops = bpf_map_lookup_elem(&enf_drops, &zero_key);

		if (drops)
			(*drops)++;
	}
	return policy;
}

SEC("?fmod_ret/should_fail_bio")
int BPF_PROG(enforce_deny, struct bio *bio)
{
	/* Any non-zero return fails the bio; submit_bio_noacct() turns it
	 * into BLK_STS_IOERR whatever the value, so say what it will be. */
	return check(ctx, bio) && dmaw_enf_mode == DMAW_ENF_DENY ? -5 /* EIO */ : 0;
}

/* Under deny, beside enforce_deny: the bios of ruled disks that reached
 * the queue, every one of which should_fail_bio() saw first. */
SEC("?tp_btf/block_bio_queue")
int BPF_PROG(enforce_seen, struct bio *bio)
{
	struct dmaw_enf_stats *st;
	__u32 devt, op;

	if (!ruled(bio, &devt, &op) || !(st = disk_stats(&devt)))
		return 0;
	st->queued++;
	return 0;
}

SEC("?tp_btf/block_bio_queue")
int BPF_PROG(enforce_tp, struct bio *bio)
{
	check(ctx, bio);
	return 0;
}
