/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmawatch diagnose: facts read from the machine or a bundle
 * (diag_collect.c), the kernel log as people paste it (diag_log.c, its
 * refusals diag_log_refusal.c, its other lines diag_log_match.c), findings
 * judged from the facts alone (diag_rules.c, diag_rules_log.c; built by
 * diag_finding.c, sized by diag_remedy.c), the command and its output
 * (diagnose.c). The rules touch no file, so the unit tests feed them facts
 * collected from bundles written by hand.
 */
#ifndef DMAWATCH_DIAGNOSE_H
#define DMAWATCH_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose/bundle.h"

/* 2 KiB slots (IO_TLB_SHIFT 11), at most 128 contiguous per mapping
 * (IO_TLB_SEGSIZE): swiotlb_max_mapping_size() without min_align_mask. */
#define DIAG_SLOT 2048ULL
#define DIAG_SEG_SLOTS 128ULL
#define DIAG_MAX_MAPPING (DIAG_SLOT * DIAG_SEG_SLOTS)
/* The largest pool a remedy asks for: 1 GiB, the clamp x86 puts on a
 * confidential guest's default (sev_setup_arch(), tdx_early_init()), and
 * what memblock_alloc_low() can still find below 4 GiB beside the PCI hole. */
#define DIAG_POOL_CAP ((1ULL << 30) / DIAG_SLOT)

/* Slots a mapping of BYTES takes. */
static inline uint64_t diag_slots(uint64_t bytes)
{
	return bytes / DIAG_SLOT + (bytes % DIAG_SLOT != 0);
}

#define DIAG_MAX_DEVS 64
#define DIAG_MAX_TASKS 32
#define DIAG_MAX_FINDINGS 32
#define DIAG_MAX_EVIDENCE 8
#define DIAG_LINE 200

struct diag_env {
	char release[96];
	char cc[48];                 /* "none", "SEV-SNP", "TDX", "SEV-SNP (paravisor)"... */
	char cc_evidence[DIAG_LINE]; /* the line or file that said so */
	bool cc_active;              /* memory encryption on: every DMA bounces */
	bool forced;                 /* swiotlb=force */
	char swiotlb_arg[48];        /* the swiotlb= value, "" if none */
	bool noforce;                /* swiotlb=noforce: no pool was wanted */
	char lockdown[24];           /* "none", "integrity", "confidentiality", "" unknown */
	bool btf;                    /* /sys/kernel/btf/vmlinux */
};

struct diag_pool {
	bool have_total, have_used, have_hiwater, have_transient;
	uint64_t total, used, hiwater, transient; /* slots */
	uint64_t areas;
	uint64_t boot_mb;                   /* "mapped [mem ...] (NMB)" */
	bool boot_shortfall;                /* "only able to allocate" / "No low mem" */
	char shortfall_lines[4][DIAG_LINE]; /* those lines */
	int nshortfall_lines;
	bool roundup; /* "roundup to": made a power of two, 128 slots an area */
	char roundup_line[DIAG_LINE];
	uint64_t boot_slots;           /* "adjusted A -> B slabs": B, exact */
	uint64_t sized_mb;             /* "adjusted to NMB": the size a CC guest chose */
	bool torn_down;                /* "tearing down default memory pool": an IOMMU took over */
	uint64_t line_total;           /* the largest "total T (slots)" of the default pool */
	bool total_grew;               /* the lines' totals differ: a dynamic pool grew */
	char restricted[2][DIAG_LINE]; /* "created restricted DMA pool" lines */
	uint64_t restricted_slots[2];
	int nrestricted;
	unsigned grow_failed; /* dynamic SWIOTLB: "Failed to allocate new pool" */
	/* Does the allocator add pools when none has room? debugfs
	 * io_tlb_transient_nslabs exists only with CONFIG_SWIOTLB_DYNAMIC;
	 * the live window reads can_grow itself (grows_live). */
	bool grows, grows_live;
	char grow_failed_line[DIAG_LINE];
};

