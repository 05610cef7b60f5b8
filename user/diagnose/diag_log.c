// SPDX-License-Identifier: GPL-2.0
/*
 * diagnose: the kernel log, as the kernel wrote it or as a person pasted it
 * into a bug report. Each line is first cleaned of what surrounds the
 * kernel's text (dmesg's "[ 12.3]" and "<4>", the printk caller id
 * "[  T42]", journalctl's and syslog's "Sep 08 10:12:31 host kernel:",
 * ISO dates, dmesg -T's "[Tue Sep  8 ...]", dmesg -x's "kern  :warn  :",
 * quoting "> ", "**", backticks, CRLF, NUL bytes), then matched. A message
 * the kernel printed on one line but the paste wrapped onto two is joined
 * again. Nothing is held but the facts: a log of any size is read in one
 * pass.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"

#define LINE_MAX_TEXT 1024

struct diag_log_reader {
	struct diag_facts *x;
	/* A "swiotlb buffer is full" line cut short, waiting for the rest. */
	char pending[LINE_MAX_TEXT];
	bool have_pending;
	/* The previous line's text: "DRIVER DEV:" alone on it is the prefix
	 * of a message the paste moved to the next line. */
	char prev[96];
	/* A WARNING/BUG/Oops block being read: its first line, whether a
	 * location or frame in it is the DMA core, and that line. */
	bool in_oops;
	unsigned oops_lines;
	char oops_head[DIAG_LINE], oops_dma[DIAG_LINE];
};

/* Case-insensitive: does text hold word? */
static bool has(const char *text, const char *word)
{
	return strcasestr(text, word) != NULL;
}

static bool starts(const char *text, const char *word)
{
	return !strncmp(text, word, strlen(word));
}

/* ---- cleaning a pasted line ---- */

/* "[...]" holding a dmesg time stamp ("    12.345678"), a caller id
 * ("T123", "C2") or dmesg -T's date ("Tue Sep  8 10:12:31 2024"). */
static size_t stamp_bracket(const char *p)
{
	const char *close = *p == '[' ? strchr(p, ']') : NULL;
	size_t n, digits = 0, alpha = 0;
	const char *in;

	if (!close || close - p > 40 || close == p + 1)
		return 0;
	n = close - p - 1;
	in = p + 1;
	while (*in == ' ')
		in++;
	if ((*in == 'T' || *in == 'C') && strspn(in + 1, "0123456789") == (size_t)(close - in - 1))
		return close - p + 1;
	for (const char *c = in; c < close; c++) {
		if (isdigit((unsigned char)*c))
			digits++;
		else if (isalpha((unsigned char)*c))
			alpha++;
		else if (!strchr(" .:-+,/", *c))
			return 0;
	}
	/* "[Tue Sep  8 10:12:31 2024]": letters only as day and month names. */
	if (alpha && !(alpha <= 6 && digits >= 3 && strchr(in, ':') && strchr(in, ':') < close))
		return 0;
	return digits && n ? (size_t)(close - p + 1) : 0;
}

/* syslog's "Sep  8 10:12:31 host kernel: ", journalctl's, rsyslog's ISO
 * "2024-09-08T10:12:31.123+00:00 host kernel: ": a time (dd:dd) before
 * " kernel:" near the start of the line. Returns the length to skip. */
static size_t syslog_prefix(const char *p)
{
	const char *k = strstr(p, " kernel:");
	const char *colon;

	if (!k || k - p > 100)
		return 0;
	colon = strchr(p, ':');
	if (!colon || colon > k || colon == p || !isdigit((unsigned char)colon[-1]) ||
	    !isdigit((unsigned char)colon[1]))
		return 0;
	return k - p + strlen(" kernel:");
}

/* grep -n's "1234:" before a time stamp, and journalctl -o
 * short-monotonic's "host kernel: " after one (the time is gone by then). */
static size_t grep_prefix(const char *p)
{
	size_t n = strspn(p, "0123456789"), w;

	if (n && p[n] == ':' && p[n + 1] == '[')
		return n + 1;
	w = strcspn(p, " :[");
	if (w && !strncmp(p + w, " kernel: ", 9))
		return w + 9;
	return 0;
}

