// SPDX-License-Identifier: GPL-2.0
/* The memory a cgroup v2 memory.max leaves this process (memlimit.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/memlimit.h"
#include "util.h"

#define MIB (1024ull * 1024)

int memlimit_cgroup_path(const char *text, char *path, size_t len)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n = strcspn(l, "\n");

		if (n > 3 && !strncmp(l, "0::", 3) && n - 3 < len) {
			memcpy(path, l + 3, n - 3);
			path[n - 3] = 0;
			return 0;
		}
	}
	return -1;
}

int memlimit_cgroup_root(const char *text, char *root, size_t len)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE ... */
		char mnt[256], fstype[32];
		const char *dash = strstr(l, " - ");
		const char *eol = strchr(l, '\n');

		if (!dash || (eol && dash > eol))
			continue;
		if (sscanf(l, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(dash + 3, "%31s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (strlen(mnt) >= len)
			return -1;
		strcpy(root, mnt);
		return 0;
	}
	return -1;
}

int memlimit_read(const char *root, const char *path, struct mem_limit *m)
{
	char dir[512], file[600], cur[256];
	int found = 0;

	if (strlen(path) >= sizeof(cur) || path[0] != '/')
		return 0;
	strcpy(cur, path);
	for (;;) {
		uint64_t max, used;
		char text[32];
		char *slash;

		snprintf(dir, sizeof(dir), "%s%s", root, strcmp(cur, "/") ? cur : "");
		snprintf(file, sizeof(file), "%s/memory.max", dir);
		/* "max", absent (the root), or unreadable: no limit here. */
		if (read_text_file(file, text, sizeof(text)) && strcmp(text, "max") &&
		    parse_u64(text, 0, UINT64_MAX, &max)) {
			snprintf(file, sizeof(file), "%s/memory.current", dir);
			if (read_u64_file(file, &used)) {
				uint64_t room = max > used ? max - used : 0;

				if (!found || room < m->headroom) {
					m->max = max;
					m->headroom = room;
					snprintf(m->cgroup, sizeof(m->cgroup), "%s", cur);
				}
				found = 1;
			}
		}
		if (!strcmp(cur, "/"))
			break;
		slash = strrchr(cur, '/');
		if (slash == cur)
			slash[1] = 0;
		else
			*slash = 0;
	}
	return found;
}

uint64_t memlimit_start_floor(uint64_t btf_bytes)
{
	/* libbpf's copy of the BTF while it loads an object, a little over
	 * its size, and 8 MiB for the rest (kallsyms alone takes 7): below
	 * this no start fits. */
	return btf_bytes + 8 * MIB;
}

uint64_t memlimit_start_need(uint64_t btf_bytes)
{
	/* Measured in the lab (tests/lab/guest/faults.sh prints it): the
	 * smallest memory.max that starts was 28 to 32 MiB on 7.3 (5.3 MiB
	 * of BTF) from run to run; a margin over it. */
	return btf_bytes + 32 * MIB;
}

/* A /proc file whole (it has no size to stat), NUL-terminated; NULL on
 * failure. The caller frees it. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, cap = 16384;
	char *buf = f ? malloc(cap) : NULL;

	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		char *more;

		len += n;
		if (len < cap - 1)
			break;
		more = realloc(buf, cap * 2);
		if (!more) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = more;
		cap *= 2;
	}
	if (buf)
		buf[len] = 0;
	if (f)
		fclose(f);
	return buf;
}

int memlimit_check(void)
{
	char text[4096], root[256], path[256];
	struct mem_limit m = {};
	struct stat st;
	char *mounts;
	uint64_t need;
	int found;

	if (!read_text_file("/proc/self/cgroup", text, sizeof(text)) ||
	    memlimit_cgroup_path(text, path, sizeof(path)))
		return 0;
	mounts = read_all("/proc/self/mountinfo");
	found = mounts && !memlimit_cgroup_root(mounts, root, sizeof(root)) &&
		memlimit_read(root, path, &m);
	free(mounts);
	if (!found || stat("/sys/kernel/btf/vmlinux", &st))
		return 0; /* no limit; or no BTF, said where it is needed */
	if (m.headroom >= memlimit_start_floor(st.st_size))
		return 0;
	need = memlimit_start_need(st.st_size);
	dmaw_warn("cgroup %s leaves %llu MiB under its memory.max (%llu MiB); dmawatch needs about "
		  "%llu MiB to start (it parses the kernel's BTF, %llu MiB here): raise memory.max "
		  "by %llu MiB or more",
		  m.cgroup, (unsigned long long)(m.headroom / MIB),
		  (unsigned long long)(m.max / MIB), (unsigned long long)((need + MIB - 1) / MIB),
		  (unsigned long long)((st.st_size + MIB - 1) / MIB),
		  (unsigned long long)((need - m.headroom + MIB - 1) / MIB));
	return -ENOMEM;
}
