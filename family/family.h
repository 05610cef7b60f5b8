/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A probe family, as the engine sees it: family/NAME.bpf.c (its programs
 * and maps), family/NAME.h (the types both halves share) and
 * family/NAME.c, which defines `const struct family NAME_family` and is
 * listed once in family/families.h. The family declares its hooks; the
 * engine calibrates them, chooses fentry/fexit or the kprobe twins,
 * enables exactly the programs chosen (every alternative is declared off,
 * SEC("?...")), loads the family through its own skeleton, attaches, and
 * degrades: a family that cannot run is reported and left out, the others
 * run.
 *
 * What a family shows is its view (below): its part of stat, stat --json,
 * export, trace and dmatop's header. Four families are also the core of
 * the device and pool figures other parts read by name: swiotlb and
 * dmamap count per device (struct dev_snapshot's sw and api), virtqueue
 * per virtqueue (struct vq_snapshot), pool the pool (struct snapshot's
 * pool); dmatop's device table and diagnose's per-device figures read
 * those members directly. A new family keeps its figures in its own part
 * of the snapshot (SNAPSHOT_MINE) and shows them only through its view.
 */
#ifndef DMAWATCH_FAMILY_H
#define DMAWATCH_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/calibrate.h"
#include "engine/snapshot.h"

struct bpf_object;
struct canvas;
struct engine;
struct family_run;
struct json;
struct prom_out;
struct ksyms;

/* Where trace writes: text lines or JSON objects, stacks or not. */
struct trace_out {
	bool json, stack;
	struct json *j;
	const struct ksyms *ks;
};

/* Which programs a hook has, named PREFIX_fentry, PREFIX_fexit,
 * PREFIX_kprobe, PREFIX_kretprobe (a function's), PREFIX_tp_btf and
 * PREFIX_raw_tp (a tracepoint's) in the family's object. A hook chosen for
 * a mechanism whose programs are missing is an error, not a guess. */
enum hook_progs {
	HOOK_FENTRY = 1 << 0,
	HOOK_FEXIT = 1 << 1,
	HOOK_KPROBE = 1 << 2,
	HOOK_KRETPROBE = 1 << 3,
	HOOK_TP_BTF = 1 << 4,
	HOOK_RAW_TP = 1 << 5,
	HOOK_TRAMPOLINE = HOOK_FENTRY | HOOK_FEXIT,
	HOOK_KPROBES = HOOK_KPROBE | HOOK_KRETPROBE,
	HOOK_TRACEPOINTS = HOOK_TP_BTF | HOOK_RAW_TP,
};

struct hook {
	/* The function, by its names across kernels, first found wins
	 * (6.6 made swiotlb_tbl_unmap_single an inline wrapper of
	 * __swiotlb_tbl_unmap_single): one program, retargeted. */
	const char *funcs[3];
	/* Or a tracepoint, "group/event", by its names across kernels,
	 * first found wins (6.17 renamed dma:dma_map_page dma_map_phys):
	 * tp_btf where vmlinux BTF types it, else raw_tp where tracefs lists
	 * it; the program is attached to the name found. */
	const char *tracepoints[2];
	const char *module; /* BTF module that may hold it (virtio_ring) */
	const char *prog;   /* PREFIX of the programs */
	unsigned int progs; /* enum hook_progs */
	/* Programs enabled only with --detail, beside those of progs
	 * (swiotlb_map's fentry, which starts the clock). */
	unsigned int detail_progs;
	/* The whole hook only with --detail: one that runs on every mapping
	 * besides the one lean program the default puts there. */
	bool detail_only;
	bool required;     /* the family cannot run without it */
	const char *label; /* its name in notes; default: funcs[0] or the event */
};

/*
 * What a family shows of its figures, every piece optional. The outputs
 * call the pieces of every family in table order and name none of a
 * family's fields; a family that did not run shows what its zeroed
 * figures say (most pieces: nothing). prev may be NULL (no interval yet).
 */
struct family_view {
	/* stat --json: members of each device's object, after "device"
	 * and "driver"; and members of the interval's object. */
	void (*json_device)(struct json *j, const struct snapshot *prev, const struct snapshot *cur,
			    const struct dev_snapshot *d);
	void (*json)(struct json *j, const struct snapshot *prev, const struct snapshot *cur);
	/* stat: lines above the device table; its columns, each with a
	 * leading blank (d NULL: the column headers); lines below it. */
	void (*text_head)(FILE *out, const struct snapshot *prev, const struct snapshot *cur);
	void (*text_device)(FILE *out, const struct snapshot *prev, const struct snapshot *cur,
			    const struct dev_snapshot *d);
	void (*text_tail)(FILE *out, const struct snapshot *prev, const struct snapshot *cur);
	/* export: metric families, through out/prom.h's writers. */
	void (*prom)(struct prom_out *o);
	/* export: counters never go down (see prom_keep_monotonic()):
	 * raise the family's counters of cur's row of a device to last's
	 * row of it, and its other counters of cur to last's. */
	void (*keep_device)(struct dev_snapshot *cur, const struct dev_snapshot *last);
	/* The exporter: a departed device's counts into its live namesake's
	 * row, added as the family adds a device's CPUs. */
	void (*add_device)(struct dev_snapshot *into, const struct dev_snapshot *from);
	void (*keep)(struct snapshot *cur, const struct snapshot *last);
	/* The exporter: the family's own departed rows into their live
	 * namesakes (prom_fold_departed()). */
	void (*fold)(struct snapshot *s);
	/* trace: records of what happened between prev and cur that the
	 * ring buffer did not carry (enforce's decisions, made by another
	 * process). */
	void (*trace)(struct trace_out *t, const struct snapshot *prev, const struct snapshot *cur);
	/* dmatop: lines of the header, from row y; returns the next row. */
	int (*top)(struct canvas *c, int y, const struct snapshot *prev,
		   const struct snapshot *cur);
};

/* What every family's object gets in .rodata before load (the variables of
 * family/common.bpf.h): kernel variables by address, 0 where the kernel has
 * none, from the one read of kallsyms the engine makes; offsetof(struct
 * pcpu_hot, preempt_count), -1 without one; and --detail. */
struct family_rodata {
	__u64 per_cpu_offset_addr; /* __per_cpu_offset[] */
	__u64 preempt_count_addr;  /* per-CPU __preempt_count */
	__u64 pcpu_hot_addr;       /* per-CPU pcpu_hot */
	__u64 track_hiwater_enabled_addr;
	__u64 io_tlb_default_mem_addr;
	__s32 pcpu_hot_pc_off;
	__u32 nr_cpus; /* libbpf_num_possible_cpus() */
	bool detail;
};

struct family {
	const char *name;
	const char *summary; /* one line, for help */
	const struct hook *hooks;
	size_t nhooks;
	bool needs_a_hook; /* runs only if one of its hooks attaches */
	size_t state_size; /* the family's private state, zeroed */
	/* Opens the skeleton (kept in the state) and returns its object, or
	 * NULL with errno set and, where useful, a reason noted. Programs
	 * that are not hooks (a test-run program) are enabled here. NULL for
	 * a family that loads no BPF of its own and only reads (enforce):
	 * it has no hooks, and runs wherever the engine does. */
	struct bpf_object *(*open)(struct family_run *f);
	/* Optional: whether the family wants this hook on this kernel. */
	bool (*wants)(struct family_run *f, const struct hook *h);
	/* Sets the skeleton's .rodata (typed) and loads through it (its
	 * globals mapped): FAMILY_SKELETON() writes it. */
	int (*load)(struct family_run *f, const struct family_rodata *r);
	/* Adds the family's maps to a snapshot: to the device, virtqueue
	 * and process rows, or to its own part (SNAPSHOT_MINE). */
	int (*read)(struct family_run *f, struct snapshot *s);
	void (*destroy)(struct family_run *f);
	/* The object file the skeleton embeds (NAME_bpf__elf_bytes): what
	 * make unit opens, without privileges, to check each hook's program
	 * names against the object. */
	const void *(*elf_bytes)(size_t *sz);
	size_t snap_size; /* its own part of a snapshot: FAMILY_SNAPSHOT() */
	struct family_view view;
};

/* Every family, in the order of family/families.h (index: enum family_id). */
extern const struct family *const family_table[FAMILY_IDS];

/* .snap_size = FAMILY_SNAPSHOT(type): a family's own part of a snapshot,
 * refused at build time when it does not fit. */
#define FAMILY_SNAPSHOT(type)                                                      \
	(sizeof(type) + 0 * sizeof(struct {                                        \
				_Static_assert(sizeof(type) <= SNAP_FAMILY_BYTES,  \
					       #type ": raise SNAP_FAMILY_BYTES"); \
				int dummy;                                         \
			}))

/* A family at run time. */
struct family_run {
	const struct family *ops;
	struct engine *e;
	void *state;
	struct bpf_object *obj;
	bool running;  /* loaded and attached (without BPF of its own: read) */
	int open_err;  /* errno of a failed open(): 0, or why not */
	char why[192]; /* why not, when not */
};

/*
 * The skeleton plumbing of a family whose state starts with its skeleton
 * pointer and whose object includes family/common.bpf.h: NAME_skel_open
 * (returns the object), NAME_skel_load (sets the common .rodata through the
 * skeleton's typed fields, then loads through it, so its globals are
 * mapped), NAME_skel_destroy. FAMILY_SKELETON_OPS(name) fills those three
 * members of struct family, and elf_bytes.
 */
#define FAMILY_SKELETON(name)                                                                  \
	static struct bpf_object *name##_skel_open(struct family_run *f)                       \
	{                                                                                      \
		struct name##_bpf **skel = f->state;                                           \
                                                                                               \
		*skel = name##_bpf__open();                                                    \
		return *skel ? (*skel)->obj : NULL;                                            \
	}                                                                                      \
	static int name##_skel_load(struct family_run *f, const struct family_rodata *r)       \
	{                                                                                      \
		struct name##_bpf *skel = *(struct name##_bpf **)f->state;                     \
                                                                                               \
		skel->rodata->dmaw_per_cpu_offset_addr = r->per_cpu_offset_addr;               \
		skel->rodata->dmaw_preempt_count_addr = r->preempt_count_addr;                 \
		skel->rodata->dmaw_pcpu_hot_addr = r->pcpu_hot_addr;                           \
		skel->rodata->dmaw_track_hiwater_enabled_addr = r->track_hiwater_enabled_addr; \
		skel->rodata->dmaw_io_tlb_default_mem_addr = r->io_tlb_default_mem_addr;       \
		skel->rodata->dmaw_pcpu_hot_pc_off = r->pcpu_hot_pc_off;                       \
		skel->rodata->dmaw_detail = r->detail;                                         \
		skel->rodata->dmaw_nr_cpus = r->nr_cpus;                                       \
		return name##_bpf__load(skel);                                                 \
	}                                                                                      \
	static void name##_skel_destroy(struct family_run *f)                                  \
	{                                                                                      \
		name##_bpf__destroy(*(struct name##_bpf **)f->state);                          \
	}

#define FAMILY_SKELETON_OPS(name)                                                           \
	.open = name##_skel_open, .load = name##_skel_load, .destroy = name##_skel_destroy, \
	.elf_bytes = name##_bpf__elf_bytes

/* The first of a tracepoint hook's names this kernel has (in BTF or
 * tracefs), calibrated, else its first name's probe; NULL when the
 * calibration table is full. What the engine attaches to, for a family's
 * wants() to ask too. */
const struct tp_probe *fam_tracepoint(struct family_run *f, const struct hook *h);

/* Notes a choice about a hook for 'dmawatch probe' and export. */
void fam_note(struct family_run *f, const char *hook, enum attach_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
