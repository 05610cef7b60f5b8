/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Feature calibration: what the running kernel offers, found once at start
 * and consulted everywhere (never the version number). Each attach point is
 * looked up in BTF (vmlinux or a module), in kallsyms, and, for fentry, by a
 * trial load and attach, because BTF alone does not say whether the
 * trampoline can be built (6.1 x86 builds none for more than 6 arguments).
 */
#ifndef DMAWATCH_CALIBRATE_H
#define DMAWATCH_CALIBRATE_H

#include <stdbool.h>

struct ksyms;

enum attach_kind {
	ATTACH_NONE,
	ATTACH_FENTRY,   /* fentry/fexit: cheapest, typed arguments */
	ATTACH_KPROBE,   /* kprobe/kretprobe twin */
	ATTACH_TP_BTF,   /* BTF-typed tracepoint */
	ATTACH_RAW_TP,   /* raw tracepoint */
};

struct func_probe {
	const char *name;
	const char *module; /* BTF object that holds it, NULL: vmlinux */
	bool in_btf;
	int nargs;
	bool in_kallsyms;
	bool fentry_ok;
	int fentry_err; /* errno of the trial, when it failed */
	enum attach_kind chosen;
};

struct tp_probe {
	const char *name; /* "swiotlb_bounced" */
	bool in_btf;      /* btf_trace_<name> typedef: tp_btf attachable */
	bool in_tracefs;
	enum attach_kind chosen;
};

enum func_id {
	FN_SWIOTLB_MAP,
	FN_SWIOTLB_TBL_MAP_SINGLE,
	FN_SWIOTLB_TBL_UNMAP_SINGLE,
	FN___SWIOTLB_TBL_UNMAP_SINGLE,
	FN_SWIOTLB_RELEASE_SLOTS,
	FN_SWIOTLB_SYNC_FOR_DEVICE,
	FN_SWIOTLB_SYNC_FOR_CPU,
	FN___SWIOTLB_SYNC_FOR_DEVICE,
	FN___SWIOTLB_SYNC_FOR_CPU,
	FN_DMA_MAP_PAGE_ATTRS,
	FN_DMA_UNMAP_PAGE_ATTRS,
	FN_DMA_MAP_SG_ATTRS,
	FN___DMA_MAP_SG_ATTRS,
	FN_DMA_MAP_SGTABLE,
	FN_VIRTQUEUE_ADD_SGS,
	FN_VIRTQUEUE_ADD_OUTBUF,
	FN_VIRTQUEUE_ADD_INBUF,
	FN_COUNT
};

enum tp_id {
	TP_SWIOTLB_BOUNCED,
	TP_DMA_MAP_PAGE,
	TP_DMA_MAP_SG,
	TP_DMA_MAP_PHYS,
	TP_COUNT
};

struct features {
	bool btf;           /* /sys/kernel/btf/vmlinux */
	bool debugfs_swiotlb;
	bool tracefs;
	bool bpf_allowed;   /* could load a trivial program at all */
	int bpf_err;
	struct func_probe funcs[FN_COUNT];
	struct tp_probe tps[TP_COUNT];
};

/* Fills *f. Returns 0, or -errno when even BTF could not be read. */
int calibrate(struct features *f, const struct ksyms *ks);
const char *attach_kind_name(enum attach_kind k);
/* strerror() that also names kernel-internal codes (524, ENOTSUPP). */
const char *kernel_strerror(int err);

#endif
