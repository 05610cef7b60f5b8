// SPDX-License-Identifier: GPL-2.0
/*
 * This file matches every kernel log line that is not a refusal: the
 * pool's boot lines, the lines that say what kind of confidential guest
 * this is, WARNING/BUG/Oops blocks and whether the DMA core is in them,
 * I/O errors, hung tasks, virtio devices refused for want of
 * VIRTIO_F_ACCESS_PLATFORM, the atomic pools, and the SWIOTLB or DMA lines
 * that nothing else recognises. It records what each line says in the
 * facts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/diag_log_internal.h"
#include "diagnose/diagnose.h"

/* Case-insensitive: does text hold word? */
static bool has(const char *text, const char *word)
{
	return strcasestr(text, word) != NULL;
}

static bool starts(const char *text, const char *word)
{
	return !strncmp(text, word, strlen(word));
}

static struct diag_dev *dev_by_disk(struct diag_facts *x, const char *disk, size_t len)
{
	for (int i = 0; i < x->ndevs; i++)
		if (strlen(x->devs[i].disk) == len && !strncmp(x->devs[i].disk, disk, len))
			return &x->devs[i];
	return NULL;
}

static struct diag_dev *dev_by_virtio(struct diag_facts *x, const char *name, size_t len)
{
	for (int i = 0; i < x->ndevs; i++)
		if (strlen(x->devs[i].virtio) == len && !strncmp(x->devs[i].virtio, name, len))
			return &x->devs[i];
	return NULL;
}

static void other(char *dst, unsigned *count, const char *text)
{
	if (!(*count)++)
		diag_copy_line(dst, DIAG_LINE, text);
}

static void shortfall_line(struct diag_pool *p, const char *text)
{
	p->boot_shortfall = true;
	if (p->nshortfall_lines < 4)
		diag_copy_line(p->shortfall_lines[p->nshortfall_lines++], DIAG_LINE, text);
}

/* "software IO TLB: ..." and the pool's other boot lines; true if known. */
static bool pool_line(struct diag_facts *x, const char *text)
{
	struct diag_pool *p = &x->pool;
	const char *m = strstr(text, "software IO TLB");
	uint64_t a, b;

	if (m && (m = strchr(m, '(')) && sscanf(m, "(%" SCNu64 "MB)", &a) == 1 &&
	    (strstr(text, "mapped [mem") || strstr(text, "software IO TLB [mem"))) {
		/* 5.x+ "mapped [mem A-B] (64MB)"; 4.x "[mem A-B] (64MB) mapped at". */
		p->boot_mb = a;
		return true;
	}
	if ((m = strstr(text, "area num ")) && sscanf(m, "area num %" SCNu64, &a) == 1) {
		p->areas = a;
		return true;
	}
	if ((m = strstr(text, "bounce buffer size adjusted ")) &&
	    sscanf(m, "bounce buffer size adjusted %" SCNu64 " -> %" SCNu64 " slabs", &a, &b) ==
		    2) {
		/* swiotlb_init_remap() halved the pool until memblock found it. */
		p->boot_slots = b;
		shortfall_line(p, text);
		return true;
	}
	if (strstr(text, "SWIOTLB bounce buffer size roundup to")) {
		p->roundup = true;
		diag_copy_line(p->roundup_line, DIAG_LINE, text);
		return true;
	}
	if ((m = strstr(text, "bounce buffer size adjusted to ")) &&
	    sscanf(m, "bounce buffer size adjusted to %" SCNu64 "MB", &a) == 1) {
		/* swiotlb_adjust_size(): 6 % of memory, 64 MiB to 1 GiB. */
		p->sized_mb = a;
		return true;
	}
	if (strstr(text, "tearing down default memory pool")) {
		p->torn_down = true;
		return true;
	}
	if (strstr(text, "Using software bounce buffering for IO") ||
	    (strstr(text, "Placing ") && strstr(text, "software IO TLB between")))
		return true;
	if (strstr(text, "Failed to allocate new pool")) {
		/* swiotlb_dyn_alloc(): a dynamic pool could not grow. */
		other(p->grow_failed_line, &p->grow_failed, text);
		return true;
	}
	if (strstr(text, "only able to allocate") || strstr(text, "No low mem") ||
	    ((m = strstr(text, "software IO TLB")) &&
	     (strstr(m, "Cannot allocate") || strstr(m, "Failed to allocate") ||
	      strstr(m, "Failed to remap") || strstr(m, "Failed to map")))) {
		shortfall_line(p, text);
		return true;
	}
	if ((m = strstr(text, "created restricted DMA pool"))) {
		/* "Reserved memory: created restricted DMA pool at A, size N MiB":
		 * a device tree's restricted-dma-pool, a SWIOTLB of its own. */
		const char *sz = strstr(m, "size ");

		if (p->nrestricted < 2) {
			diag_copy_line(p->restricted[p->nrestricted], DIAG_LINE, text);
			if (sz && sscanf(sz, "size %" SCNu64, &a) == 1)
				p->restricted_slots[p->nrestricted] = a * ((1 << 20) / DIAG_SLOT);
			p->nrestricted++;
		}
		return true;
	}
	return false;
}

