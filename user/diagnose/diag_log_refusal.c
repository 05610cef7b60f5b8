// SPDX-License-Identifier: GPL-2.0
/*
 * This file matches the kernel log's refusal lines ("swiotlb buffer is
 * full", "Out of SW-IOMMU space", "coherent allocation failed") and files
 * each under its device and its kind: over the device's limit, out of
 * room, fragmented, or unsized. It also works out a device's largest
 * mapping, which decides the first kind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/diag_log_internal.h"
#include "diagnose/diagnose.h"

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

/* "swiotlb buffer is full (sz: S bytes), total T (slots), used U (slots)"
 * (5.x to 7.x), "swiotlb buffer is full (sz: S bytes)" (4.x), "Out of
 * SW-IOMMU space for S bytes at device D" (before 4.x), "coherent
 * allocation failed for device D size=S". P_PARTIAL: the message is there
 * but ends early (a wrapped paste). */
enum parse diag_parse_full(const char *text, struct diag_full *f, const char **msg, char *dev,
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
enum parse diag_full_line(struct diag_log_reader *r, const char *text, bool final)
{
	struct diag_full f;
	const char *msg = NULL;
	char dev[64];
	enum parse p = diag_parse_full(text, &f, &msg, dev, sizeof(dev));
	struct diag_dev *d;

	if (p == P_NONE || (p == P_PARTIAL && !final))
		return p;
	if (p == P_PARTIAL && !f.size)
		return P_NONE; /* not even the size: left to the unknown lines */
	d = dev[0] ? diag_dev(r->x, dev) : message_dev(r, text, msg);
	if (d)
		refusal(r->x, d, &f, text);
	r->refused = d;
	r->since_refused = 0;
	return P_OK;
}
