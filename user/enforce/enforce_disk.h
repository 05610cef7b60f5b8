/* SPDX-License-Identifier: GPL-2.0 */
/* enforce's view of a disk: what sysfs and debugfs say of it, its DMA
 * device and the SWIOTLB pool, turned into the rule family/enforce.bpf.c
 * checks; and the queue limits --apply-queue-limits sets and restores. */
#ifndef DMAWATCH_ENFORCE_DISK_H
#define DMAWATCH_ENFORCE_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "family/enforce.h"

struct enf_disk {
	char name[DMAW_DISK_NAME_LEN];
	uint32_t devt;   /* MKDEV */
	char driver[32]; /* of the nearest device with one */
	uint64_t max_segment_size, max_segments, max_sectors_kb, max_hw_sectors_kb;
	uint32_t align_mask;           /* min_align_mask the driver sets, in a slot */
	uint32_t extra_slots;          /* the driver's own mappings per request */
	uint64_t map_limit;            /* swiotlb_max_mapping_size() */
	bool bypass;                   /* virtio without VIRTIO_F_ACCESS_PLATFORM */
	uint64_t saved_max_sectors_kb; /* 0: unchanged */
};

/* What the user asked for (the policies and their caps). */
struct enf_request {
	uint32_t policies; /* enum dmaw_enf_policy bits */
	bool segment_auto; /* --max-segment auto */
	uint64_t seg_cap, bytes_cap;
};

/* The disk's facts from /sys/block/NAME; false with why[] on failure. */
bool enf_disk_read(const char *name, struct enf_disk *d, char *why, size_t n);
/* The rule for d: its limits, the pool's slots, the caps asked for. */
void enf_rule_fill(const struct enf_disk *d, const struct enf_request *q, uint64_t pool_slots,
		   struct dmaw_enf_rule *r);
/* swiotlb_max_mapping_size() for a device's min_align_mask. */
uint64_t enf_map_limit(uint32_t min_align_mask);
/* The largest power-of-two max_sectors_kb whose requests fit in half
 * the pool (room for a second one in flight), given the driver's own
 * slots per request; at most cap_kb (0: none). */
uint64_t enf_fitting_kb(uint64_t pool_slots, uint32_t extra_slots, uint64_t cap_kb);
/* Writes max_sectors_kb (saving the old value once); false with why[]. */
bool enf_disk_set_max_sectors(struct enf_disk *d, uint64_t kb, char *why, size_t n);
/* Puts back what enf_disk_set_max_sectors() changed. */
bool enf_disk_restore(struct enf_disk *d, char *why, size_t n);

#endif