/* One "swiotlb buffer is full" line (or an older kernel's variant). */
struct diag_full {
	uint64_t size, total, used; /* bytes, slots, slots */
	bool totals;                /* total and used were printed (5.x and later) */
};

/* Why a mapping was refused, judged from its line by the kernel's search
 * (swiotlb_area_find_slots()): a mapping takes contiguous free slots within
 * one 128-slot segment of one area. */
enum diag_full_kind {
	FULL_OVER_LIMIT, /* over the device's limit: no pool can take it */
	FULL_NO_ROOM,    /* the pool was (nearly) full */
	FULL_FRAGMENTED, /* plenty free, none contiguous enough */
	FULL_UNSIZED,    /* within the limit, but the line has no totals */
	FULL_KINDS,
};

/* The lines of one kind for one device. */
struct diag_fulls {
	unsigned lines;
	struct diag_full max; /* the largest size refused */
	struct diag_full last;
	char first_line[DIAG_LINE], last_line[DIAG_LINE];
};

struct diag_dev {
	char name[64]; /* dev_name() of the DMA device, as dmesg names it */
	char driver[32];
	char bus[16];
	char virtio[16]; /* the virtio device on it, "" if none */
	char virtio_driver[32];
	int access_platform; /* VIRTIO_F_ACCESS_PLATFORM: 1, 0, -1 unknown */
	char disk[32];       /* block device on it, "" if none */
	/* A disk the log names right after a refusal of this device (a SCSI
	 * "[sda] ... submit err" line), and that line: "" if none. */
	char log_disk[32];
	char log_disk_line[DIAG_LINE];
	uint64_t max_sectors_kb, max_hw_sectors_kb, max_segment_size, max_segments;
	uint64_t inflight;            /* requests in flight now (reads + writes) */
	int iommu_group;              /* -1: none */
	char reserved_regions[3][64]; /* the group's "0xSTART 0xEND TYPE" lines */
	int nreserved;
	/* The kernel log: */
	unsigned full_lines;
	struct diag_fulls full[FULL_KINDS];
	unsigned io_errors;
	char io_error_line[DIAG_LINE];
	uint64_t limit;             /* its largest mapping: 128 slots less min_align_mask */
	char limit_why[64];         /* what says so ("nvme: min_align_mask 4095") */
	bool limit_live;            /* read from the device by the live window */
	bool must_provide_platform; /* "device must provide VIRTIO_F_ACCESS_PLATFORM" */
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
	char why_not[DIAG_LINE]; /* why it did not run */
	uint64_t used_first, used_last, used_min, used_max, samples;
	uint64_t free_segments_min; /* 128-slot runs free, the fewest seen */
	uint64_t largest_free_run_min;
	bool rising; /* used never fell from one sample to the next */
};

/* What the kernel log said beside the pool and the devices. */
struct diag_log {
	uint64_t bytes, lines; /* read, all of it */
	/* The confidential-computing lines (empty: none seen). */
	char features[DIAG_LINE], sev_status[DIAG_LINE], sev_snp[DIAG_LINE];
	char sev_old[DIAG_LINE], tdx[DIAG_LINE], rme[DIAG_LINE], bounce[DIAG_LINE];
	bool banner;             /* "Linux version": the log starts at boot */
	bool x86_boot;           /* "Command line:" is x86's early line */
	char cmdline[DIAG_LINE]; /* the command line the log shows */
	/* WARNING/BUG/Oops blocks whose location or frames are in the DMA core. */
	unsigned dma_oops;
	char dma_oops_line[2][DIAG_LINE];
	unsigned oops; /* the others: not the DMA core's */
	char oops_line[DIAG_LINE];
	uint64_t suppressed; /* "swiotlb_tbl_map_single: N callbacks suppressed" */
	/* Lines holding "swiotlb buffer is full" or "SW-IOMMU" as they came,
	 * whatever their cleaning made of them: never a healthy verdict. */
	unsigned key_lines;
	char key_line[DIAG_LINE];
	/* SWIOTLB or DMA-API lines nothing else recognised. */
	unsigned unknown;
	char unknown_line[3][DIAG_LINE];
	/* The atomic pools (kernel/dma/pool.c): coherent memory that may not
	 * sleep, every such allocation in a confidential guest. */
	uint64_t atomic_kib; /* the largest "DMA: preallocated N KiB" */
	unsigned atomic;     /* "DMA pool exhausted for", "Failed to get suitable pool" */
	char atomic_line[DIAG_LINE];
	unsigned late; /* "Can not allocate SWIOTLB buffer earlier" */
	char late_line[DIAG_LINE];
	unsigned overflow; /* "swiotlb addr ... overflow", "dma_direct_map_page: overflow" */
	char overflow_line[DIAG_LINE];
};

