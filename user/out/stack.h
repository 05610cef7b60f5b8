/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel stacks of events, symbolised, as trace and enforce print them. */
#ifndef DMAWATCH_STACK_H
#define DMAWATCH_STACK_H

#include <stdio.h>

#include "family/dmawatch.h"
#include "out/json.h"

struct ksyms;

/* Frames in a BPF stack of stack_len bytes (bpf_get_stack()'s result, a
 * negative errno counting none), at most DMAW_STACK_DEPTH. */
int stack_depth(__s32 stack_len);
/* The first depth frames, symbolised: a JSON array under key, or a line
 * each, indented. */
void json_stack(struct json *j, const char *key, const struct ksyms *ks, const __u64 *stack,
		int depth);
void text_stack(FILE *out, const struct ksyms *ks, const __u64 *stack, int depth);

#endif
