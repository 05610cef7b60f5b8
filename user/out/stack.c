// SPDX-License-Identifier: GPL-2.0
/* Kernel stacks of events, symbolised, as trace and enforce print them. */
#include <stdio.h>

#include "engine/ksyms.h"
#include "out/stack.h"

int stack_depth(__s32 stack_len)
{
	int depth = stack_len > 0 ? stack_len / (int)sizeof(__u64) : 0;

	return depth > DMAW_STACK_DEPTH ? DMAW_STACK_DEPTH : depth;
}

void json_stack(struct json *j, const char *key, const struct ksyms *ks, const __u64 *stack,
		int depth)
{
	char sym[160];

	json_array_begin(j, key);
	for (int i = 0; i < depth; i++) {
		ksyms_format(ks, stack[i], sym, sizeof(sym));
		json_string(j, NULL, sym);
	}
	json_array_end(j);
}

void text_stack(FILE *out, const struct ksyms *ks, const __u64 *stack, int depth)
{
	char sym[160];

	for (int i = 0; i < depth; i++) {
		ksyms_format(ks, stack[i], sym, sizeof(sym));
		fprintf(out, "    %s\n", sym);
	}
}
