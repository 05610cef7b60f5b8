// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing programs: for each hook a family declares, the attach kind this
 * kernel allows (fentry/fexit, the kprobe twins, tp_btf, raw_tp), decided
 * from calibration alone (choose_func_kind(), choose_tp_kind()), then the
 * chosen programs enabled and pointed at the name this kernel has.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine/internal.h"
#include "util.h"

const char *const hook_prog_suffix[HOOK_PROG_BITS] = { "fentry",    "fexit",  "kprobe",
						       "kretprobe", "tp_btf", "raw_tp" };

const char *hook_label(const struct hook *h)
{
	return h->label ? h->label : h->funcs[0] ? h->funcs[0] : h->tracepoints[0];
}

unsigned int kind_progs(enum attach_kind k)
{
	switch (k) {
	case ATTACH_FENTRY: return HOOK_TRAMPOLINE;
	case ATTACH_KPROBE: return HOOK_KPROBES;
	case ATTACH_TP_BTF: return HOOK_TP_BTF;
	case ATTACH_RAW_TP: return HOOK_RAW_TP;
	default: return 0;
	}
}

unsigned int hook_progs(const struct engine_opts *o, const struct hook *h)
{
	return h->progs | (o->detail ? h->detail_progs : 0);
}

struct bpf_program *hook_prog(const struct bpf_object *obj, const struct hook *h, int bit)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_%s", h->prog, hook_prog_suffix[bit]);
	return bpf_object__find_program_by_name(obj, name);
}

/* The first of the hook's names this kernel has, calibrated. */
static const struct func_probe *resolve(struct engine *e, const struct hook *h)
{
	const struct func_probe *first = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(h->funcs) && h->funcs[i]; i++) {
		const struct func_probe *p = calibrate_func(&e->feat, h->funcs[i], h->module);

		if (!first)
			first = p;
		if (p && (p->in_btf || p->in_kallsyms))
			return p;
	}
	return first;
}

const struct tp_probe *fam_tracepoint(struct family_run *f, const struct hook *h)
{
	const struct tp_probe *first = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(h->tracepoints) && h->tracepoints[i]; i++) {
		const struct tp_probe *p = calibrate_tp(&f->e->feat, h->tracepoints[i]);

		if (!first)
			first = p;
		if (p && (p->in_btf || p->in_tracefs))
			return p;
	}
	return first;
}

enum attach_kind choose_func_kind(const struct func_probe *p, unsigned int progs, bool kprobes,
				  const char *label, char *note, size_t len)
{
	if (p->fentry_ok && !kprobes && (progs & HOOK_TRAMPOLINE)) {
		if (strcmp(label, p->name))
			snprintf(note, len, "as %s, %d args", p->name, p->nargs);
		else
			snprintf(note, len, "%d args", p->nargs);
		return ATTACH_FENTRY;
	}
	if (p->in_kallsyms && (progs & HOOK_KPROBES)) {
		if (p->fentry_ok)
			snprintf(note, len, "fentry works; -K given");
		else if (p->in_btf)
			snprintf(note, len, "fentry refused (%d args: %s)", p->nargs,
				 kernel_strerror(p->fentry_err));
		else
			snprintf(note, len, "%s not in BTF", p->name);
		return ATTACH_KPROBE;
	}
	snprintf(note, len, "%s not in this kernel", p->name);
	return ATTACH_NONE;
}

enum attach_kind choose_tp_kind(const struct tp_probe *p, unsigned int progs, char *note,
				size_t len)
{
	const char *event = strchr(p->name, '/');

	event = event ? event + 1 : p->name;
	if (p->in_btf && (progs & HOOK_TP_BTF)) {
		snprintf(note, len, "typed (btf_trace_%s)", event);
		return ATTACH_TP_BTF;
	}
	if ((p->in_btf || p->in_tracefs) && (progs & HOOK_RAW_TP)) {
		snprintf(note, len, "%s",
			 !p->in_btf ? "not in BTF" : "untyped: arguments as numbers");
		return ATTACH_RAW_TP;
	}
	snprintf(note, len, "%s not in this kernel", p->name);
	return ATTACH_NONE;
}

