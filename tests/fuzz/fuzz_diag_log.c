// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: a whole kernel log as anyone could paste it (NUL bytes, CRs,
 * lines of any length), streamed as diagnose --bundle reads a bundle's
 * dmesg. Never a crash, and never "healthy" while the log holds the
 * kernel's words for a refused mapping ("swiotlb buffer is full", the
 * older "SW-IOMMU"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct diag_facts facts;
	static struct diag_report report;
	bool refused, healthy = true;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	memset(&facts, 0, sizeof(facts));
	diag_parse_log_file(&facts, f);
	fclose(f);
	diag_judge(&facts, &report);
	refused = memmem(data, size, "swiotlb buffer is full", 22) ||
		  memmem(data, size, "SW-IOMMU", 8);
	for (int i = 0; i < report.n; i++)
		healthy &= report.f[i].severity == DIAG_INFO;
	if (refused && healthy)
		abort();
	if (facts.ndevs > DIAG_MAX_DEVS || report.n > DIAG_MAX_FINDINGS)
		abort();
	return 0;
}
