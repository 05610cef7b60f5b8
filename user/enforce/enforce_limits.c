// SPDX-License-Identifier: GPL-2.0
/*
 * enforce's --apply-queue-limits lowers max_sectors_kb on the disks it
 * watches so that every request fits the SWIOTLB pool and the segment cap,
 * and puts the old values back on exit unless --keep-limits or --pin keeps
 * them.
 */
#include <stdio.h>

#include "enforce/enforce_cmd.h"
#include "enforce/enforce_disk.h"
#include "util.h"

/* Lowers max_sectors_kb where a request of it could need more than half
 * the pool, or a segment of it pass the segment cap. */
int enf_apply_limits(struct enforcer *e)
{
	char why[256];

	for (int i = 0; i < e->ndisks; i++) {
		struct enf_disk *d = &e->disks[i];
		uint64_t cap_kb = 0, kb;

		if (e->o.req.policies & DMAW_ENF_MAX_SEGMENT)
			cap_kb = (e->o.req.segment_auto ? d->map_limit : e->o.req.seg_cap) / 1024;
		if (e->o.req.policies & DMAW_ENF_MAX_BYTES &&
		    (!cap_kb || e->o.req.bytes_cap / 1024 < cap_kb))
			cap_kb = e->o.req.bytes_cap / 1024;
		kb = enf_fitting_kb(e->pool_slots, d->extra_slots, cap_kb);
		if (kb >= d->max_sectors_kb)
			continue;
		if (!enf_disk_set_max_sectors(d, kb, why, sizeof(why))) {
			dmaw_warn("enforce: %s", why);
			return -1;
		}
		fprintf(stderr,
			"enforce: %s: max_sectors_kb %llu -> %llu (requests fit the pool "
			"of %llu slots%s)\n",
			d->name, (unsigned long long)d->saved_max_sectors_kb,
			(unsigned long long)kb, (unsigned long long)e->pool_slots,
			cap_kb ? " and the cap" : "");
	}
	return 0;
}

void enf_restore_limits(struct enforcer *e)
{
	char why[256];

	for (int i = 0; i < e->ndisks; i++) {
		struct enf_disk *d = &e->disks[i];
		uint64_t was = d->saved_max_sectors_kb, now = d->max_sectors_kb;

		if (!was)
			continue;
		if (e->o.keep_limits || e->o.pin) {
			fprintf(stderr, "enforce: %s: max_sectors_kb stays %llu (was %llu)\n",
				d->name, (unsigned long long)now, (unsigned long long)was);
			continue;
		}
		if (enf_disk_restore(d, why, sizeof(why)))
			fprintf(stderr, "enforce: %s: max_sectors_kb restored to %llu\n", d->name,
				(unsigned long long)was);
		else
			dmaw_warn("enforce: %s", why);
	}
}
