/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmawatch diagnose: facts read from the machine or a bundle
 * (diag_collect.c), findings judged from the facts alone (diag_rules.c),
 * the command and its output (diagnose.c). The rules touch no file, so the
 * unit tests feed them facts collected from bundles written by hand.
 */
#ifndef DMAWATCH_DIAGNOSE_H
#define DMAWATCH_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"

/* 2 KiB slots (IO_TLB_SHIFT 11), at most 128 contiguous per mapping
 * (IO_TLB_SEGSIZE): swiotlb_max_mapping_size() without min_align_mask. */
#define DIAG_SLOT 2048ULL
#define DIAG_SEG_SLOTS 128ULL
#define DIAG_MAX_MAPPING (DIAG_SLOT * DIAG_SEG_SLOTS)

#define DIAG_MAX_DEVS 64
#define DIAG_MAX_TASKS 32
#define DIAG_MAX_FINDINGS 32
#define DIAG_MAX_EVIDENCE 8
#define DIAG_LINE 200

struct diag_env {
	char release[96];
	char cc[48];            /* "none", "SEV-SNP", "TDX", "SEV-SNP (paravisor)"... */
	char cc_evidence[DIAG_LINE]; /* the line or file that said so */
	bool cc_active;         /* memory encryption on: every DMA bounces */
	bool forced;            /* swiotlb=force */
	char swiotlb_arg[48];   /* the swiotlb= value, "" if none */
	char lockdown[24];      /* "none", "integrity", "confidentiality", "" unknown */
	bool btf;               /* /sys/kernel/btf/vmlinux */
};

struct diag_pool {
	bool have_total, have_used, have_hiwater, have_transient;
	uint64_t total, used, hiwater, transient; /* slots */
	uint64_t areas;
	uint64_t boot_mb;       /* "mapped [mem ...] (NMB)" */
	bool boot_shortfall;    /* "only able to allocate" / "No low mem" */
	char shortfall_lines[4][DIAG_LINE]; /* those lines */
	int nshortfall_lines;
	bool roundup;           /* "roundup to" / "adjusted to": areas grew it */
	char roundup_line[DIAG_LINE];
	char restricted[2][DIAG_LINE]; /* "created restricted DMA pool" lines */
	int nrestricted;
};

/* One "swiotlb buffer is full" line. */
struct diag_full {
	uint64_t size, total, used; /* bytes, slots, slots */
};

/* Why a mapping was refused, judged from its line alone. */
enum diag_full_kind {
	FULL_OVER_LIMIT, /* size > 128 slots: no pool can take it */
	FULL_NO_ROOM,    /* used + needed > total: the pool was full */
	FULL_FRAGMENTED, /* enough free slots, none contiguous enough */
	FULL_KINDS,
};

/* The lines of one kind for one device. */
struct diag_fulls {
	unsigned lines;
	struct diag_full max;    /* the largest size refused */
	struct diag_full last;
	char first_line[DIAG_LINE], last_line[DIAG_LINE];
};

struct diag_dev {
	char name[64];          /* dev_name() of the DMA device, as dmesg names it */
	char driver[32];
	char bus[16];
	char virtio[16];        /* the virtio device on it, "" if none */
	char virtio_driver[32];
	int access_platform;    /* VIRTIO_F_ACCESS_PLATFORM: 1, 0, -1 unknown */
	char disk[32];          /* block device on it, "" if none */
	uint64_t max_sectors_kb, max_hw_sectors_kb, max_segment_size, max_segments;
	uint64_t inflight;      /* requests in flight now (reads + writes) */
	int iommu_group;        /* -1: none */
	char reserved_regions[3][64]; /* the group's "0xSTART 0xEND TYPE" lines */
	int nreserved;
	/* The kernel log: */
	unsigned full_lines;
	struct diag_fulls full[FULL_KINDS];
	unsigned io_errors;
	char io_error_line[DIAG_LINE];
	bool must_provide_platform;  /* "device must provide VIRTIO_F_ACCESS_PLATFORM" */
	char platform_line[DIAG_LINE];
	/* The live window (BPF), if it ran: */
	uint64_t w_maps, w_unmaps, w_failures, w_over_limit, w_max_size;
	uint64_t w_never_fit;      /* submissions that failed for good */
	uint64_t w_never_fit_reqs; /* distinct requests among them */
	uint64_t w_never_fit_size;
	uint64_t w_over_limit_size;
	char w_never_fit_comm[16];
};

struct diag_task {
	int pid;
	char comm[16];
	char wchan[48];
};

struct diag_window {
	bool ran;
	double seconds;
	char why_not[DIAG_LINE];   /* why it did not run */
	uint64_t used_first, used_last, used_min, used_max, samples;
	uint64_t free_segments_min; /* 128-slot runs free, the fewest seen */
	uint64_t largest_free_run_min;
	bool rising;               /* used never fell from one sample to the next */
};

struct diag_facts {
	struct diag_env env;
	struct diag_pool pool;
	struct diag_dev devs[DIAG_MAX_DEVS];
	int ndevs;
	struct diag_task tasks[DIAG_MAX_TASKS];
	int ntasks;
	unsigned hung_task_lines;
	char hung_task_line[DIAG_LINE];
	char log_other[4][DIAG_LINE]; /* overflow, can-not-allocate, driver lines */
	int nlog_other;
	bool have_log;
	struct diag_window window;
};

enum diag_severity { DIAG_INFO, DIAG_WARNING, DIAG_ERROR };

struct diag_finding {
	const char *id;          /* stable: "pool-exhausted", "over-limit", ... */
	enum diag_severity severity;
	char title[DIAG_LINE];
	char evidence[DIAG_MAX_EVIDENCE][DIAG_LINE];
	int nevidence;
	char remedy[2 * DIAG_LINE];
	char device[64];         /* "" if about the machine */
};

struct diag_report {
	struct diag_finding f[DIAG_MAX_FINDINGS];
	int n;
};

/* Reads every source in order (environment, pool, devices, kernel log,
 * tasks, the saved window); records the ones it could not read in b. */
void diag_collect(struct bundle *b, struct diag_facts *facts);
/* Parses the kernel log's text into facts (a part of diag_collect()). */
void diag_parse_log(struct diag_facts *facts, const char *log);
/* The window's saved text into facts->window and the devices. */
void diag_parse_window(struct diag_facts *facts, const char *text);
/* Copies the line at p into buf, NUL-terminated and cut to fit; returns
 * the next line (the end of the text: ""). */
const char *diag_next_line(const char *p, char *buf, size_t len);
/* The device row of NAME, added if new (NULL when full). */
struct diag_dev *diag_dev(struct diag_facts *facts, const char *name);

/* True when nothing to judge was read: no kernel log, no pool figures,
 * no live window (diagnose exits 2). */
bool diag_unknown(const struct diag_facts *facts);
/* Judges the facts: findings, the most severe first. */
void diag_judge(const struct diag_facts *facts, struct diag_report *r);
const char *diag_severity_name(enum diag_severity s);

#endif