struct diag_facts {
	struct diag_env env;
	struct diag_log log;
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
	const char *id; /* stable: "pool-exhausted", "over-limit", ... */
	enum diag_severity severity;
	char title[DIAG_LINE];
	char evidence[DIAG_MAX_EVIDENCE][DIAG_LINE];
	int nevidence;
	char remedy[2 * DIAG_LINE];
	/* The remedy's kind, for scripts: "grow-pool", "limit-requests",
	 * "fix-driver", "host-config", "update-kernel", "shrink-pool",
	 * "dynamic-pool", "restricted-pool", "coherent-pool", "boot-pool",
	 * "investigate", "none". */
	const char *remedy_class;
	uint64_t swiotlb; /* the swiotlb= it asks for, in slots; 0 none */
	char device[64];  /* "" if about the machine */
};

struct diag_report {
	struct diag_finding f[DIAG_MAX_FINDINGS];
	int n;
};

/* The tasks in D state and where they wait: read first, before the live
 * window's probes come and go (detaching them puts a kworker in
 * synchronize_rcu for a moment). */
void diag_collect_tasks(struct bundle *b, struct diag_facts *facts);
/* Reads every other source in order (pool, devices, kernel log,
 * environment), after the window was parsed: its device limits judge the
 * log's refusals. Records the sources it could not read in b. */
void diag_collect(struct bundle *b, struct diag_facts *facts);
/* Parses the kernel log's text into facts (a part of diag_collect()). */
void diag_parse_log(struct diag_facts *facts, const char *log);
/* The same for a log of any size read from f, in one pass and bounded
 * memory; the log's own buffer is never held whole. */
void diag_parse_log_file(struct diag_facts *facts, FILE *f);
/* Line by line, as the two above do: begin, each line (any bytes, no
 * newline), end. */
struct diag_log_reader;
struct diag_log_reader *diag_log_begin(struct diag_facts *facts);
void diag_log_line(struct diag_log_reader *r, const char *line, size_t len);
void diag_log_end(struct diag_log_reader *r);
/* src's first line into dst, cut to fit. */
void diag_copy_line(char *dst, size_t len, const char *src);
/* Is TOTAL slots the size of a restricted-dma-pool the log created? */
bool diag_restricted_total(const struct diag_pool *p, uint64_t total);
/* The largest mapping DEV can bounce and why (its driver's min_align_mask). */
void diag_dev_limit(struct diag_dev *d);
/* The window's saved text into facts->window and the devices. */
void diag_parse_window(struct diag_facts *facts, const char *text);
/* The device row of NAME, added if new (NULL when full). */
struct diag_dev *diag_dev(struct diag_facts *facts, const char *name);

/* True when nothing to judge was read: no kernel log, no pool figure
 * (size or use), no live window (diagnose exits 2). */
bool diag_unknown(const struct diag_facts *facts);
/* Judges the facts: findings, the most severe first. */
void diag_judge(const struct diag_facts *facts, struct diag_report *r);
const char *diag_severity_name(enum diag_severity s);

#endif
