/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every probe family shares on the BPF side: the event ring buffer and
 * its drop counter, per-process attribution, device naming, log2 buckets.
 * Each object carries its own copy of these maps; the loader makes all
 * families use the first family's (bpf_map__reuse_fd), so user space reads
 * one ring buffer and one process table.
 */
#ifndef DMAWATCH_COMMON_BPF_H
#define DMAWATCH_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dmawatch.h"
#include "maps.bpf.h"

#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Events the ring buffer had no room for: reported, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} event_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, DMAW_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct dmaw_proc_stats);
} proc_stats SEC(".maps");

/* The most slots of the default pool seen in use, per CPU (no atomics):
 * at every failed mapping (the swiotlb family reads the pool there anyway)
 * and, with --detail, after every mapping (the pool family). The pool
 * family's high-water where the kernel keeps none; user space takes the
 * maximum over CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pool_peak SEC(".maps");

static __always_inline void pool_peak_keep(__u64 used)
{
	__u32 zero = 0;
	__u64 *peak = bpf_map_lookup_elem(&pool_peak, &zero);

	if (peak && used > *peak)
		*peak = used;
}

/*
 * Kernel variables by address, from /proc/kallsyms, 0 where the kernel has
 * none (or hides addresses): set by user space before load from the one
 * read of kallsyms it makes anyway (struct family_rodata, set through the
 * skeleton: FAMILY_SKELETON()).
 * Typeless __ksym externs would do the same, but libbpf reads all of
 * kallsyms again for every object that has one: seconds under TCG.
 */
const volatile __u64 dmaw_per_cpu_offset_addr; /* __per_cpu_offset[] */
const volatile __u64 dmaw_preempt_count_addr;  /* per-CPU __preempt_count */
const volatile __u64 dmaw_pcpu_hot_addr;       /* per-CPU pcpu_hot */
const volatile __u64 dmaw_track_hiwater_enabled_addr;
const volatile __u64 dmaw_io_tlb_default_mem_addr;

/* offsetof(struct pcpu_hot, preempt_count), or -1 where the kernel has no
 * struct pcpu_hot: set by user space from vmlinux BTF before load. Not
 * bpf_core_field_offset(): a CO-RE relocation against a type vmlinux lacks
 * (6.1, 6.15+) sends libbpf looking through module BTF
 * (bpf_core_find_cands() -> load_module_btfs()), and BPF_BTF_GET_NEXT_ID
 * needs CAP_SYS_ADMIN: the whole object then fails to load for a process
 * with only CAP_BPF and CAP_PERFMON. */
const volatile __s32 dmaw_pcpu_hot_pc_off = -1;

/* --detail (set before load): the per-mapping extras (timing, processes).
 * Off, their code is dead and the verifier drops it: by default one lean
 * program runs per mapping (docs/kernel-internals.md, section 4.3). */
const volatile bool dmaw_detail;

/* libbpf_num_possible_cpus(), set before load: how many CPUs' copies of a
 * per-CPU value a program walks (a device's counters when it is gone). */
const volatile __u32 dmaw_nr_cpus = 1;

/*
 * The struct device that device_release(kobj) frees, as a number: a
 * family's key for it. device_release() runs when the last reference to a
 * device is dropped, after its driver let go and its last DMA was unmapped;
 * from then on the allocator may hand the same address to a new device, so
 * a family moves the counters it keeps under that key aside (its *_gone
 * map) and the new device starts a row of its own.
 */
static __always_inline __u64 kobj_device_key(__u64 kobj)
{
	return kobj - bpf_core_field_offset(struct device, kobj);
}

/* The programs PREFIX_fentry and PREFIX_kprobe on device_release(),
 * calling the family's device_gone(key). */
