/* SPDX-License-Identifier: GPL-2.0 */
/* The enforcer attached now, whoever attached it (a running `dmawatch
 * enforce`, or one pinned with --pin): found by its program's name among
 * the kernel's BPF links, its rules and counts read through the program's
 * maps. Nothing is pinned for this: a link lives exactly as long as its
 * enforcer. family/enforce.c. */
#ifndef DMAWATCH_ENFORCER_H
#define DMAWATCH_ENFORCER_H

#include <stdbool.h>

#include "family/enforce.h"

#define DMAW_ENF_SNAP_DISKS 16

struct enf_disk_counts {
	char name[DMAW_DISK_NAME_LEN];
	__u32 devt;
	__u32 policies; /* its rule's */
	__u32 pool_slots;
	__u32 pad;
	__u64 checked;
	__u64 queued; /* deny's witness (struct dmaw_enf_stats) */
	__u64 hits[DMAW_ENF_POLICIES];
	__u64 bytes[DMAW_ENF_POLICIES];
	struct dmaw_enf_event last; /* the latest decision (ts_ns 0: none) */
};

/* The enforce family's part of a snapshot (SNAPSHOT_MINE(s, enforce)). */
struct enf_found {
	__u32 attached;
	__u32 mode; /* enum dmaw_enf_mode */
	__u32 prog_id, link_id;
	char prog[16];
	__u32 ndisks;
	struct enf_disk_counts disks[DMAW_ENF_SNAP_DISKS];
};

/* The enforce programs' names, as the kernel keeps them (15 characters). */
extern const char *const enf_prog_names[2];
extern const char *const enf_policy_names[DMAW_ENF_POLICIES];

/* Finds the attached enforcer and, with counts, reads its disks. Returns
 * true if one is attached. */
bool enforcer_find(struct enf_found *x, bool counts);
/* Adds the per-CPU counts of d->devt in an enforcer's stats map to d. */
void enf_read_counts(int stats_fd, struct enf_disk_counts *d);

#endif
