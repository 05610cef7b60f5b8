/* SPDX-License-Identifier: GPL-2.0 */
/* stat's output, also dmatop's batch mode: the JSON object of one interval
 * and the text tables, each made of the families' pieces (struct
 * family_view), and the helpers those pieces share (rates, histograms). */
#ifndef DMAWATCH_REPORT_H
#define DMAWATCH_REPORT_H

#include <stdio.h>

#include "engine/engine.h"
#include "out/json.h"

/* Seconds from prev to cur; 0 without prev (the first report). */
double report_interval(const struct snapshot *prev, const struct snapshot *cur);
/* Per second over dt; 0 without an interval or when the counter went back. */
double report_rate(__u64 now, __u64 before, double dt);
/* JSON: a log2 histogram up to its last non-zero slot; one counter per
 * direction but DMA_NONE (which never maps). */
void json_hist(struct json *j, const char *key, const __u64 *hist);
void json_dirs(struct json *j, const char *key, const __u64 *v);

void report_json(struct json *j, const struct snapshot *prev, const struct snapshot *cur);
void report_text(FILE *out, const struct snapshot *prev, const struct snapshot *cur);

#endif
