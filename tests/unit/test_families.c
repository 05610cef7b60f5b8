// SPDX-License-Identifier: GPL-2.0
/*
 * The family contract, checked for every family of the table without a
 * kernel: each object the skeleton embeds opens (no privileges needed);
 * each hook names programs that exist in it, PREFIX_<suffix> for every
 * kind the hook declares (progs and detail_progs), declared off
 * (SEC("?...")) so that only the engine's choice loads; a hook declares a
 * function or a tracepoint, and programs of the kinds that attach to it.
 * A misnamed program fails here, not first in the lab.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "engine/internal.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* What one family breaks of the contract, one line per fault, into buf. */
static int check_family(const struct family *f, char *buf, size_t len)
{
	struct bpf_object *obj;
	const void *bytes;
	size_t size = 0, off = 0;
	int faults = 0;

#define FAULT(...)                                                          \
	do {                                                                \
		faults++;                                                   \
		if (off < len)                                              \
			off += snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)

	buf[0] = 0;
	if (!f->open) {
		/* A family with no BPF of its own declares no hooks. */
		if (f->nhooks || f->elf_bytes || f->load)
			FAULT("%s: no open() but hooks, an object or load()\n", f->name);
		return faults;
	}
	if (!f->elf_bytes || !f->load || !f->read || !f->destroy) {
		FAULT("%s: open() without elf_bytes, load, read or destroy\n", f->name);
		return faults;
	}
	bytes = f->elf_bytes(&size);
	obj = bpf_object__open_mem(bytes, size, NULL);
	if (!obj) {
		FAULT("%s: its object does not open (%d bytes)\n", f->name, (int)size);
		return faults;
	}
	for (size_t h = 0; h < f->nhooks; h++) {
		const struct hook *k = &f->hooks[h];
		unsigned int all = k->progs | k->detail_progs;
		unsigned int allowed = k->tracepoints[0] ? HOOK_TRACEPOINTS :
							   HOOK_TRAMPOLINE | HOOK_KPROBES;

		if (!k->prog || !all)
			FAULT("%s: hook %zu (%s) names no programs\n", f->name, h, hook_label(k));
		if (!k->funcs[0] == !k->tracepoints[0])
			FAULT("%s: hook %zu needs a function or a tracepoint, not %s\n", f->name, h,
			      k->funcs[0] ? "both" : "neither");
		if (all & ~allowed)
			FAULT("%s: hook %s declares programs of a kind that cannot attach to it\n",
			      f->name, hook_label(k));
		for (int bit = 0; bit < HOOK_PROG_BITS && k->prog; bit++) {
			struct bpf_program *p;

			if (!(all & (1u << bit)))
				continue;
			p = hook_prog(obj, k, bit);
			if (!p)
				FAULT("%s: hook %s: no program %s_%s in family/%s.bpf.c\n", f->name,
				      hook_label(k), k->prog, hook_prog_suffix[bit], f->name);
			else if (bpf_program__autoload(p))
				FAULT("%s: %s loads whatever the engine chooses: declare it "
				      "SEC(\"?...\")\n",
				      f->name, bpf_program__name(p));
		}
	}
	bpf_object__close(obj);
	return faults;
#undef FAULT
}

static void test_every_family_keeps_the_contract(void **state)
{
	char faults[2048];
	int checked = 0, hooks = 0;

	(void)state;
	libbpf_set_print(quiet);
	for (size_t i = 0; i < FAMILY_IDS; i++) {
		const struct family *f = family_table[i];

		if (check_family(f, faults, sizeof(faults)))
			fail_msg("%s", faults);
		checked += f->open != NULL;
		hooks += f->nhooks;
	}
	/* The reference: the table has families with objects and hooks to
	 * check, so a pass means something. */
	assert_true(checked >= 5);
	assert_true(hooks >= 10);
}

/* The check itself finds a misnamed program, a program left on, and a
 * hook with a kind its attach point cannot take. */
static void test_the_check_finds_faults(void **state)
{
	const struct family *sw = family_table[FAMILY_ID_swiotlb];
	const struct hook *fn = NULL;
	struct hook bad[3];
	struct family f = *sw;
	char faults[2048];

	(void)state;
	for (size_t h = 0; h < sw->nhooks && !fn; h++)
		if (sw->hooks[h].funcs[0])
			fn = &sw->hooks[h];
	assert_non_null(fn);
	bad[0] = *fn;
	bad[0].prog = "swiotlb_mapp"; /* no such programs */
	bad[1] = *fn;
	bad[1].progs |= HOOK_RAW_TP; /* a function hook with a tracepoint program */
	bad[2] = *fn;
	bad[2].funcs[0] = NULL; /* neither a function nor a tracepoint */
	bad[2].label = "bad";
	f.hooks = bad;
	f.nhooks = 3;
	assert_true(check_family(&f, faults, sizeof(faults)) >= 3);
	assert_non_null(strstr(faults, "no program swiotlb_mapp_"));
	assert_non_null(strstr(faults, "cannot attach to it"));
	assert_non_null(strstr(faults, "needs a function or a tracepoint"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_family_keeps_the_contract),
		cmocka_unit_test(test_the_check_finds_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