/* The lines that say what kind of confidential guest this is. Only a
 * guest's own lines count: a host prints "SEV-SNP:" (its RMP), "kvm_amd:
 * SEV-SNP enabled", "virt/tdx:" (the TDX module), never these. */
static bool cc_line(struct diag_log *l, const char *text)
{
	char *dst = NULL;

	if (strstr(text, "Memory Encryption Features active:"))
		dst = l->features; /* "AMD Memory ..." on 5.x */
	else if (starts(text, "SEV: Status:"))
		dst = l->sev_status; /* 6.9+: "SEV SEV-ES SEV-SNP", Azure: "vTom" */
	else if (starts(text, "SEV: Using SNP CPUID table") || starts(text, "SEV: SNP ") ||
		 starts(text, "SNP: "))
		dst = l->sev_snp; /* "SNP: PSC failed ...": only an SNP guest says it */
	else if (strstr(text, "AMD Secure Encrypted Virtualization"))
		dst = l->sev_old; /* 4.x-5.x: "... (SEV) active" */
	else if (starts(text, "tdx: ") || starts(text, "x86/tdx: ") ||
		 strstr(text, "TDX aware idle routine") || strstr(text, "tdx: Guest detected"))
		dst = l->tdx;
	else if (strstr(text, "Initialized SEV guest driver"))
		dst = l->sev_snp; /* sev-guest binds only in an SNP guest */
	else if (strstr(text, "RME: Using RSI version"))
		dst = l->rme;
	else if (strstr(text, "Memory encryption is active and system is using DMA bounce"))
		dst = l->bounce;
	if (dst && !dst[0])
		diag_copy_line(dst, DIAG_LINE, text);
	return dst != NULL;
}

/* A location or stack frame in the DMA mapping core or SWIOTLB. */
static bool dma_frame(const char *text)
{
	return strstr(text, "swiotlb") || strstr(text, "kernel/dma/") ||
	       strstr(text, "dma_direct_") || strstr(text, "dma_map_") ||
	       strstr(text, "dma_alloc_") || strstr(text, "dma_unmap_") || strstr(text, "__dma_") ||
	       strstr(text, "io_tlb");
}

/* The first line of a kernel report (a paste may have joined it to the
 * line before: "WARNING: CPU:" is looked for anywhere). */
static bool oops_start(const char *text)
{
	return starts(text, "WARNING:") || strstr(text, "WARNING: CPU:") || starts(text, "BUG:") ||
	       starts(text, "kernel BUG at") || starts(text, "Oops") ||
	       starts(text, "general protection fault") ||
	       starts(text, "Unable to handle kernel") || starts(text, "Kernel panic");
}

static bool trace_start(const char *text)
{
	return starts(text, "Call Trace:") || starts(text, "Call trace:");
}

void diag_oops_end(struct diag_log_reader *r)
{
	struct diag_log *l = &r->x->log;

	if (r->in_oops && r->oops_dma[0]) {
		if (!l->dma_oops++) {
			diag_copy_line(l->dma_oops_line[0], DIAG_LINE, r->oops_head);
			diag_copy_line(l->dma_oops_line[1], DIAG_LINE,
				       strcmp(r->oops_head, r->oops_dma) ? r->oops_dma : "");
		}
	} else if (r->in_oops && !trace_start(r->oops_head) && !l->oops++) {
		diag_copy_line(l->oops_line, DIAG_LINE, r->oops_head);
	}
	r->in_oops = false;
	r->oops_dma[0] = 0;
}

/* Follows WARNING/BUG blocks; true while the line belongs to one. */
static bool oops_line(struct diag_log_reader *r, const char *text)
{
	if (oops_start(text) || (!r->in_oops && trace_start(text))) {
		diag_oops_end(r);
		r->in_oops = true;
		r->oops_lines = 0;
		diag_copy_line(r->oops_head, DIAG_LINE, text);
	}
	if (!r->in_oops)
		return false;
	if (dma_frame(text) && !r->oops_dma[0])
		diag_copy_line(r->oops_dma, DIAG_LINE, text);
	if (strstr(text, "---[ end trace") || ++r->oops_lines > 80)
		diag_oops_end(r);
	return true;
}

/* A line about SWIOTLB or the DMA API that no rule above took. */
static bool dma_related(const char *text)
{
	return has(text, "swiotlb") || has(text, "io tlb") || has(text, "sw-iommu") ||
	       has(text, "bounce buffer") || strstr(text, "kernel/dma/") ||
	       has(text, "dma_direct") || has(text, "dma-direct") || strstr(text, "dma_map_") ||
	       has(text, "dma mapping") || strstr(text, "DMA-API") || strstr(text, "dma_alloc_") ||
	       /* memory for DMA that could not be had, by whoever says so (a
	        * paravisor's shared pool, a driver's coherent buffer) */
	       (has(text, "dma") &&
		(has(text, "failed to allocate") || has(text, "unable to allocate") ||
		 has(text, "allocation fail")));
}

