/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Feature calibration: what the running kernel offers, found at start and
 * consulted everywhere (never the version number). Functions are calibrated
 * on demand, once each, and only those some loaded family hooks: looked up
 * in BTF (vmlinux, then the module that may hold it) and in kallsyms.
 * fentry is taken on trust where BTF has the function (engine_start());
 * a trial load and attach decides it only for probe (trials) and after a
 * family failed to attach (calibrate_refused()), because BTF alone does
 * not say whether the trampoline can be built (6.1 x86 builds none for
 * more than 6 arguments). Where BTF has no such function, no trial is
 * made.
 */
#ifndef DMAWATCH_CALIBRATE_H
#define DMAWATCH_CALIBRATE_H

#include <stdbool.h>

struct ksyms;
struct btf;

enum attach_kind {
	ATTACH_NONE,
	ATTACH_FENTRY, /* fentry/fexit: cheapest, typed arguments */
	ATTACH_KPROBE, /* kprobe/kretprobe twin */
	ATTACH_TP_BTF, /* BTF-typed tracepoint */
	ATTACH_RAW_TP, /* raw tracepoint */
};

struct func_probe {
	const char *name;
	const char *module; /* BTF object that may hold it, NULL: vmlinux only */
	bool in_btf;
	int nargs;
	bool in_kallsyms;
	bool fentry_ok; /* tried, or assumed from BTF (fentry_tried) */
	bool fentry_tried;
	int fentry_err; /* errno of the trial, when it failed */
	int btf_id;     /* in vmlinux's BTF, or the module's (in_module) */
	bool in_module;
};

struct tp_probe {
	const char *name; /* "swiotlb/swiotlb_bounced" */
	bool in_btf;      /* btf_trace_<name> typedef: tp_btf attachable */
	bool in_tracefs;
};

#define CALIB_MAX_FUNCS 64
#define CALIB_MAX_TPS 16

struct features {
	bool btf; /* /sys/kernel/btf/vmlinux */
	bool debugfs_swiotlb;
	bool tracefs;
	/* 0, or the errno of loading a trivial tracing (kprobe) program: EPERM
	 * for a user without CAP_BPF and CAP_PERFMON (or where the kernel
	 * refuses tracing programs to everyone). Nothing attaches then. */
	int bpf_err;
	/* offsetof(struct pcpu_hot, preempt_count) from vmlinux BTF, or -1
	 * (family/common.bpf.h: dmaw_pcpu_hot_pc_off). */
	int pcpu_hot_pc_off;
	struct func_probe funcs[CALIB_MAX_FUNCS];
	int nfuncs;
	struct tp_probe tps[CALIB_MAX_TPS];
	int ntps;
	/* Trial-attach every function now (probe), or take fentry as
	 * working wherever BTF has the function and try it only when a real
	 * load or attach failed (calibrate_refused()): each trial patches
	 * kernel text, 0.2-0.3 s apiece under TCG. */
	bool trials;
	/* Between calibrate_begin() and calibrate_end(), read again after
	 * calibrate_rest() where needed (calibrate_vmlinux()). */
	struct btf *vmlinux;
	bool rested;
	const struct ksyms *ks;
	/* The last module whose BTF a hook needed: its name, BTF and the
	 * fd of its BTF object (-1: none). */
	const char *mod_name;
	struct btf *mod_btf;
	int mod_fd;
};

/* The global facts; keeps vmlinux BTF open for the lookups below. Returns
 * 0, or -errno when BTF could not be read. */
int calibrate_begin(struct features *f, const struct ksyms *ks, bool trials);
/* The function's probe, calibrated on first use (name and module must
 * outlive f); NULL only when the table is full. */
const struct func_probe *calibrate_func(struct features *f, const char *name, const char *module);
/* For a function whose fentry was assumed (no trials): tries it now,
 * also after calibrate_end(). true: fentry is refused there (fentry_ok is
 * now false, fentry_err says why). */
bool calibrate_refused(struct features *f, const char *name);
/* The tracepoint ("group/event"), looked up on first use. */
const struct tp_probe *calibrate_tp(struct features *f, const char *name);
/* Frees what calibrate_begin() opened; again is harmless. */
void calibrate_end(struct features *f);
/* Lets the BTF go (vmlinux's and a module's) while the families load,
 * keeping what was calibrated: libbpf parses its own vmlinux BTF for each
 * object it loads, and two copies at once were the peak of a start. */
void calibrate_rest(struct features *f);
/* vmlinux BTF, read again after calibrate_rest() (a family opened again
 * after a refusal); NULL when it cannot be read. */
const struct btf *calibrate_vmlinux(struct features *f);

/* Byte offset of struct sname's member mname in btf, looking into
 * anonymous members as C does (what bpf_core_field_offset() would find),
 * or -1 when there is no such struct or member. */
int btf_struct_member_offset(const struct btf *btf, const char *sname, const char *mname);

const char *attach_kind_name(enum attach_kind k);
/* strerror() that also names kernel-internal codes (524, ENOTSUPP). */
const char *kernel_strerror(int err);

#endif
