/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmatop's model of a frame, kept apart from the drawing in top_draw.c so
 * it can be checked without a terminal: one row per device (rates, counts,
 * share of the pool), sorted and filtered; the latest events; the
 * processes, ranked, with those that have exited left out.
 */
#ifndef DMAWATCH_TOPMODEL_H
#define DMAWATCH_TOPMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "engine/engine.h"

/* Sort columns in the order s cycles through them (S goes back). */
enum top_sort {
	TOP_SORT_BYTES, /* both directions: the default, biggest bouncer first */
	TOP_SORT_TO,
	TOP_SORT_FROM,
	TOP_SORT_MAPS,
	TOP_SORT_AVG,
	TOP_SORT_MAX,
	TOP_SORT_FAIL,
	TOP_SORT_OVER,
	TOP_SORT_NEVER,
	TOP_SORT_POOL,
	TOP_SORT_NAME,
	TOP_SORTS,
};

struct top_row {
	char name[DMAW_DEV_NAME_LEN];
	char driver[DMAW_DRV_NAME_LEN];
	const struct dev_snapshot *dev; /* NULL: seen only as a virtqueue's DMA device */
	double to_Bps, from_Bps;        /* bounced bytes per second, per direction */
	double maps_s, fail_s;
	double avg_size;  /* of this interval's mappings; 0: none */
	__u64 max_size;   /* largest mapping attempted since start */
	__u64 over_limit; /* mappings over swiotlb_max_mapping_size() */
	/* Requests that need more slots than the whole pool: the DMA API's
	 * scatterlists plus the virtqueues whose DMA device this is. */
	__u64 never_fit;
	/* Slots this device holds, in % of the pool: bytes mapped minus bytes
	 * unmapped since dmatop started, in 2 KiB slots. Mappings made before
	 * the start are not seen. < 0: the pool is unknown. */
	double pool_pct;
};

/* Rows of cur (rates against prev, which may be NULL) whose device or
 * driver contains filter (NULL or "": all), at most max; returns how many. */
size_t top_rows(const struct snapshot *prev, const struct snapshot *cur, const char *filter,
		struct top_row *rows, size_t max);
/* Does the device or driver name contain filter (any case)? NULL or "":
 * everything does. */
bool top_matches(const char *filter, const char *name, const char *driver);
void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key);
/* The column header a sort key orders by ("TO/s"; "TO+FROM" for bytes). */
const char *top_sort_name(enum top_sort key);
/* The index of the row named selected (a buffer of DMAW_DEV_NAME_LEN). When
 * no row has that name, row 0 is the selection and selected takes its name;
 * without rows, 0. It keeps the selection on the same device across sorting
 * and filtering. */
int top_find_selected(const struct top_row *rows, size_t n, char *selected);

/* Counts by enum dmaw_event_kind, which starts at 1 and has no count of its
 * own: the highest DMAW_EV_* + 1. */
#define TOP_EVENT_KINDS (DMAW_EV_VQ_FAILED + 1)
#define TOP_EVENT_RING 64

struct top_event {
	double wall;          /* seconds since the epoch */
	struct dmaw_event ev; /* stack left out */
};

/* The latest events, and every event counted by kind since start. */
struct top_events {
	struct top_event ring[TOP_EVENT_RING];
	__u64 n; /* events since start */
	__u64 by_kind[TOP_EVENT_KINDS];
};

/* Adds ev to the ring and counts it. mono and real are one reading of
 * CLOCK_MONOTONIC and CLOCK_REALTIME, taken when ev arrives: they turn its
 * time (CLOCK_MONOTONIC) into wall-clock time. */
void top_events_add(struct top_events *e, const struct dmaw_event *ev, const struct timespec *mono,
		    const struct timespec *real);
/* The first event still in the ring when upto events have come. */
__u64 top_events_oldest(__u64 upto);
/* Event i (counted from the start), one of the last TOP_EVENT_RING. */
const struct top_event *top_event(const struct top_events *e, __u64 i);

/* The processes of the interval shown, ranked by snapshot_rank_procs(). */
struct top_procs {
	struct proc_rank rank[SNAP_MAX_PROCS];
	double Bps[SNAP_MAX_PROCS];        /* bytes bounced per second in the interval */
	signed char shown[SNAP_MAX_PROCS]; /* -1: not asked yet (see top_proc_shown) */
	size_t n;
	__u32 dead[SNAP_MAX_PROCS]; /* pids seen exited, sorted */
	size_t ndead;
	/* Has the process exited? dmatop asks kill(2); tests answer themselves. */
	bool (*exited)(__u32 pid);
};

/* Ranks cur's processes (rates against prev, which may be NULL); asks
 * nothing yet of exited(). */
void top_procs_rank(struct top_procs *tp, const struct snapshot *prev, const struct snapshot *cur);
/* Is process i worth a line? Not when it bounced nothing in the interval
 * and has exited. */
bool top_proc_shown(struct top_procs *tp, size_t i);

#endif
