/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory a cgroup v2 memory.max leaves this process, read before the
 * start: a start that needs more is killed by the OOM killer halfway (its
 * memory is ordinary pages: no allocation fails first), so dmawatch says
 * so up front where it can tell.
 */
#ifndef DMAWATCH_MEMLIMIT_H
#define DMAWATCH_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct mem_limit {
	uint64_t max;      /* the tightest memory.max over the cgroup and its ancestors */
	uint64_t headroom; /* that cgroup's memory.max - memory.current */
	char cgroup[256];  /* that cgroup, as /proc/self/cgroup names it ("/" the root) */
};

/* The cgroup v2 path of this process from a /proc/PID/cgroup file's text
 * ("0::/path" line) into path; 0, or -1 when there is none (v1 only). */
int memlimit_cgroup_path(const char *cgroup_text, char *path, size_t len);
/* The tightest memory limit over the cgroup at path (under the cgroup v2
 * mount point root) and its ancestors: 1 with *m filled; 0 when no
 * memory.max binds (or none is readable). */
int memlimit_read(const char *root, const char *path, struct mem_limit *m);
/* The cgroup v2 mount point from a /proc/self/mountinfo text into root; 0,
 * or -1 when cgroup2 is not mounted. */
int memlimit_cgroup_root(const char *mountinfo_text, char *root, size_t len);
/* What a start takes, btf_bytes being /sys/kernel/btf/vmlinux's size: at
 * least the floor (libbpf's copy of the BTF, kallsyms), about the need
 * (measured, with the maps and the rest). Between the two a start may
 * still meet the OOM killer; below the floor it cannot succeed. */
uint64_t memlimit_start_floor(uint64_t btf_bytes);
uint64_t memlimit_start_need(uint64_t btf_bytes);
/* For this process: 0 when the room under memory.max reaches the floor
 * (or nothing binds); -ENOMEM after one line naming the cgroup, the limit
 * and how much to raise it by. */
int memlimit_check(void);

#endif