/* dmesg -x: "kern  :warn  : " */
static size_t facility_prefix(const char *p)
{
	size_t a = strspn(p, "abcdefghijklmnopqrstuvwxyz"), b;

	if (!a || a > 8)
		return 0;
	b = a + strspn(p + a, " ");
	if (p[b] != ':')
		return 0;
	b++;
	a = strspn(p + b, "abcdefghijklmnopqrstuvwxyz");
	if (!a || a > 8)
		return 0;
	b += a;
	b += strspn(p + b, " ");
	return p[b] == ':' ? b + 1 : 0;
}

/* The kernel's text of a pasted line, in place: what surrounds it removed. */
static char *clean(char *line)
{
	char *p = line, *end;
	size_t skip;

	/* Colour (ESC [ ... letter, from dmesg --color or journalctl) goes;
	 * other control bytes become spaces. */
	for (char *c = line, *out = line;; c++) {
		if (*c == 0x1b && c[1] == '[') {
			c += 2;
			while (*c && !(*c >= '@' && *c <= '~'))
				c++;
			if (!*c) {
				*out = 0;
				break;
			}
			continue;
		}
		*out++ = *c && (unsigned char)*c < ' ' ? ' ' : *c;
		if (!*c)
			break;
	}
	do {
		skip = strspn(p, " >|*`\"'#");
		if (!skip && *p == '<' && isdigit((unsigned char)p[1]) && strchr(p, '>') &&
		    strchr(p, '>') - p <= 4)
			skip = strchr(p, '>') - p + 1;
		if (!skip)
			skip = stamp_bracket(p);
		if (!skip)
			skip = syslog_prefix(p);
		if (!skip)
			skip = facility_prefix(p);
		if (!skip)
			skip = grep_prefix(p);
		p += skip;
	} while (skip);
	end = p + strlen(p);
	while (end > p && strchr(" *`\"'", end[-1]))
		*--end = 0;
	return p;
}

/* ---- the lines ---- */

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

void diag_dev_limit(struct diag_dev *d)
{
	/* Drivers that set dma_set_min_align_mask(): swiotlb_max_mapping_size()
	 * takes that mask, rounded up to a slot, off the 128 slots. */
	static const struct {
		const char *driver;
		uint64_t mask;
	} aligned[] = {
		{ "nvme", 4095 },       /* NVME_CTRL_PAGE_SIZE - 1 */
		{ "hv_storvsc", 4095 }, /* HV_HYP_PAGE_SIZE - 1 */
		{ "hv_netvsc", 4095 },
	};

	if (d->limit_live)
		return;
	d->limit = DIAG_MAX_MAPPING;
	d->limit_why[0] = 0;
	for (size_t i = 0; i < sizeof(aligned) / sizeof(aligned[0]); i++)
		if (!strcmp(d->driver, aligned[i].driver)) {
			uint64_t align = (aligned[i].mask + DIAG_SLOT - 1) / DIAG_SLOT * DIAG_SLOT;

			d->limit = DIAG_MAX_MAPPING - align;
			snprintf(d->limit_why, sizeof(d->limit_why), "%s: min_align_mask %" PRIu64,
				 d->driver, aligned[i].mask);
		}
}

bool diag_restricted_total(const struct diag_pool *p, uint64_t total)
{
	for (int i = 0; i < p->nrestricted; i++)
		if (p->restricted_slots[i] == total)
			return true;
	return false;
}

/* One refusal: which kind, by the kernel's search. A mapping needs that
 * many contiguous free slots in one segment of one area; the search of an
 * area stops at once when the area has fewer free slots than needed. So a
 * pool with under 128 free slots an area, or 90 % used, is out of room;
 * with more free and the size within the limit, the free slots were
 * scattered. */
static void refusal(struct diag_facts *x, struct diag_dev *d, const struct diag_full *f,
		    const char *text)
{
	struct diag_pool *p = &x->pool;
	uint64_t areas = p->areas ? p->areas : 1, free, need = diag_slots(f->size);
	struct diag_fulls *k;
	enum diag_full_kind kind;

	if (!d->limit)
		diag_dev_limit(d);
	if (f->size > d->limit)
		kind = FULL_OVER_LIMIT;
	else if (!f->totals)
		kind = FULL_UNSIZED;
	else {
		/* limit_nareas(): a small pool has fewer areas, 128 slots each. */
		if (areas > f->total / DIAG_SEG_SLOTS)
			areas = f->total / DIAG_SEG_SLOTS ? f->total / DIAG_SEG_SLOTS : 1;
		free = f->used < f->total ? f->total - f->used : 0;
		kind = need > free || free < areas * DIAG_SEG_SLOTS ||
				       f->used >= f->total - f->total / 10 ?
			       FULL_NO_ROOM :
			       FULL_FRAGMENTED;
	}
	if (f->totals && !diag_restricted_total(p, f->total)) {
		if (p->line_total && p->line_total != f->total)
			p->total_grew = true;
		if (f->total > p->line_total)
			p->line_total = f->total;
	}
	d->full_lines++;
	k = &d->full[kind];
	if (!k->lines++)
		diag_copy_line(k->first_line, DIAG_LINE, text);
	diag_copy_line(k->last_line, DIAG_LINE, text);
	if (f->size >= k->max.size)
		k->max = *f;
	k->last = *f;
}

