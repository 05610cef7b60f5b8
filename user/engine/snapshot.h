/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One reading of every BPF table, the form report, prom and top consume.
 * A snapshot has room for every row the tables can hold (DMAW_MAX_*), so
 * no row is left out before sorting; device rows are merged by name from
 * the families that count per device. Only the rows in use and the
 * families' parts in use are ever written, cleared or copied
 * (snapshot_reset(), snapshot_copy()): the room a snapshot does not use
 * is never touched, so it costs address space, not memory or time. Pure
 * data and arithmetic: nothing here touches BPF, so the unit tests build
 * snapshots by hand.
 */
#ifndef DMAWATCH_SNAPSHOT_H
#define DMAWATCH_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "family/dmamap.h"
#include "family/dmawatch.h"
#include "family/pool.h"
#include "family/swiotlb.h"
#include "family/virtqueue.h"

/* Two families count per device (swiotlb, dmamap), each up to
 * DMAW_MAX_DEVS devices, not necessarily the same ones. */
#define SNAP_MAX_DEVS (2 * DMAW_MAX_DEVS)
#define SNAP_MAX_VQS DMAW_MAX_VQS
#define SNAP_MAX_PROCS DMAW_MAX_PROCS

/* Every family by the line it has in family/families.h: FAMILY_ID_swiotlb... */
enum family_id {
#define FAMILY(name) FAMILY_ID_##name,
#include "family/families.h"
#undef FAMILY
	FAMILY_IDS
};

/* Room for the figures a family keeps to itself (its struct family's
 * snap_size, checked at build time by FAMILY_SNAPSHOT()). */
#define SNAP_FAMILY_BYTES 8192

struct dev_snapshot {
	/* id.dev is unique per row among live rows, and among gone rows:
	 * dev_name(), or "unnamed-<hash>" for a device whose name could not
	 * be read (see snapshot_dev()). */
	struct dmaw_names id;
	struct dmaw_swiotlb_stats sw;
	struct dmaw_dmamap_stats api;
	/* Devices of this name removed while dmawatch ran (their struct
	 * device freed): a live row with more departures than the previous
	 * snapshot's row of its name is a new device, counted from 0. */
	__u32 departures;
	/* The row of every departed device of this name, summed: counts
	 * frozen, no rates. Its live namesake, if any, is a later device. */
	bool gone;
};

struct vq_snapshot {
	struct dmaw_vq_key key;
	struct dmaw_vq_stats st;
	/* Deleted queues of this key, summed (vring_del_virtqueue()): a live
	 * row of the same key is a later device's queue. */
	bool gone;
};

struct proc_snapshot {
	__u32 pid;
	struct dmaw_proc_stats st;
};

struct snapshot {
	double time_s;              /* CLOCK_MONOTONIC */
	size_t ndevs, nvqs, nprocs; /* rows in use of devs, vqs, procs */
	/* Rows that found no room. 0 unless a table outgrew its DMAW_MAX_*;
	 * reported, never silent. */
	__u64 rows_cut;
	struct dmaw_pool_stats pool;
	__u64 event_drops;
	/* Calls the kernel did not run a family's programs for, by family
	 * id: its recursion protection skips a program on a CPU where that
	 * program is already running (preempted, or interrupted by the same
	 * hook), and counts the skip (bpf_prog_info.recursion_misses). The
	 * family's counters are short by that many calls. */
	__u64 missed_runs[FAMILY_IDS];
	/* The families ran their per-mapping extras (--detail): releases,
	 * processes, DMA-API page calls, latency and sync copies. Without
	 * it those figures are left out, not zeros. */
	bool detail;
	/* Bytes in use of each family's part (mine): its snap_size, set by the
	 * engine before the family reads; 0 where it did not run. */
	size_t mine_size[FAMILY_IDS];

	/* The rows; those past ndevs, nvqs and nprocs hold anything. */
	struct dev_snapshot devs[SNAP_MAX_DEVS];
	struct vq_snapshot vqs[SNAP_MAX_VQS];
	struct proc_snapshot procs[SNAP_MAX_PROCS];
	/* The figures of families that keep their own, by family id: read and
	 * shown only by that family's code (SNAPSHOT_MINE). Room, not
	 * pointers, so that a copy stands alone. */
	_Alignas(8) unsigned char mine[FAMILY_IDS][SNAP_FAMILY_BYTES];
};