/* Whether prog's section ("?fentry/NAME", "tp_btf/NAME") already names
 * target. */
static bool section_targets(const struct bpf_program *prog, const char *target)
{
	const char *sec = bpf_program__section_name(prog);
	const char *name = sec ? strrchr(sec, '/') : NULL;

	return name && !strcmp(name + 1, target);
}

/* Enables the programs of kind for hook h, pointed at target where the
 * kind takes one. 0, or -1 with f->why set. */
static int enable(struct family_run *f, const struct hook *h, enum attach_kind kind,
		  const char *target)
{
	unsigned int want = hook_progs(&f->e->opts, h) & kind_progs(kind);

	for (int bit = 0; bit < HOOK_PROG_BITS; bit++) {
		struct bpf_program *prog;

		if (!(want & (1u << bit)))
			continue;
		prog = hook_prog(f->obj, h, bit);
		if (!prog) {
			snprintf(f->why, sizeof(f->why), "internal: no program %s_%s for %s",
				 h->prog, hook_prog_suffix[bit], target);
			return -1;
		}
		bpf_program__set_autoload(prog, true);
		/* One program per hook, pointed at the name this kernel has,
		 * where its section names another: libbpf parses vmlinux BTF
		 * for a retarget and keeps it until the object loads, one
		 * copy per object (5 MiB each, 20 MiB of dmawatch's start when
		 * every program was retargeted). */
		if ((kind == ATTACH_FENTRY || kind == ATTACH_TP_BTF) &&
		    !section_targets(prog, target) &&
		    bpf_program__set_attach_target(prog, 0, target)) {
			snprintf(f->why, sizeof(f->why), "cannot target %s at %s: %s",
				 bpf_program__name(prog), target, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int choose_hook(struct family_run *f, size_t i)
{
	struct engine *e = f->e;
	size_t fi = f - e->runs;
	const struct hook *h = &f->ops->hooks[i];
	unsigned int progs = hook_progs(&e->opts, h);
	const char *label, *target;
	enum attach_kind kind;
	char note[sizeof(e->notes[0].detail)];

	if (h->tracepoints[0]) {
		const struct tp_probe *p = fam_tracepoint(f, h);

		if (!p) {
			fam_note(f, hook_label(h), ATTACH_NONE,
				 "not calibrated (too many tracepoints)");
			return ATTACH_NONE;
		}
		if (e->feat.bpf_err)
			return ATTACH_NONE;
		label = h->label ? h->label : p->name;
		target = strchr(p->name, '/');
		target = target ? target + 1 : p->name;
		kind = choose_tp_kind(p, progs, note, sizeof(note));
	} else {
		const struct func_probe *p = resolve(e, h);

		label = hook_label(h);
		if (!p) {
			fam_note(f, label, ATTACH_NONE, "not calibrated (too many functions)");
			return ATTACH_NONE;
		}
		/* fam_open() says why for the whole family. */
		if (e->feat.bpf_err)
			return ATTACH_NONE;
		target = p->name;
		kind = choose_func_kind(p, progs, e->opts.kprobes, label, note, sizeof(note));
		/* A program on a module's function through a trampoline
		 * holds a reference to the module while it lives (the lab
		 * sees virtio_ring's refcnt rise on 6.1); a kprobe holds
		 * none, and is gone with the module. */
		if (p->in_module && h->module && (kind == ATTACH_FENTRY || kind == ATTACH_KPROBE)) {
			size_t n = strlen(note);

			snprintf(note + n, sizeof(note) - n,
				 kind == ATTACH_FENTRY ?
					 "%sholds module %s: rmmod %s fails while dmawatch runs" :
					 "%sin module %s: after rmmod %s, restart dmawatch",
				 n ? "; " : "", h->module, h->module);
		}
	}
	fam_note(f, label, kind, "%s", note);
	if (enable(f, h, kind, target))
		return -1;
	e->hooks[fi].kind[i] = kind;
	e->hooks[fi].target[i] = target;
	return kind;
}
