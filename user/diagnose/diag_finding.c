// SPDX-License-Identifier: GPL-2.0
/*
 * This file builds the findings the rules report: it adds a finding with
 * its title, then its lines of evidence, its remedy and the remedy's kind.
 * It bounds every text to its field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/diag_rules_internal.h"
#include "diagnose/diagnose.h"

struct diag_finding *diag_add(struct diag_report *r, const char *id, enum diag_severity sev,
			      const char *device, const char *fmt, ...)
{
	static struct diag_finding spare;
	struct diag_finding *f = r->n < DIAG_MAX_FINDINGS ? &r->f[r->n++] : &spare;
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->severity = sev;
	snprintf(f->device, sizeof(f->device), "%s", device ? device : "");
	va_start(ap, fmt);
	vsnprintf(f->title, sizeof(f->title), fmt, ap);
	va_end(ap);
	return f;
}

void diag_evidence(struct diag_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f->nevidence == DIAG_MAX_EVIDENCE)
		return;
	va_start(ap, fmt);
	vsnprintf(f->evidence[f->nevidence++], DIAG_LINE, fmt, ap);
	va_end(ap);
}

void diag_remedy(struct diag_finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->remedy, sizeof(f->remedy), fmt, ap);
	va_end(ap);
}

void diag_remedy_class(struct diag_finding *f, const char *cls, uint64_t swiotlb)
{
	f->remedy_class = cls;
	f->swiotlb = swiotlb;
}