/*
 * The devices removed while dmawatch ran, one row per name (gone set, the
 * departed devices of that name summed), kept by the engine across
 * snapshots: a family adds each record its BPF side published when a
 * device was freed, and every snapshot gets these rows after the live ones
 * (snapshot_add_departed()).
 */
struct departed {
	struct dev_snapshot rows[DMAW_MAX_DEVS];
	/* Records each family gave for a row: its departures are the larger
	 * (both families see one device go). */
	__u32 records[DMAW_MAX_DEVS][2];
	size_t n;
	__u64 cut; /* records for names that found no row: counted, not kept */
};
enum departed_from { DEPARTED_SWIOTLB, DEPARTED_DMAMAP };

/* The row for names in d, its departures counted for family `from`; NULL,
 * counted in d->cut, when d is full. */
struct dev_snapshot *departed_row(struct departed *d, const struct dmaw_names *names,
				  enum departed_from from);
/* Appends d's rows to s (after the live rows, which must all be in) and
 * gives each live row its name's departures. */
void snapshot_add_departed(struct snapshot *s, const struct departed *d);

/* Empties s: no rows, no figures; touches only what s used. */
void snapshot_reset(struct snapshot *s);
/* Makes dst a copy of src, writing only what src uses. */
void snapshot_copy(struct snapshot *dst, const struct snapshot *src);
/* The bytes snapshot_copy() moves for s. */
size_t snapshot_used_bytes(const struct snapshot *s);

/* The part of snapshot s that family `name` keeps: a const void * when s
 * is const, a void * when not. */
#define SNAPSHOT_MINE(s, name) \
	_Generic((s), const struct snapshot *: (const void *)(s)->mine[FAMILY_ID_##name], \
		 default: (void *)(s)->mine[FAMILY_ID_##name])

/* enum dmaw_dir as every output names it ("bidirectional", "to_device",
 * "from_device", "none"). */
extern const char *const dmaw_dir_names[DMAW_DIRS];

/* The row of the device with these names, added (zeroed) if new; key is
 * the kernel's struct device pointer, which names a device whose dev_name
 * could not be read, so two such devices never share a row. NULL, counted
 * in rows_cut, when the snapshot is full. */
struct dev_snapshot *snapshot_dev(struct snapshot *s, const struct dmaw_names *names, __u64 key);
/* The live row (gone false) or the gone row of device `name`, or NULL. */
const struct dev_snapshot *snapshot_find_dev(const struct snapshot *s, const char *name, bool gone);
/* A new zeroed row, or NULL (counted in rows_cut). */
struct vq_snapshot *snapshot_vq(struct snapshot *s);
struct proc_snapshot *snapshot_proc(struct snapshot *s);

/* A process as snapshot_rank_procs() ranks it: its row, and the bytes it
 * had bounced at the previous snapshot. */
struct proc_rank {
	struct proc_snapshot p;
	__u64 bytes_before; /* 0 without a previous snapshot, or when it lacks the pid */
};

/* s's processes, largest first: by bytes bounced since prev (since start
 * without prev), then since start, ties by pid, so the list is stable
 * between refreshes. Writes the first max of all of s's rows to out;
 * returns how many. */
size_t snapshot_rank_procs(const struct snapshot *prev, const struct snapshot *s,
			   struct proc_rank *out, size_t max);
/* The max processes with the most bounced bytes since start, ranked as
 * above without a previous snapshot. Returns how many were written to out. */
size_t snapshot_top_procs(const struct snapshot *s, struct proc_snapshot *out, size_t max);

/*
 * Per-CPU values of the BPF device and virtqueue maps: struct dmaw_names,
 * then only __u64 counters. sum_percpu_u64() adds ncpus copies (stride:
 * size rounded up to 8, as the kernel lays them out) into out, taking the
 * names from the first CPU that has them (only the CPU that saw a device
 * first fills them in). add_u64_fields() adds src's counters into dst's.
 */
void sum_percpu_u64(void *out, const void *percpu, size_t size, int ncpus);
void add_u64_fields(void *dst, const void *src, size_t size);

#define ASSERT_NAMES_THEN_U64S(type)                                                       \
	_Static_assert(offsetof(type, names) == 0 && sizeof(struct dmaw_names) % 8 == 0 && \
			       (sizeof(type) - sizeof(struct dmaw_names)) % 8 == 0,        \
		       #type ": struct dmaw_names, then __u64s")

#endif
