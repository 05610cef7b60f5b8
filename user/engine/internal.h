/* SPDX-License-Identifier: GPL-2.0 */
/* Between the engine's own files (engine.c, choose.c, explain.c, read.c):
 * not for families or commands, which see engine/engine.h. */
#ifndef DMAWATCH_ENGINE_INTERNAL_H
#define DMAWATCH_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

struct bpf_object;
struct bpf_program;

/* The suffix of a hook's program names, by bit of enum hook_progs
 * (PREFIX_fentry, PREFIX_fexit, ...). */
#define HOOK_PROG_BITS 6
extern const char *const hook_prog_suffix[HOOK_PROG_BITS];

/* What a hook is called in notes and messages. */
const char *hook_label(const struct hook *h);
/* The programs an attach kind runs of a hook (enum hook_progs bits). */
unsigned int kind_progs(enum attach_kind k);
/* The programs hook h has on this run: --detail adds its detail_progs. */
unsigned int hook_progs(const struct engine_opts *o, const struct hook *h);
/* The program PREFIX_<suffix of bit> of hook h in obj, or NULL. */
struct bpf_program *hook_prog(const struct bpf_object *obj, const struct hook *h, int bit);

/*
 * The choice for one hook, without libbpf: which kind a function hook
 * takes given what calibration found (p), the programs it has (progs) and
 * -K (kprobes); which kind a tracepoint hook takes given its probe. The
 * note's text goes to note (what 'dmawatch probe' prints beside it).
 */
enum attach_kind choose_func_kind(const struct func_probe *p, unsigned int progs, bool kprobes,
				  const char *label, char *note, size_t len);
enum attach_kind choose_tp_kind(const struct tp_probe *p, unsigned int progs, char *note,
				size_t len);
/* Chooses hook i of family f and enables its programs: the kind, or -1
 * with f->why set. */
int choose_hook(struct family_run *f, size_t i);

/* The family is out: f->why says why, noted once for probe. */
void fam_out(struct family_run *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A family's load or attach failed with err: f->why names cause and fix. */
void fam_failed(struct family_run *f, const char *what, int err);
/* One line for a process that may load no tracing program at all; returns
 * the negative errno. */
int explain_bpf_refused(const struct engine *e);
/* Kernel lockdown in confidentiality mode forbids every probe. */
bool lockdown_confidential(void);
/* One line for a kernel BTF that cannot be read (err: negative errno). */
void explain_btf_unreadable(int err);

#endif
