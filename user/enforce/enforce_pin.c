// SPDX-License-Identifier: GPL-2.0
/*
 * An enforcer can outlive the run that attached it: --pin keeps this run's
 * link and maps in bpffs after it exits, --unpin removes a pinned enforcer
 * of dmawatch's, and --status shows every enforcer attached now, pinned or
 * held by a running `dmawatch enforce`.
 */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "enforce.skel.h"
#include "enforce/enforce_cmd.h"
#include "family/enforce_find.h"
#include "out/json.h"
#include "util.h"

int enf_status(const struct enf_opts *o)
{
	struct enf_found x;
	struct json j;
	const char *action;

	json_init(&j, stdout);
	if (!enforcer_find(&x, true)) {
		if (o->json) {
			json_object_begin(&j, NULL);
			json_bool(&j, "attached", false);
			json_object_end(&j);
			json_end_line(&j);
		} else {
			printf("enforce: no enforcer attached\n");
		}
		return 1;
	}
	action = x.mode == DMAW_ENF_DENY ? "deny" : "audit";
	if (o->json) {
		json_object_begin(&j, NULL);
		json_bool(&j, "attached", true);
		json_string(&j, "program", x.prog);
		json_u64(&j, "program_id", x.prog_id);
		json_u64(&j, "link_id", x.link_id);
		json_string(&j, "mode", action);
		json_object_end(&j);
		json_end_line(&j);
	} else {
		printf("enforce: %s attached (program %s id %u, link %u)\n", action, x.prog,
		       x.prog_id, x.link_id);
	}
	for (__u32 i = 0; i < x.ndisks; i++) {
		const struct enf_disk_counts *d = &x.disks[i];

		if (!o->json) {
			printf("  %s:", d->name);
			for (int k = 0; k < DMAW_ENF_POLICIES; k++)
				if (d->policies & (1u << k))
					printf(" %s", enf_policy_names[k]);
			printf(" (pool %u slots)\n  ", d->pool_slots);
		}
		enf_print_counts(&j, o->json, action, d->name, d->devt, d);
	}
	return 0;
}

/* What --pin leaves in DIR ("seen": deny's witness, when there is one). */
static const char *const pin_files[] = { "link", "rules", "stats", "seen" };

int enf_unpin(const char *dir)
{
	char path[PATH_MAX], name[32];
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li), plen = sizeof(pi);
	int fd, pfd;

	snprintf(path, sizeof(path), "%s/link", dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		dmaw_warn("enforce: no pinned enforcer in %s (%s: %s)", dir, path, strerror(errno));
		return 1;
	}
	/* Only ever remove our own. */
	if (bpf_obj_get_info_by_fd(fd, &li, &len) ||
	    (pfd = bpf_prog_get_fd_by_id(li.prog_id)) < 0 ||
	    bpf_obj_get_info_by_fd(pfd, &pi, &plen)) {
		dmaw_warn("enforce: %s is not a BPF link dmawatch can read: left alone", path);
		close(fd);
		return 1;
	}
	close(pfd);
	close(fd);
	snprintf(name, sizeof(name), "%s", pi.name);
	if (strncmp(name, "enforce_", 8)) {
		dmaw_warn("enforce: %s holds program '%s', not dmawatch enforce's: left alone",
			  path, name);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(pin_files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_files[i]);
		if (unlink(path) && errno != ENOENT) {
			dmaw_warn("enforce: cannot remove %s: %s", path, strerror(errno));
			return 1;
		}
	}
	if (rmdir(dir) && errno != ENOTEMPTY)
		dmaw_warn("enforce: %s left in place: %s", dir, strerror(errno));
	printf("enforce: unpinned %s (program %s id %u detached)\n", dir, name, li.prog_id);
	return 0;
}

/* Pins link and maps in dir (made if missing, on bpffs); all or nothing. */
int enf_pin(struct enforcer *e, const char *dir)
{
	struct statfs fs;
	char path[PATH_MAX];
	int err = 0;
	size_t done = 0;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		dmaw_warn("enforce: cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	if (statfs(dir, &fs) || (unsigned long)fs.f_type != BPF_FS_MAGIC) {
		dmaw_warn(
			"enforce: %s is not on bpffs: pin under /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)",
			dir);
		rmdir(dir);
		return -1;
	}
	for (; done < ARRAY_SIZE(pin_files) && !err; done++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_files[done]);
		if (done == 0)
			err = bpf_link__pin(e->link, path);
		else if (done == 3)
			err = e->seen ? bpf_link__pin(e->seen, path) : 0;
		else
			err = bpf_map__pin(done == 1 ? e->skel->maps.enf_rules :
						       e->skel->maps.enf_stats,
					   path);
	}
	if (err) {
		dmaw_warn("enforce: cannot pin in %s: %s", dir, strerror(-err));
		for (size_t i = 0; i < done; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, pin_files[i]);
			unlink(path);
		}
		rmdir(dir);
		return -1;
	}
	return 0;
}
