// SPDX-License-Identifier: GPL-2.0
/*
 * enforce reads what this machine allows before it loads anything: whether
 * the kernel lets BPF fail a bio, how many slots the SWIOTLB pool has, and
 * which disks do DMA through the DMA API.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "enforce/enforce_cmd.h"
#include "enforce/enforce_disk.h"
#include "util.h"

#define EI_LIST "/sys/kernel/debug/error_injection/list"

/* ---- what the kernel allows -------------------------------------------- */

static bool btf_has_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool found;

	if (!btf)
		return false;
	found = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}

/* Whether the kernel lets BPF change what should_fail_bio() returns, by
 * what it says: its error-injection list names the function, and BTF
 * types it. Otherwise why not, in why[]. */
bool enf_deny_possible(char *why, size_t n)
{
	char line[256];
	bool listed = false;
	FILE *f = fopen(EI_LIST, "re");

	/* (debugfs is mounted: enf_pool_slots() read the pool from it first.) */
	if (!f) {
		snprintf(why, n,
			 "this kernel was built without CONFIG_FUNCTION_ERROR_INJECTION "
			 "(no %s), so BPF may not fail a bio",
			 EI_LIST);
		return false;
	}
	while (!listed && fgets(line, sizeof(line), f))
		listed = !strncmp(line, ENF_HOOK, strlen(ENF_HOOK)) &&
			 (line[strlen(ENF_HOOK)] == ' ' || line[strlen(ENF_HOOK)] == '\t');
	fclose(f);
	if (!listed) {
		snprintf(why, n, "%s does not list %s: this kernel lets nothing fail a bio",
			 EI_LIST, ENF_HOOK);
		return false;
	}
	if (!btf_has_func(ENF_HOOK)) {
		snprintf(why, n,
			 "%s has no BTF in this kernel (inlined or renamed), so fmod_ret "
			 "cannot attach to it",
			 ENF_HOOK);
		return false;
	}
	return true;
}

/* ---- the disks ------------------------------------------------------------ */

/* The pool's slots, and whether it grows: debugfs io_tlb_transient_nslabs
 * exists only with CONFIG_SWIOTLB_DYNAMIC. */
bool enf_pool_slots(uint64_t *slots, bool *grows, char *why, size_t n)
{
	if (access("/sys/kernel/debug", R_OK) == 0 && access(ENF_SWIOTLB_DEBUGFS, F_OK) &&
	    access("/sys/kernel/debug/tracing", F_OK)) {
		snprintf(why, n, "debugfs is not mounted: mount -t debugfs none /sys/kernel/debug");
		return false;
	}
	if (!read_u64_file(ENF_SWIOTLB_DEBUGFS "/io_tlb_nslabs", slots) || !*slots) {
		snprintf(why, n,
			 "no SWIOTLB pool (%s/io_tlb_nslabs): nothing bounces here, "
			 "so nothing can need more than the pool has",
			 ENF_SWIOTLB_DEBUGFS);
		return false;
	}
	*grows = access(ENF_SWIOTLB_DEBUGFS "/io_tlb_transient_nslabs", F_OK) == 0;
	return true;
}

int enf_pick_disks(struct enforcer *e)
{
	char why[256];

	if (e->o.ndevices) {
		for (int i = 0; i < e->o.ndevices; i++) {
			struct enf_disk *d = &e->disks[e->ndisks];

			if (!enf_disk_read(e->o.devices[i], d, why, sizeof(why))) {
				dmaw_warn("enforce: %s", why);
				return -1;
			}
			if (d->bypass)
				dmaw_warn(
					"enforce: %s (%s) bypasses the DMA API: it never bounces, "
					"its rule will not fire",
					d->name, d->driver);
			e->ndisks++;
		}
		return 0;
	}
	/* Every disk with a device that does DMA through the API. */
	DIR *dir = opendir("/sys/block");
	struct dirent *de;

	if (!dir) {
		dmaw_warn("enforce: cannot list /sys/block: %s", strerror(errno));
		return -1;
	}
	while (e->ndisks < DMAW_ENF_MAX_DISKS && (de = readdir(dir))) {
		struct enf_disk *d = &e->disks[e->ndisks];

		if (de->d_name[0] != '.' && enf_disk_read(de->d_name, d, why, sizeof(why)) &&
		    !d->bypass)
			e->ndisks++;
	}
	closedir(dir);
	if (!e->ndisks) {
		dmaw_warn(
			"enforce: no disk here does DMA through the DMA API (name one with --device)");
		return -1;
	}
	return 0;
}