/* Every rule but the refusals' (diag_full_line()), for a line that holds
 * none. */
void diag_other_rules(struct diag_log_reader *r, const char *text)
{
	struct diag_facts *x = r->x;
	struct diag_log *l = &x->log;
	const char *m;
	bool in_oops;

	if (!*text)
		return;
	in_oops = oops_line(r, text);
	if (starts(text, "Linux version ")) {
		l->banner = true;
	} else if (starts(text, "Command line: ") || starts(text, "Kernel command line: ")) {
		l->x86_boot |= starts(text, "Command line: ");
		diag_copy_line(l->cmdline, DIAG_LINE, strchr(text, ':') + 2);
	} else if (pool_line(x, text) || cc_line(l, text)) {
		;
	} else if ((m = strstr(text, "I/O error, dev "))) {
		struct diag_dev *d;

		m += strlen("I/O error, dev ");
		d = dev_by_disk(x, m, strcspn(m, ", "));
		if (d && !d->io_errors++)
			diag_copy_line(d->io_error_line, DIAG_LINE, text);
	} else if (starts(text, "INFO: task") && strstr(text, "blocked for more than")) {
		if (!x->hung_task_lines++)
			diag_copy_line(x->hung_task_line, DIAG_LINE, text);
	} else if ((m = strstr(text, "device must provide VIRTIO_F_ACCESS_PLATFORM"))) {
		/* "virtio_net virtio0: device must provide ...": the virtio
		 * device, or, with sysfs in the bundle, its transport. */
		const char *colon = m - 2 > text && m[-2] == ':' ? m - 2 : NULL;
		const char *sp = colon ? memrchr(text, ' ', colon - text) : NULL;
		const char *name = sp ? sp + 1 : text;
		size_t len = colon ? (size_t)(colon - name) : 0;
		struct diag_dev *d = len ? dev_by_virtio(x, name, len) : NULL;
		char virtio[64];

		snprintf(virtio, sizeof(virtio), "%.*s", len ? (int)len : 1, len ? name : "?");
		if (!d && (d = diag_dev(x, len ? virtio : "(device not named)")))
			diag_copy_line(d->virtio, sizeof(d->virtio),
				       len ? virtio : "a virtio device");
		if (d) {
			d->must_provide_platform = true;
			diag_copy_line(d->platform_line, DIAG_LINE, text);
		}
	} else if ((m = strstr(text, "DMA: preallocated ")) && strstr(text, "atomic")) {
		uint64_t kib;

		if (sscanf(m, "DMA: preallocated %" SCNu64 " KiB", &kib) == 1 &&
		    kib > l->atomic_kib)
			l->atomic_kib = kib;
	} else if (strstr(text, "DMA pool exhausted for") ||
		   strstr(text, "Failed to get suitable pool for") ||
		   (strstr(text, "DMA: failed to allocate") && strstr(text, "atomic"))) {
		other(l->atomic_line, &l->atomic, text);
	} else if (strstr(text, "Can not allocate SWIOTLB buffer earlier")) {
		other(l->late_line, &l->late, text);
	} else if ((m = strstr(text, "overflow")) &&
		   (strstr(text, "swiotlb addr") || strstr(text, "dma_direct_map") ||
		    strstr(text, "DMA addr") || strstr(m, "of DMA mask") ||
		    strstr(m, "of device mask") || strstr(m, "overflow (mask"))) {
		/* swiotlb_map()'s "swiotlb addr ... overflow (mask M, bus limit
		 * L)", dma-direct's report_addr() ("DMA addr ... overflow (mask"
		 * now, "dma_direct_map_page: overflow ... of device mask" in
		 * 4.x) and x86's old nommu_map_sg()/nommu_map_page() ("overflow
		 * A+N of device mask M"): the bounce slot, or the buffer, is
		 * above what the device addresses. */
		other(l->overflow_line, &l->overflow, text);
	} else if ((m = strstr(text, "callbacks suppressed")) && strstr(text, "swiotlb")) {
		/* The rate limit of the refusal lines: this many more. */
		uint64_t n;
		const char *colon = strchr(text, ':');

		if (colon && sscanf(colon + 1, "%" SCNu64, &n) == 1)
			l->suppressed += n;
	} else if (in_oops) {
		;
	} else if (strstr(text, "Failed to create a DMA mapping") ||
		   (strstr(text, "scheduling while atomic") && strstr(text, "swiotlb"))) {
		if (x->nlog_other < 4)
			diag_copy_line(x->log_other[x->nlog_other++], DIAG_LINE, text);
	} else if (dma_related(text)) {
		if (r->may_hold) {
			diag_copy_line(r->held, sizeof(r->held), text);
			r->have_held = true;
			return;
		}
		if (l->unknown < 3)
			diag_copy_line(l->unknown_line[l->unknown], DIAG_LINE, text);
		l->unknown++;
	}
}
