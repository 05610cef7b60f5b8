/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text format (version 0.0.4) of a snapshot: what
 * `dmawatch export` writes for node_exporter's textfile collector and
 * serves on /metrics. Pure functions of their arguments: nothing here
 * touches BPF, files or clocks, so the unit tests render fabricated
 * snapshots and compare text.
 */
#ifndef DMAWATCH_PROM_H
#define DMAWATCH_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/engine.h"

#define PROM_MAX_FAMILIES ENGINE_MAX_FAMILIES

/* dmawatch's own state, rendered beside the snapshot. */
struct prom_health {
	bool up;             /* false only in the last file, written on SIGTERM */
	double collected_at; /* Unix time the snapshot was read */
	double started_at;   /* Unix time the exporter started */
	const char *version;
	size_t nfamilies;
	struct {
		const char *name;
		bool attached;
	} families[PROM_MAX_FAMILIES];
	const struct attach_note *notes; /* the engine's hook choices */
	size_t nnotes;
};

/* ---- writers for the families' pieces (struct family_view.prom) ------------
 * Conventions: see user/out/prom.c. */

#define PROM_LABELS_LEN 512 /* the largest label set, escaped */
#define PROM_MAX_ROWS (SNAP_MAX_DEVS > SNAP_MAX_VQS ? SNAP_MAX_DEVS : SNAP_MAX_VQS)

/* Rows of a snapshot with their label sets, built once; a row whose label
 * set another row has is left out: two samples with one label set would
 * make node_exporter reject the whole textfile directory. */
struct prom_rows {
	size_t n;
	size_t idx[PROM_MAX_ROWS]; /* into the snapshot's rows */
	char labels[PROM_MAX_ROWS][PROM_LABELS_LEN];
};

struct prom_out {
	FILE *f;
	const struct snapshot *s;
	const struct prom_rows *devs; /* s's device rows: device, driver */
};

/* Appends name="value" (value: at most max bytes, escaped) to labels. */
void prom_add_label(char *labels, size_t len, const char *name, const char *value, size_t max);
/* Adds row idx unless one with these labels is there. */
void prom_rows_add(struct prom_rows *r, size_t idx, const char *labels);
/* The HELP and TYPE lines of a metric family. */
void prom_family(struct prom_out *o, const char *name, const char *type, const char *help);
/* name{labels[,extra]} v; labels and extra may be NULL or "". */
void prom_sample(struct prom_out *o, const char *name, const char *labels, const char *extra,
		 unsigned long long v);
/* A double: 9 significant digits; a Unix time (timestamp) to the ms. */
void prom_sample_double(struct prom_out *o, const char *name, const char *labels, double v,
			bool timestamp);
/* A log2 histogram (DMAW_HIST_SLOTS) as cumulative buckets, le scaled by
 * scale (1e-9: ns to s), with _sum and _count. */
void prom_histogram(struct prom_out *o, const char *name, const char *labels, const __u64 *hist,
		    double scale, double sum);
/* A family with one sample per device row, or nothing without rows. */
typedef unsigned long long (*prom_dev_value_fn)(const struct dev_snapshot *d);
void prom_dev_metric(struct prom_out *o, const char *name, const char *type, const char *help,
		     prom_dev_value_fn get);
/* A counter per device row and direction (DMAW_DIRS - 1 values: DMA_NONE
 * never maps), or nothing without rows. */
typedef const __u64 *(*prom_dev_dirs_fn)(const struct dev_snapshot *d);
void prom_dev_dirs(struct prom_out *o, const char *name, const char *help, prom_dev_dirs_fn get);

/* Raises each of the size / 8 __u64s at dst to the one at src: for a
 * family's keep pieces, whose counters and running maxima (max_size,
 * limit) both only grow. */
void prom_max_u64s(void *dst, const void *src, size_t size);

/* Writes every metric family of s and h to out, each with HELP and TYPE,
 * and dmawatch_up always last: a reader that sees dmawatch_up has seen the
 * whole text. Families without a sample (no device yet, pool unreadable)
 * are left out entirely. Returns 0, or -EIO when out reported an error. */
int prom_render(FILE *out, const struct snapshot *s, const struct prom_health *h);

/* prom_render() into a new buffer (*text, *len; the caller frees it).
 * 0, or a negative errno with nothing allocated. */
int prom_render_text(const struct snapshot *s, const struct prom_health *h, char **text,
		     size_t *len);

/* Prometheus counters may only go down on a restart. The BPF maps are
 * cumulative, but a row can miss a read (an entry deleted between two
 * reads of the map, or a table past its DMAW_MAX_*, counted in rows_cut)
 * or come back lower (two struct devices with one name: the engine keeps
 * one). So the exporter renders cur raised to at least last, the snapshot
 * it rendered before: every counter is max(cur, last), and rows of last
 * that cur lacks are carried over while there is room. Gauges (the pool)
 * stay as read. */
void prom_keep_monotonic(struct snapshot *cur, const struct snapshot *last);
/* One series per name: a departed device's row (gone) is added into the
 * live row of its name, where there is one; alone, it stays as it is. So a
 * device removed and added again continues its series, never lower, and
 * the label sets stay unique. */
void prom_fold_departed(struct snapshot *s);

/* s (at most max bytes, NUL-terminated or not) as a label value: backslash,
 * double quote and newline escaped as the format requires; other bytes
 * outside printable ASCII become '?' (label values must be UTF-8, and
 * kernel names are ASCII). Truncates to fit len. Returns out. */
char *prom_label_value(char *out, size_t len, const char *s, size_t max);

/* The `le` of log2 histogram slot i. The BPF side counts a value v in slot
 * floor(log2(v)) (v = 0 in slot 0), so slot i holds the integers
 * 2^i .. 2^(i+1)-1: with le = 2^(i+1)-1 the cumulative count up to slot i
 * is exactly the count of values <= le. (le = 2^(i+1) would claim the
 * values equal to 2^(i+1), which sit in slot i+1.) The last slot also
 * holds everything larger, so it only feeds le="+Inf". */
unsigned long long prom_log2_le(int slot);

#endif
