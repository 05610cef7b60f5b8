/* SPDX-License-Identifier: GPL-2.0 */
/* Snapshot output shared by stat, top's batch mode and export: the JSON
 * object of one interval, the text tables, and the per-device arithmetic
 * (deltas, rates, sorting) behind both. */
#ifndef DMAWATCH_REPORT_H
#define DMAWATCH_REPORT_H

#include <stdio.h>

#include "engine.h"
#include "json.h"

struct dev_rates {
	const struct dev_snapshot *dev;
	double maps_s;        /* bounced mappings per second */
	double to_dev_Bps;    /* bytes bounced toward the device per second */
	double from_dev_Bps;
	double fail_s;
	double avg_size;      /* bytes per mapping in the interval */
};

/* Names of enum dmaw_event_kind and enum dmaw_source, as trace and top print them. */
const char *event_kind_name(__u32 kind);
const char *event_source_name(__u32 source);

/* Totals of a device over all directions. */
__u64 dev_maps(const struct dev_snapshot *d);
__u64 dev_bytes(const struct dev_snapshot *d);
/* Rates of cur against prev (prev NULL: zero rates) over dt seconds. */
void dev_rates(struct dev_rates *r, const struct snapshot *prev,
	       const struct dev_snapshot *cur, double dt);
/* Human sizes: "512", "4.0K", "256K", "1.5M". */
void fmt_bytes(char *buf, size_t len, double bytes);

void report_json(struct json *j, const struct snapshot *prev, const struct snapshot *cur);
void report_text(FILE *out, const struct snapshot *prev, const struct snapshot *cur);

#endif
