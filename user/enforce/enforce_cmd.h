/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This header holds the state of one `dmawatch enforce` run, which the
 * command's files share: enforce.c parses the options and runs the
 * enforcer, enforce_machine.c reads what the kernel and the disks allow,
 * enforce_limits.c lowers and restores the disks' queue limits,
 * enforce_out.c prints events and counts, and enforce_pin.c pins, unpins
 * and shows enforcers that live outside this process. A disk's facts are
 * enforce_disk.h's.
 */
#ifndef DMAWATCH_ENFORCE_CMD_H
#define DMAWATCH_ENFORCE_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enforce/enforce_disk.h"
#include "family/enforce.h"
#include "out/json.h"

#define ENF_SWIOTLB_DEBUGFS "/sys/kernel/debug/swiotlb"
#define ENF_HOOK "should_fail_bio"

struct bpf_link;
struct enf_disk_counts;
struct enforce_bpf;
struct ksyms;

struct enf_opts {
	bool deny, json, apply_limits, keep_limits, status;
	const char *pin, *unpin;
	const char *devices[DMAW_ENF_MAX_DISKS];
	int ndevices;
	struct enf_request req;
};

struct enforcer {
	struct enf_opts o;
	struct enforce_bpf *skel;
	struct bpf_link *link;
	struct bpf_link *seen; /* deny's witness, enforce_seen */
	struct enf_disk disks[DMAW_ENF_MAX_DISKS];
	int ndisks;
	uint64_t pool_slots;
	bool pool_grows;  /* CONFIG_SWIOTLB_DYNAMIC: it adds pools when full */
	const char *prog; /* the one attached */
	struct ksyms *ksyms;
	struct json j;
	bool verbose; /* -v: libbpf's messages */
};

/* enforce_machine.c */
/* The SWIOTLB pool's slots from debugfs; false with why[] when there is
 * no pool or debugfs is not mounted. */
bool enf_pool_slots(uint64_t *slots, bool *grows, char *why, size_t n);
/* Whether the kernel lets BPF change what should_fail_bio() returns;
 * false with why[] when it does not. */
bool enf_deny_possible(char *why, size_t n);
/* Fills e->disks with the disks of --device, or else every disk whose DMA
 * goes through the DMA API; -1 after a warning when there is none. */
int enf_pick_disks(struct enforcer *e);

/* enforce_limits.c */
/* Lowers max_sectors_kb where a request of it could need more than half
 * the pool, or a segment of it pass the segment cap; -1 after a warning. */
int enf_apply_limits(struct enforcer *e);
/* Puts back the limits enf_apply_limits() lowered, unless they stay. */
void enf_restore_limits(struct enforcer *e);

/* enforce_out.c */
/* Prints one event of the ring buffer (ctx: the enforcer). */
int enf_on_event(void *ctx, void *data, size_t len);
/* Prints one disk's counts: a line of text, or a JSON line. */
void enf_print_counts(struct json *j, bool as_json, const char *action, const char *disk,
		      __u32 devt, const struct enf_disk_counts *c);

/* enforce_pin.c */
/* --status: prints the enforcers attached now, their rules and counts. */
int enf_status(const struct enf_opts *o);
/* --unpin: removes a pinned enforcer of dmawatch's from dir. */
int enf_unpin(const char *dir);
/* --pin: pins link and maps in dir (made if missing, on bpffs); all or
 * nothing. */
int enf_pin(struct enforcer *e, const char *dir);

#endif