/* The device a message is about: "DRIVER DEV: message" has DEV before the
 * ": " that ends at msg. Falls back to the previous line's "DRIVER DEV:",
 * then to an unnamed device. */
static struct diag_dev *message_dev(struct diag_log_reader *r, const char *text, const char *msg)
{
	char name[64] = "", driver[32] = "", prefix[128];
	const char *sp;
	struct diag_dev *d;
	size_t n;

	n = msg - text;
	if (n >= 3 && msg[-2] == ':' && n - 2 < sizeof(prefix))
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(n - 2), text);
	else if (n == 0 && strlen(r->prev) > 1 && r->prev[strlen(r->prev) - 1] == ':')
		snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(r->prev) - 1, r->prev);
	else
		prefix[0] = 0;
	if (prefix[0]) {
		sp = strrchr(prefix, ' ');
		diag_copy_line(name, sizeof(name), sp ? sp + 1 : prefix);
		if (sp) {
			const char *dsp;

			*(char *)sp = 0;
			dsp = strrchr(prefix, ' ');
			diag_copy_line(driver, sizeof(driver), dsp ? dsp + 1 : prefix);
		}
	}
	if (!name[0] || strchr(name, '=') || strlen(name) > 40)
		diag_copy_line(name, sizeof(name), "(device not named)");
	d = diag_dev(r->x, name);
	if (d && !d->driver[0] && !d->bus[0] && driver[0])
		diag_copy_line(d->driver, sizeof(d->driver), driver);
	return d;
}

enum parse { P_NONE, P_PARTIAL, P_OK };

/* "swiotlb buffer is full (sz: S bytes), total T (slots), used U (slots)"
 * (5.x to 7.x), "swiotlb buffer is full (sz: S bytes)" (4.x), "Out of
 * SW-IOMMU space for S bytes at device D" (before 4.x), "coherent
 * allocation failed for device D size=S". P_PARTIAL: the message is there
 * but ends early (a wrapped paste). */
static enum parse parse_full(const char *text, struct diag_full *f, const char **msg, char *dev,
			     size_t dlen)
{
	const char *m = strstr(text, "swiotlb buffer is full"), *rest;
	int n = 0;

	memset(f, 0, sizeof(*f));
	dev[0] = 0;
	if (m) {
		*msg = m;
		if (sscanf(m, "swiotlb buffer is full (sz: %" SCNu64 " bytes)%n", &f->size, &n) !=
			    1 ||
		    !n)
			return P_PARTIAL;
		rest = m + n;
		while (*rest == ' ')
			rest++;
		if (*rest != ',')
			return P_OK;
		n = 0;
		if (sscanf(rest, ", total %" SCNu64 " (slots), used %" SCNu64 " (slots)%n",
			   &f->total, &f->used, &n) != 2 ||
		    !n)
			return P_PARTIAL;
		f->totals = true;
		return P_OK;
	}
	if ((m = strstr(text, "Out of SW-IOMMU space"))) {
		*msg = m;
		if (sscanf(m, "Out of SW-IOMMU space for %" SCNu64 " bytes at device %n", &f->size,
			   &n) != 1 ||
		    !n || !m[n])
			return P_PARTIAL;
		snprintf(dev, dlen, "%.*s", (int)strcspn(m + n, " "), m + n);
		return P_OK;
	}
	if ((m = strstr(text, "coherent allocation failed for device "))) {
		*msg = m;
		m += strlen("coherent allocation failed for device ");
		n = strcspn(m, " ");
		snprintf(dev, dlen, "%.*s", n, m);
		if (sscanf(m + n, " size=%" SCNu64, &f->size) != 1)
			return P_PARTIAL;
		return P_OK;
	}
	return P_NONE;
}

