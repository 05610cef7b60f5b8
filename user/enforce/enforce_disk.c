// SPDX-License-Identifier: GPL-2.0
/* enforce's facts of a disk, read from sysfs, and its queue limits. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "enforce/enforce_disk.h"
#include "util.h"

/*
 * Per driver, what the bio does not show: the min_align_mask it gives its
 * DMA device (nvme_probe(): dma_set_min_align_mask(NVME_CTRL_PAGE_SIZE - 1))
 * and the mappings it adds to every request through the same device
 * (virtblk_add_req(): the request header and the status byte, a slot
 * each).
 */
static const struct {
	const char *driver;
	uint32_t min_align_mask, extra_slots;
} drivers[] = {
	{ "virtio_blk", 0, 2 },
	{ "nvme", 4096 - 1, 0 },
};

uint64_t enf_map_limit(uint32_t min_align_mask)
{
	uint64_t min_align = 0;

	/* swiotlb_max_mapping_size(): the slots a mask may skip come off. */
	if (min_align_mask)
		min_align = ((uint64_t)min_align_mask + DMAW_IO_TLB_SIZE) &
			    ~(uint64_t)(DMAW_IO_TLB_SIZE - 1);
	return (uint64_t)DMAW_IO_TLB_SIZE * DMAW_IO_TLB_SEGSIZE - min_align;
}

uint64_t enf_fitting_kb(uint64_t pool_slots, uint32_t extra_slots, uint64_t cap_kb)
{
	uint64_t kb = 4;

	while (kb < (1ULL << 30) &&
	       dmaw_enf_slots(0, kb * 2 * 1024) + extra_slots <= pool_slots / 2 &&
	       (!cap_kb || kb * 2 <= cap_kb))
		kb *= 2;
	return kb;
}

/* The driver of the nearest device up from /sys/block/NAME/device. */
static void find_driver(const char *name, char *out, size_t n)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t len;

	out[0] = 0;
	snprintf(path, sizeof(path), "/sys/block/%s/device", name);
	for (int depth = 0; depth < 4; depth++) {
		size_t at = strlen(path);

		snprintf(path + at, sizeof(path) - at, "/driver");
		len = readlink(path, link, sizeof(link) - 1);
		path[at] = 0;
		if (len > 0) {
			const char *slash;

			link[len] = 0;
			slash = strrchr(link, '/');
			snprintf(out, n, "%.*s", (int)(n - 1), slash ? slash + 1 : link);
			return;
		}
		/* The parent device: sysfs's "device" link of a class device,
		 * else the directory above. */
		snprintf(path + at, sizeof(path) - at, "/device");
		if (access(path, F_OK)) {
			path[at] = 0;
			snprintf(path + at, sizeof(path) - at, "/..");
		}
	}
}

bool enf_disk_read(const char *name, struct enf_disk *d, char *why, size_t n)
{
	char path[PATH_MAX], buf[64], *colon;
	uint64_t major, minor;

	memset(d, 0, sizeof(*d));
	if (strlen(name) >= sizeof(d->name) || strchr(name, '/')) {
		snprintf(why, n, "'%s' is not a disk name (as in /sys/block: vda, nvme0n1)", name);
		return false;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	if (!read_text_file(path, buf, sizeof(buf)) || !(colon = strchr(buf, ':'))) {
		snprintf(why, n, "no disk '%s' in /sys/block (a partition? name its disk)", name);
		return false;
	}
	*colon = 0;
	if (!parse_u64(buf, 0, 4095, &major) || !parse_u64(colon + 1, 0, (1 << 20) - 1, &minor)) {
		snprintf(why, n, "%s: cannot read its dev_t", path);
		return false;
	}
	d->devt = (uint32_t)(major << 20 | minor);
	snprintf(path, sizeof(path), "/sys/block/%s/device", name);
	if (access(path, F_OK)) {
		snprintf(why, n, "%s has no device (a loop, RAM or stacked disk does no DMA)",
			 name);
		return false;
	}
#define QUEUE(field, out)                                                         \
	do {                                                                      \
		snprintf(path, sizeof(path), "/sys/block/%s/queue/" field, name); \
		if (!read_u64_file(path, out)) {                                  \
			snprintf(why, n, "cannot read %s", path);                 \
			return false;                                             \
		}                                                                 \
	} while (0)
	QUEUE("max_segment_size", &d->max_segment_size);
	QUEUE("max_segments", &d->max_segments);
	QUEUE("max_sectors_kb", &d->max_sectors_kb);
	QUEUE("max_hw_sectors_kb", &d->max_hw_sectors_kb);
#undef QUEUE
	find_driver(name, d->driver, sizeof(d->driver));
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(d->driver, drivers[i].driver)) {
			d->align_mask = drivers[i].min_align_mask;
			d->extra_slots = drivers[i].extra_slots;
		}
	d->map_limit = enf_map_limit(d->align_mask);
	/* virtio without VIRTIO_F_ACCESS_PLATFORM (bit 33 of the features
	 * string) bypasses the DMA API: it never bounces. */
	snprintf(path, sizeof(path), "/sys/block/%s/device/features", name);
	if (read_text_file(path, buf, sizeof(buf)) && strlen(buf) > 33)
		d->bypass = buf[33] == '0';
	return true;
}

void enf_rule_fill(const struct enf_disk *d, const struct enf_request *q, uint64_t pool_slots,
		   struct dmaw_enf_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->policies = q->policies;
	r->pool_slots = pool_slots > UINT32_MAX ? UINT32_MAX : (uint32_t)pool_slots;
	r->extra_slots = d->extra_slots;
	r->align_mask = d->align_mask & (DMAW_IO_TLB_SIZE - 1);
	r->seg_max = d->max_segment_size > UINT32_MAX ? UINT32_MAX : (uint32_t)d->max_segment_size;
	r->req_max_segs = d->max_segments > UINT32_MAX ? UINT32_MAX : (uint32_t)d->max_segments;
	r->req_max_bytes = d->max_sectors_kb * 1024;
	r->seg_cap = q->segment_auto ? d->map_limit : q->seg_cap;
	r->bytes_cap = q->bytes_cap;
	memcpy(r->disk, d->name, sizeof(r->disk));
}

static bool write_max_sectors(const struct enf_disk *d, uint64_t kb, char *why, size_t n)
{
	char path[PATH_MAX];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/sys/block/%s/queue/max_sectors_kb", d->name);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%llu\n", (unsigned long long)kb) < 0)
		err = errno;
	if (f && fclose(f) && !err)
		err = errno;
	if (err)
		snprintf(why, n, "cannot write %llu to %s: %s", (unsigned long long)kb, path,
			 strerror(err));
	return !err;
}

bool enf_disk_set_max_sectors(struct enf_disk *d, uint64_t kb, char *why, size_t n)
{
	if (!write_max_sectors(d, kb, why, n))
		return false;
	if (!d->saved_max_sectors_kb)
		d->saved_max_sectors_kb = d->max_sectors_kb;
	d->max_sectors_kb = kb;
	return true;
}

bool enf_disk_restore(struct enf_disk *d, char *why, size_t n)
{
	if (!d->saved_max_sectors_kb)
		return true;
	if (!write_max_sectors(d, d->saved_max_sectors_kb, why, n))
		return false;
	d->max_sectors_kb = d->saved_max_sectors_kb;
	d->saved_max_sectors_kb = 0;
	return true;
}
