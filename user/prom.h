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

#include "engine.h"

#define PROM_MAX_FAMILIES ENGINE_MAX_FAMILIES

/* dmawatch's own state, rendered beside the snapshot. */
struct prom_health {
	bool up;              /* false only in the last file, written on SIGTERM */
	double collected_at;  /* Unix time the snapshot was read */
	double started_at;    /* Unix time the exporter started */
	const char *version;
	size_t nfamilies;
	struct {
		const char *name;
		bool attached;
	} families[PROM_MAX_FAMILIES];
	const struct attach_note *notes; /* the engine's hook choices */
	size_t nnotes;
};

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
 * cumulative, but a row can miss a read (the snapshot's row limits) or
 * come back lower (two struct devices with one name: the engine keeps
 * one). So the exporter renders cur raised to at least last, the snapshot
 * it rendered before: every counter is max(cur, last), and rows of last
 * that cur lacks are carried over while there is room. Gauges (the pool)
 * stay as read. */
void prom_keep_monotonic(struct snapshot *cur, const struct snapshot *last);

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
