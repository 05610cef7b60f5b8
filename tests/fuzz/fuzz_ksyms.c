// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: /proc/kallsyms as anything could write it (or a bundle from
 * another machine): parsed, looked up and formatted without a crash, and
 * every lookup answer consistent with the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ksyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	const struct ksym *s;
	struct ksyms *ks;
	char buf[128];

	if (!f || !size) {
		if (f)
			fclose(f);
		return 0;
	}
	ks = ksyms_read(f);
	fclose(f);
	if (!ks)
		return 0;
	for (uint64_t a = 0; a < 4; a++) {
		uint64_t addr = a == 0 ? 0 :
				a == 1 ? ~0ULL :
				a == 2 ? 0xffffffff81000000ULL :
					 0x1000;

		s = ksyms_find_addr(ks, addr);
		if (s && s->addr > addr)
			abort();
		ksyms_format(ks, addr, buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf))
			abort();
	}
	s = ksyms_find_name(ks, "swiotlb_map");
	if (s && strcmp(s->name, "swiotlb_map"))
		abort();
	ksyms_free(ks);
	return 0;
}