#define DEVICE_GONE_PROGS(prefix)                             \
	SEC("?fentry/device_release")                         \
	int BPF_PROG(prefix##_fentry, struct kobject *kobj)   \
	{                                                     \
		__u64 arg = 0;                                \
                                                              \
		bpf_get_func_arg(ctx, 0, &arg);               \
		device_gone(kobj_device_key(arg));            \
		return 0;                                     \
	}                                                     \
	SEC("?kprobe")                                        \
	int BPF_KPROBE(prefix##_kprobe, struct kobject *kobj) \
	{                                                     \
		device_gone(kobj_device_key((__u64)kobj));    \
		return 0;                                     \
	}

#define DMAW_PREEMPT_MASK 0xffUL
#define DMAW_NEED_RESCHED_6X 0x80000000UL

static __always_inline __u32 irq_context_bits(__u32 cpu)
{
	unsigned long base = 0;
	__u32 count = 0;
	const void *pc;

	if (!dmaw_per_cpu_offset_addr ||
	    bpf_probe_read_kernel(&base, sizeof(base),
				  (const unsigned long *)dmaw_per_cpu_offset_addr + (cpu & 0xfff)))
		return 0;
	if (dmaw_preempt_count_addr)
		pc = (const void *)(base + dmaw_preempt_count_addr);
	else if (dmaw_pcpu_hot_pc_off >= 0 && dmaw_pcpu_hot_addr)
		pc = (const void *)(base + dmaw_pcpu_hot_addr + dmaw_pcpu_hot_pc_off);
	else
		return 0;
	if (bpf_probe_read_kernel(&count, sizeof(count), pc))
		return 0;
	return count & ~(DMAW_PREEMPT_MASK | DMAW_NEED_RESCHED_6X);
}

/*
 * The key of a call in flight, from an entry probe to its return probe.
 * pid_tgid alone is not one: an interrupt on an idle CPU runs as pid 0 on
 * every CPU, and a softirq or hardirq that interrupts a task mid-call runs
 * with that task's pid_tgid, so two calls in flight share the key and the
 * return probes credit the wrong one or none.
 *
 * Task context (no interrupt, softirq or irq-disable bits in the CPU's
 * preempt_count) keys by pid_tgid: unique, and right across preemption and
 * migration. Any other context cannot sleep or migrate and nests by level,
 * so it keys by CPU and those bits. preempt_count is the per-CPU
 * __preempt_count (6.1, and 6.15+ where it is an unsigned long whose low
 * word holds the counts) or pcpu_hot.preempt_count (6.2-6.14); both found
 * through kallsyms (typeless ksyms) and __per_cpu_offset[cpu]. Above the
 * preemption count (bits 0-7) every bit is an interrupt or disable count
 * (include/linux/preempt.h; 7.x added hardirq-disable bits 16-23 and moved
 * hardirq and NMI up), except x86's inverted NEED_RESCHED in bit 31 of the
 * int (6.x).
 */
static __always_inline __u64 call_key(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 bits = irq_context_bits(cpu);

	if (!bits && (__u32)id)
		return id;
	/* Bit 63: never a pid_tgid (pids are below 2^22). */
	return (1ULL << 63) | ((__u64)cpu << 32) | bits;
}

/*
 * floor(log2(v)) for v below 2^32, 0 for 0, without a branch: a binary
 * search whose steps are arithmetic, (X - v) >> 63 being 1 where v > X
 * (v below 2^63). It runs on every mapping, and under the lab's
 * TCG each conditional jump ends a translated block: the compare-and-shift
 * form took 14 of them. No __builtin_clzll: clang 14 (Debian 12) crashes
 * selecting it for BPF. At most 31.
 */
static __always_inline __u64 log2_u32(__u64 v)
{
	__u64 slot, step;

	v |= 1;
	slot = ((0xffffULL - v) >> 63) << 4;
	v >>= slot;
	step = ((0xffULL - v) >> 63) << 3;
	v >>= step;
	slot |= step;
	step = ((0xfULL - v) >> 63) << 2;
	v >>= step;
	slot |= step;
	step = ((0x3ULL - v) >> 63) << 1;
	v >>= step;
	slot |= step | (v >> 1);
	/* 6.1's verifier forgets the bounds of an OR whose source is not a
	 * constant (adjust_scalar_min_max_vals() marks it unknown), and
	 * clang drops a mask it can prove redundant: mask out of its sight,
	 * so the result bounds an array index. */
	barrier_var(slot);
	return slot & 31;
}

/* floor(log2(v)) as a histogram bucket, the last taking the rest. */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u64 high = ((0xffffffffULL - v) >> 63) << 5, slot, over;

	slot = high | log2_u32(v >> high);
	/* The last bucket takes the rest, also without a branch. The mask
	 * at the end, not a compare, bounds the array index for the
	 * verifier, and survives a register spill on 6.1. */
	over = -(((DMAW_HIST_SLOTS - 1ULL) - slot) >> 63);
	slot = (slot & ~over) | ((DMAW_HIST_SLOTS - 1) & over);
	barrier_var(slot); /* as in log2_u32() */
	return slot & (DMAW_HIST_SLOTS - 1);
}

/* enum dma_data_direction as an index into per-direction counters. */
static __always_inline __u32 dir_index(__u32 dir)
{
	return dir & (DMAW_DIRS - 1);
}

/* dev_name(dev): init_name until device_add() copies it into kobj.name. */
static __always_inline void read_dev_name(const struct device *dev, char *buf, int len)
{
	const char *name = BPF_CORE_READ(dev, init_name);

	if (!name)
		name = BPF_CORE_READ(dev, kobj.name);
	if (!name || bpf_probe_read_kernel_str(buf, len, name) < 0)
		buf[0] = 0;
}

static __always_inline void read_driver_name(const struct device *dev, char *buf, int len)
{
	const char *name = BPF_CORE_READ(dev, driver, name);

	if (!name || bpf_probe_read_kernel_str(buf, len, name) < 0)
		buf[0] = 0;
}

static __always_inline void read_names(const struct device *dev, struct dmaw_names *n)
{
	read_dev_name(dev, n->dev, sizeof(n->dev));
	read_driver_name(dev, n->driver, sizeof(n->driver));
}

/* swiotlb_max_mapping_size(): 128 slots less min_align_mask rounded up to
 * a slot (kernel/dma/swiotlb.c), so NVMe's 4 KiB mask gives 258048. */
static __always_inline __u64 swiotlb_limit(const struct device *dev)
{
	__u64 mask = 0;
	struct device_dma_parameters *parms = BPF_CORE_READ(dev, dma_parms);

	if (parms)
		mask = BPF_CORE_READ(parms, min_align_mask);
	if (mask)
		mask = (mask + DMAW_IO_TLB_SIZE - 1) & ~(__u64)(DMAW_IO_TLB_SIZE - 1);
	return (__u64)DMAW_IO_TLB_SIZE * DMAW_IO_TLB_SEGSIZE - mask;
}

static __always_inline __u32 slots_for(__u64 bytes)
{
	return (bytes + DMAW_IO_TLB_SIZE - 1) >> DMAW_IO_TLB_SHIFT;
}

/* struct io_tlb_mem before the io_tlb_pool split (6.1): the pool's fields
 * live in io_tlb_mem itself, its `used` is never written, and the areas
 * keep the counts (kernel/dma/swiotlb.c). */
struct io_tlb_mem___v61 {
	unsigned long nslabs;
	unsigned int nareas;
	struct io_tlb_area *areas;
	struct io_tlb_slot *slots;
} __attribute__((preserve_access_index));

/*
 * Are io_tlb_mem's total_used and used_hiwater kept up to date? The fields
 * exist with CONFIG_DEBUG_FS since 6.6; up to 6.x swiotlb_find_slots()
 * always updates them. 7.x updates them through a static call that
 * does nothing unless booted with swiotlb=...,track_hiwater
 * (swiotlb_inc_used / inc_used_and_hiwater_real), and mem_used() then
 * sums the areas instead. The switch, track_hiwater_enabled, is a static
 * variable found through kallsyms (dmaw_track_hiwater_enabled_addr).
 * Decided by BTF and kallsyms.
 */
static __always_inline bool pool_counters_live(void)
{
	bool on = false;

	if (!bpf_core_field_exists(struct io_tlb_mem, total_used))
		return false;
	if (!dmaw_track_hiwater_enabled_addr)
		return true;
	bpf_probe_read_kernel(&on, sizeof(on), (const void *)dmaw_track_hiwater_enabled_addr);
	return on;
}

/* The default pool's areas: in defpool, or in io_tlb_mem itself (6.1). */
static __always_inline void pool_areas(const struct io_tlb_mem *mem, const void **areas,
				       __u32 *nareas)
{
	if (bpf_core_field_exists(struct io_tlb_mem, defpool)) {
		*areas = BPF_CORE_READ(mem, defpool.areas);
		*nareas = BPF_CORE_READ(mem, defpool.nareas);
	} else {
		const struct io_tlb_mem___v61 *m = (const void *)mem;

		*areas = BPF_CORE_READ(m, areas);
		*nareas = BPF_CORE_READ(m, nareas);
	}
}

struct area_sum {
	const void *areas;
	__u64 sum;
	int err;
};

/* Area i's used count. The stride is the running kernel's
 * sizeof(struct io_tlb_area), not vmlinux.h's: spinlock_t is larger on
 * lockdep kernels. */
static long area_sum_one(__u32 i, struct area_sum *c)
{
	unsigned long used = 0;
	const void *p = c->areas + (__u64)i * bpf_core_type_size(struct io_tlb_area) +
			bpf_core_field_offset(struct io_tlb_area, used);

	if (bpf_probe_read_kernel(&used, sizeof(used), p)) {
		c->err = -14; /* EFAULT */
		return 1;
	}
	c->sum += used;
	return 0;
}

/* Slots in use in a pool as the kernel counts them (what debugfs
 * io_tlb_used and "swiotlb buffer is full ... used N" print): total_used
 * where it is live, else the sum over the areas (each area updated under its
 * own lock, so racy by a mapping in flight). */
static __always_inline int pool_used(const struct io_tlb_mem *mem, __u64 *used)
{
	struct area_sum c = {};
	__u32 nareas = 0;

	if (pool_counters_live()) {
		*used = BPF_CORE_READ(mem, total_used.counter);
		return 0;
	}
	pool_areas(mem, &c.areas, &nareas);
	if (!c.areas)
		return -2; /* ENOENT */
	bpf_loop(nareas, area_sum_one, &c, 0);
	*used = c.sum;
	return c.err;
}

/*
 * struct io_tlb_pool (6.6+) as the pool family reads it, with
 * SWIOTLB_DYNAMIC's members, which the vmlinux.h kernel lacks. Only ever
 * reached through io_tlb_mem___dyn.defpool (pool_member()): a relocation
 * rooted at io_tlb_pool, a type 6.1 lacks, sends libbpf to look for it in
 * every module's BTF, which needs CAP_SYS_ADMIN, and the exporter's unit
 * has none; io_tlb_mem is in every kernel's BTF.
 */
struct io_tlb_pool___dyn {
	unsigned long nslabs;
	unsigned int nareas;
	struct io_tlb_area *areas;
	struct io_tlb_slot *slots;
	struct list_head node;
	struct callback_head rcu;
	bool transient;
} __attribute__((preserve_access_index));

struct io_tlb_mem___dyn {
	struct io_tlb_pool___dyn defpool;
	bool can_grow;
	struct list_head pools;
} __attribute__((preserve_access_index));

/* Offset and size of member m of a struct io_tlb_pool, through defpool. */
#define POOL_MEMBER_OFF(m)                                           \
	(bpf_core_field_offset(struct io_tlb_mem___dyn, defpool.m) - \
	 bpf_core_field_offset(struct io_tlb_mem___dyn, defpool))
#define POOL_MEMBER_SIZE(m) bpf_core_field_size(struct io_tlb_mem___dyn, defpool.m)

/* An unsigned member of a struct io_tlb_pool (or a pointer), by its size:
 * read whole, so that a big-endian kernel reads it right too. */
static __always_inline __u64 pool_read(const void *pool, __u32 off, __u32 size)
{
	union {
		__u8 u8;
		__u16 u16;
		__u32 u32;
		__u64 u64;
	} v = {};

	bpf_probe_read_kernel(&v, size > sizeof(v) ? sizeof(v) : size, pool + off);
	return size == 1 ? v.u8 : size == 2 ? v.u16 : size == 4 ? v.u32 : v.u64;
}
#define pool_member(pool, m) pool_read(pool, POOL_MEMBER_OFF(m), POOL_MEMBER_SIZE(m))

/* Does the allocator add pools when none has room (SWIOTLB_DYNAMIC, and
 * can_grow still set)? A mapping that finds no slot then gets a transient
 * pool and the worker adds one (swiotlb_find_slots()), so a request larger
 * than today's pool is no never-fit there. */
static __always_inline bool pool_can_grow(const struct io_tlb_mem *mem)
{
	const struct io_tlb_mem___dyn *m = (const void *)mem;

	if (!bpf_core_field_exists(struct io_tlb_mem___dyn, can_grow))
		return false;
	return BPF_CORE_READ(m, can_grow);
}

/* Slots in the device's pool and how many are in use; the default pool's
 * count goes into pool_peak. Returns whether the pool can grow. */
static __always_inline bool pool_usage(const struct device *dev, __u32 *total, __u32 *used)
{
	struct io_tlb_mem *mem = BPF_CORE_READ(dev, dma_io_tlb_mem);
	__u64 u = 0;

	*total = 0;
	*used = 0;
	if (!mem)
		return false;
	*total = BPF_CORE_READ(mem, nslabs);
	if (!pool_used(mem, &u)) {
		*used = u;
		/* A device's own (restricted) pool is not the default pool. */
		if ((__u64)mem == dmaw_io_tlb_default_mem_addr)
			pool_peak_keep(u);
	}
	return pool_can_grow(mem);
}

/*
 * The per-device stats of a family: a per-CPU hash keyed by the struct
 * device pointer (cheap to hash), whose value starts with the device and
 * driver names (struct dmaw_names), read from the kernel only when the
 * device is first seen; zero is the value's `static const` zero. A value
 * pointer, or NULL when the map is full.
 */
static __always_inline void *device_stats(void *map, const struct device *dev, const void *zero)
{
	__u64 key = (__u64)dev;
	struct dmaw_names *names = bpf_map_lookup_elem(map, &key);

	if (names)
		return names;
	names = lookup_or_try_init(map, &key, zero);
	if (names && !names->dev[0])
		read_names(dev, names);
	return names;
}

/*
 * The one sampling policy for events of repeating failures: of n
 * occurrences (1-based, counted per key: a device's counter, a request's
 * retries), the 1st, 2nd, 4th, 8th, ... become events. A starved pool or a
 * request requeued forever fails thousands of times a second; the counters
 * keep every one, the events a logarithmic sample that still shows how
 * long it went on. Rare one-off events (none so far) need no sampling.
 */
static __always_inline bool event_sampled(__u64 n)
{
	return n && !(n & (n - 1));
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *drops = bpf_map_lookup_elem(&event_drops, &zero);

	if (drops)
		(*drops)++;
}

/* A zeroed event with pid, comm and time filled in, or NULL (counted). */
static __always_inline struct dmaw_event *event_reserve(__u32 kind, __u32 source)
{
	struct dmaw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop();
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->source = source;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void proc_account(__u64 bytes)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct dmaw_proc_stats *ps, first = {};

	/* Not lookup_or_try_init(): the first value carries the comm. */
	ps = bpf_map_lookup_elem(&proc_stats, &pid);
	if (!ps) {
		bpf_get_current_comm(first.comm, sizeof(first.comm));
		bpf_map_update_elem(&proc_stats, &pid, &first, BPF_NOEXIST);
		ps = bpf_map_lookup_elem(&proc_stats, &pid);
		if (!ps)
			return;
	}
	ps->maps++;
	ps->bytes += bytes;
}

#endif
