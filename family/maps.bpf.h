/* SPDX-License-Identifier: GPL-2.0 */
/* The one way a BPF map value is made on first use, and the kernel's errno
 * names (from its uapi headers, not numbers written out). */
#ifndef DMAWATCH_MAPS_BPF_H
#define DMAWATCH_MAPS_BPF_H

#include <asm-generic/errno.h>
#include <bpf/bpf_helpers.h>

/*
 * The value of key in map, created from init where there is none: NULL
 * only when the map is full. Another CPU may create it between the lookup
 * and the update (-EEXIST): its value is the one returned. init is a
 * `static const` value (in .rodata): per-device values are too big for
 * the BPF stack.
 */
static __always_inline void *lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

#endif