/* Handles a refusal line; false if text is not one (or not whole). */
static enum parse full_line(struct diag_log_reader *r, const char *text, bool final)
{
	struct diag_full f;
	const char *msg = NULL;
	char dev[64];
	enum parse p = parse_full(text, &f, &msg, dev, sizeof(dev));
	struct diag_dev *d;

	if (p == P_NONE || (p == P_PARTIAL && !final))
		return p;
	if (p == P_PARTIAL && !f.size)
		return P_NONE; /* not even the size: left to the unknown lines */
	d = dev[0] ? diag_dev(r->x, dev) : message_dev(r, text, msg);
	if (d)
		refusal(r->x, d, &f, text);
	return P_OK;
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
	else if (starts(text, "SEV: Using SNP CPUID table") || starts(text, "SEV: SNP "))
		dst = l->sev_snp;
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

static void oops_end(struct diag_log_reader *r)
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
		oops_end(r);
		r->in_oops = true;
		r->oops_lines = 0;
		diag_copy_line(r->oops_head, DIAG_LINE, text);
	}
	if (!r->in_oops)
		return false;
	if (dma_frame(text) && !r->oops_dma[0])
		diag_copy_line(r->oops_dma, DIAG_LINE, text);
	if (strstr(text, "---[ end trace") || ++r->oops_lines > 80)
		oops_end(r);
	return true;
}

/* A line about SWIOTLB or the DMA API that no rule above took. */
static bool dma_related(const char *text)
{
	return has(text, "swiotlb") || has(text, "io tlb") || has(text, "sw-iommu") ||
	       has(text, "bounce buffer") || strstr(text, "kernel/dma/") ||
	       has(text, "dma_direct") || has(text, "dma-direct") || strstr(text, "dma_map_") ||
	       has(text, "dma mapping") || strstr(text, "DMA-API") || strstr(text, "dma_alloc_");
}

/* Every rule but the refusals' (full_line()), for a line that holds
 * none. */
static void other_rules(struct diag_log_reader *r, const char *text)
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
	} else if ((strstr(text, "swiotlb addr") && strstr(text, "overflow")) ||
		   (strstr(text, "dma_direct_map") && strstr(text, "overflow")) ||
		   (strstr(text, "overflow 0x") && strstr(text, "of DMA mask"))) {
		/* swiotlb_map()'s, and dma-direct's report_addr(): the bounce
		 * slot (or the buffer) is above what the device addresses. */
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
		if (l->unknown < 3)
			diag_copy_line(l->unknown_line[l->unknown], DIAG_LINE, text);
		l->unknown++;
	}
}

/* A whole line: a refusal, else the other rules. */
static void line_text(struct diag_log_reader *r, const char *text)
{
	if (full_line(r, text, true) != P_OK)
		other_rules(r, text);
}

/* Could the line matter to any rule above? One pass over its characters
 * with a word per first letter, so that a log of millions of lines of
 * other drivers' chatter costs little more than reading it. Every rule's
 * line holds one of these words. */
static bool worth_reading(const char *text)
{
	static const char *const words[] = {
		"swiotlb",
		"SWIOTLB",
		"SW-IOMMU",
		"SEV",
		"sev-guest",
		"scheduling while",
		"IO TLB",
		"I/O error",
		"INFO: task",
		"dma",
		"DMA",
		"Linux version",
		"Command line",
		"Call Trace",
		"Call trace",
		"Memory Encryption",
		"Memory encryption",
		"tdx",
		"TDX",
		"RME:",
		"blocked for more",
		"bounce",
		"VIRTIO_F_ACCESS",
		"WARNING",
		"BUG",
		"Oops",
		"general protection",
		"Unable to handle",
		"Kernel panic",
		"Kernel command line",
		"end trace",
		"Failed to allocate new pool",
		"callbacks suppressed",
		"overflow",
		"Out of SW-IOMMU",
		"AMD Secure Encrypted",
	};
	enum { NWORDS = sizeof(words) / sizeof(words[0]), PER_LETTER = 8 };
	/* The words of each first letter. */
	static unsigned char by_first[256][PER_LETTER], n_first[256];
	static size_t len[NWORDS];
	static bool ready;

	if (!ready) {
		for (int i = 0; i < NWORDS; i++) {
			unsigned char c = words[i][0];

			len[i] = strlen(words[i]);
			if (n_first[c] < PER_LETTER)
				by_first[c][n_first[c]++] = i;
		}
		ready = true;
	}
	for (const char *c = text; *c; c++) {
		unsigned char k = *c;

		/* Every word has two letters or more; c[1] is at most the NUL. */
		for (int n = 0; n < n_first[k]; n++) {
			int i = by_first[k][n];

			if (words[i][1] == c[1] && !memcmp(c, words[i], len[i]))
				return true;
		}
	}
	return false;
}

