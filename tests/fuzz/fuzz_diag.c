// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: a bundle's kernel log and live window as anyone could write
 * them (diagnose --bundle reads bundles from other machines): parsed and
 * judged without a crash, every finding's text terminated and in bounds.
 * The input is the log, then a NUL, then the window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct diag_facts facts;
	static struct diag_report report;
	char *text = malloc(size + 2), *window;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = 0;
	window = text + strlen(text) + 1;
	memset(&facts, 0, sizeof(facts));
	diag_parse_log(&facts, text);
	diag_parse_window(&facts, window);
	diag_judge(&facts, &report);
	if (facts.ndevs > DIAG_MAX_DEVS || report.n > DIAG_MAX_FINDINGS)
		abort();
	for (int i = 0; i < report.n; i++) {
		const struct diag_finding *f = &report.f[i];

		if (!f->id || strnlen(f->title, sizeof(f->title)) == sizeof(f->title) ||
		    strnlen(f->remedy, sizeof(f->remedy)) == sizeof(f->remedy) ||
		    f->nevidence > DIAG_MAX_EVIDENCE)
			abort();
		for (int k = 0; k < f->nevidence; k++)
			if (strnlen(f->evidence[k], DIAG_LINE) == DIAG_LINE)
				abort();
	}
	free(text);
	return 0;
}
