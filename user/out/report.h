/* SPDX-License-Identifier: GPL-2.0 */
/* Snapshot output shared by stat and top's batch mode: the JSON object of
 * one interval and the text tables, each made of the families' pieces
 * (struct family_view), and the helpers those pieces share. */
#ifndef DMAWATCH_REPORT_H
#define DMAWATCH_REPORT_H

#include <stdio.h>

#include "engine/engine.h"
#include "out/json.h"

/* Names of enum dmaw_event_kind and enum dmaw_source, as trace and top print them. */
const char *event_kind_name(__u32 kind);
const char *event_source_name(__u32 source);

/* Human sizes: "512", "4.0K", "256K", "1.5M". */
void fmt_bytes(char *buf, size_t len, double bytes);
/* Sizes in at most 4 characters ("999", "1.5K", "256K", "12M"): dmatop's
 * columns are sized for them. */
void fmt_bytes4(char *buf, size_t len, double v);
/* Seconds from prev to cur; 0 without prev (the first report). */
double report_interval(const struct snapshot *prev, const struct snapshot *cur);
/* Per second over dt; 0 without an interval or when the counter went back. */
double report_rate(__u64 now, __u64 before, double dt);
/* JSON: a log2 histogram up to its last non-zero slot; one counter per
 * direction but DMA_NONE (which never maps). */
void json_hist(struct json *j, const char *key, const __u64 *hist);
void json_dirs(struct json *j, const char *key, const __u64 *v);

struct ksyms;
/* Frames in a BPF stack of stack_len bytes (bpf_get_stack()'s result, a
 * negative errno counting none), at most DMAW_STACK_DEPTH. */
int stack_depth(__s32 stack_len);
/* The first depth frames, symbolised: a JSON array under key, or a line
 * each, indented. */
void json_stack(struct json *j, const char *key, const struct ksyms *ks, const __u64 *stack,
		int depth);
void text_stack(FILE *out, const struct ksyms *ks, const __u64 *stack, int depth);

void report_json(struct json *j, const struct snapshot *prev, const struct snapshot *cur);
void report_text(FILE *out, const struct snapshot *prev, const struct snapshot *cur);

#endif