/* One cleaned line: joined with the pending one when that was a refusal
 * the paste cut short, with a space or without (a number split in two). */
static void cleaned(struct diag_log_reader *r, const char *text)
{
	if (r->have_pending) {
		char joined[2 * LINE_MAX_TEXT + 2];
		struct diag_full f;
		const char *msg;
		char dev[64];

		r->have_pending = false;
		for (int glue = 0; glue < 2; glue++) {
			snprintf(joined, sizeof(joined), "%s%s%s", r->pending, glue ? "" : " ",
				 text);
			if (parse_full(joined, &f, &msg, dev, sizeof(dev)) != P_PARTIAL) {
				line_text(r, joined);
				return;
			}
		}
		line_text(r, r->pending);
	}
	/* A message's "DRIVER DEV:" alone on its line is kept for the next. */
	if (!r->in_oops && !worth_reading(text)) {
		size_t n = strlen(text);

		if (n > 1 && n < sizeof(r->prev) && text[n - 1] == ':')
			memcpy(r->prev, text, n + 1);
		else
			r->prev[0] = 0;
		return;
	}
	switch (full_line(r, text, false)) {
	case P_PARTIAL:
		diag_copy_line(r->pending, sizeof(r->pending), text);
		r->have_pending = true;
		return;
	case P_NONE: other_rules(r, text); break;
	case P_OK: break;
	}
	diag_copy_line(r->prev, sizeof(r->prev), text);
}

struct diag_log_reader *diag_log_begin(struct diag_facts *x)
{
	struct diag_log_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->x = x;
	return r;
}

void diag_log_line(struct diag_log_reader *r, const char *line, size_t len)
{
	char buf[LINE_MAX_TEXT];

	struct diag_log *l;

	if (!r)
		return;
	l = &r->x->log;
	l->lines++;
	l->bytes += len + 1;
	if (memmem(line, len, "swiotlb buffer is full", 22) || memmem(line, len, "SW-IOMMU", 8)) {
		if (!l->key_lines++) {
			size_t n = len < DIAG_LINE - 1 ? len : DIAG_LINE - 1;

			memcpy(l->key_line, line, n);
			l->key_line[n] = 0;
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)l->key_line[i] < ' ')
					l->key_line[i] = ' ';
		}
	}
	/* A kernel line is at most 1 KiB (PRINTK_MESSAGE_MAX); a longer one
	 * is cut, and its start is what the rules read. */
	len = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
	cleaned(r, clean(buf));
}

void diag_log_end(struct diag_log_reader *r)
{
	if (!r)
		return;
	if (r->have_pending) {
		r->have_pending = false;
		line_text(r, r->pending);
	}
	oops_end(r);
	free(r);
}

void diag_parse_log(struct diag_facts *x, const char *log)
{
	struct diag_log_reader *r = diag_log_begin(x);

	for (const char *p = log; p && *p;) {
		const char *end = strchrnul(p, '\n');

		diag_log_line(r, p, end - p);
		p = *end ? end + 1 : end;
	}
	diag_log_end(r);
}

void diag_parse_log_file(struct diag_facts *x, FILE *f)
{
	struct diag_log_reader *r = diag_log_begin(x);
	char *buf = malloc(1 << 16);
	size_t have = 0, n;

	if (!buf || !r) {
		free(buf);
		diag_log_end(r);
		return;
	}
	/* 64 KiB at a time; a line longer than that is cut where it fills
	 * the buffer. NUL bytes are data like any other. */
	while ((n = fread(buf + have, 1, (1 << 16) - have, f)) > 0 || have) {
		char *p = buf, *nl;

		have += n;
		while ((nl = memchr(p, '\n', buf + have - p))) {
			diag_log_line(r, p, nl - p);
			p = nl + 1;
		}
		have -= p - buf;
		if (p == buf && have == 1 << 16) {
			diag_log_line(r, buf, have);
			have = 0;
		} else if (!n && have) {
			diag_log_line(r, p, have);
			have = 0;
		} else {
			memmove(buf, p, have);
		}
		if (!n)
			break;
	}
	free(buf);
	diag_log_end(r);
}
