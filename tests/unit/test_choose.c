// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's choice of attach kind for a hook, from calibration's facts
 * alone (choose_func_kind(), choose_tp_kind()): what each kernel situation
 * the lab meets gets, and the note 'dmawatch probe' prints for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "engine/internal.h"

#define BOTH (HOOK_TRAMPOLINE | HOOK_KPROBES)

static enum attach_kind func(const struct func_probe *p, unsigned int progs, bool kprobes,
			     const char *label, char *note)
{
	return choose_func_kind(p, progs, kprobes, label, note, 112);
}

static void test_function_hooks(void **state)
{
	/* 6.12: in BTF and kallsyms, the trampoline taken on trust. */
	struct func_probe p = { .name = "swiotlb_map",
				.in_btf = true,
				.nargs = 5,
				.in_kallsyms = true,
				.fentry_ok = true };
	char note[112];

	(void)state;
	assert_int_equal(func(&p, BOTH, false, "swiotlb_map", note), ATTACH_FENTRY);
	assert_string_equal(note, "5 args");
	/* The hook's first name missing, its second found (6.6 renamed). */
	assert_int_equal(func(&p, BOTH, false, "swiotlb_tbl_unmap_single", note), ATTACH_FENTRY);
	assert_string_equal(note, "as swiotlb_map, 5 args");
	/* -K: the kprobe twins though fentry works. */
	assert_int_equal(func(&p, BOTH, true, "swiotlb_map", note), ATTACH_KPROBE);
	assert_string_equal(note, "fentry works; -K given");
	/* A hook with no kprobe twin and -K: nothing. */
	assert_int_equal(func(&p, HOOK_FEXIT, true, "swiotlb_map", note), ATTACH_NONE);
	assert_string_equal(note, "swiotlb_map not in this kernel");
	/* 6.1: 7 arguments, the trampoline refused (ENOTSUPP). */
	p.nargs = 7;
	p.fentry_ok = false;
	p.fentry_tried = true;
	p.fentry_err = 524;
	assert_int_equal(func(&p, BOTH, false, "swiotlb_tbl_map_single", note), ATTACH_KPROBE);
	assert_non_null(strstr(note, "fentry refused (7 args: "));
	/* Not in BTF, in kallsyms: kprobes. */
	p.in_btf = false;
	assert_int_equal(func(&p, BOTH, false, "swiotlb_map", note), ATTACH_KPROBE);
	assert_string_equal(note, "swiotlb_map not in BTF");
	/* In neither (inlined, or a module not loaded). */
	p.in_kallsyms = false;
	assert_int_equal(func(&p, BOTH, false, "swiotlb_map", note), ATTACH_NONE);
	assert_string_equal(note, "swiotlb_map not in this kernel");
}

static void test_tracepoint_hooks(void **state)
{
	struct tp_probe p = { .name = "dma/dma_map_page", .in_btf = true, .in_tracefs = true };
	char note[112];

	(void)state;
	/* Typed where BTF has btf_trace_<event> and the hook has tp_btf. */
	assert_int_equal(choose_tp_kind(&p, HOOK_TRACEPOINTS, note, sizeof(note)), ATTACH_TP_BTF);
	assert_string_equal(note, "typed (btf_trace_dma_map_page)");
	/* A raw_tp-only hook on a typed event: untyped arguments. */
	assert_int_equal(choose_tp_kind(&p, HOOK_RAW_TP, note, sizeof(note)), ATTACH_RAW_TP);
	assert_string_equal(note, "untyped: arguments as numbers");
	/* In tracefs only. */
	p.in_btf = false;
	assert_int_equal(choose_tp_kind(&p, HOOK_TRACEPOINTS, note, sizeof(note)), ATTACH_RAW_TP);
	assert_string_equal(note, "not in BTF");
	/* A tp_btf-only hook cannot take an event BTF does not type. */
	assert_int_equal(choose_tp_kind(&p, HOOK_TP_BTF, note, sizeof(note)), ATTACH_NONE);
	/* The event in neither (6.1 has no dma: events). */
	p.in_tracefs = false;
	assert_int_equal(choose_tp_kind(&p, HOOK_TRACEPOINTS, note, sizeof(note)), ATTACH_NONE);
	assert_string_equal(note, "dma/dma_map_page not in this kernel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_function_hooks),
		cmocka_unit_test(test_tracepoint_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
