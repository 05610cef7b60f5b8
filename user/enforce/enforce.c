// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch enforce: segment caps on every bio at submission
 * (family/enforce.bpf.c; the arithmetic in family/enforce.h, a disk's
 * facts in enforce/enforce_disk.c, finding an attached enforcer in
 * family/enforce.c). Deny fails a bio that can never be bounced with EIO
 * instead of letting its driver requeue it forever; audit counts the same
 * decisions and changes nothing. The programs go with the process (its
 * link is an fd), unless --pin keeps them in bpffs.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "enforce.skel.h"
#include "enforce/enforce_disk.h"
#include "engine/engine.h"
#include "engine/ksyms.h"
#include "engine/lab_faults.h"
#include "engine/loop.h"
#include "family/enforce_find.h"
#include "out/json.h"
#include "out/report.h"
#include "out/stack.h"
#include "util.h"

#define SWIOTLB_DEBUGFS "/sys/kernel/debug/swiotlb"
#define EI_LIST "/sys/kernel/debug/error_injection/list"
#define HOOK "should_fail_bio"

struct opts {
	bool deny, json, apply_limits, keep_limits, status;
	const char *pin, *unpin;
	const char *devices[DMAW_ENF_MAX_DISKS];
	int ndevices;
	struct enf_request req;
};

struct enforcer {
	struct opts o;
	struct enforce_bpf *skel;
	struct bpf_link *link;
	struct bpf_link *seen; /* deny's witness, enforce_seen */
	struct enf_disk disks[DMAW_ENF_MAX_DISKS];
	int ndisks;
	uint64_t pool_slots;
	const char *prog; /* the one attached */
	struct ksyms *ksyms;
	struct json j;
	bool verbose; /* -v: libbpf's messages */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dmawatch enforce [--deny | --audit] [--device DISK]... POLICY...\n"
		"                        [--apply-queue-limits [--keep-limits]] [--pin DIR] [--json]\n"
		"       dmawatch enforce --status\n"
		"       dmawatch enforce --unpin DIR\n"
		"\nChecks every read and write bio of the disks at submission, segment by\n"
		"segment as the block layer will map them, against the SWIOTLB pool.\n"
		"\nPolicies (at least one):\n"
		"  --never-fit         a request needing more bounce slots than the pool has\n"
		"                      (it would be requeued forever: a hang)\n"
		"  --max-segment BYTES|auto\n"
		"                      a DMA segment longer than BYTES (auto: the device's\n"
		"                      SWIOTLB mapping limit, 256 KiB less its alignment)\n"
		"  --max-bytes BYTES   a bio larger than BYTES (K, M, G suffixes)\n"
		"\nWhat a policy that fires does:\n"
		"  --audit             count it and report it; the IO goes on (default)\n"
		"  --deny              fail the bio with EIO at submission (needs a kernel\n"
		"                      with CONFIG_FUNCTION_ERROR_INJECTION)\n"
		"\nOptions:\n"
		"  -d, --device DISK   only this disk (as in /sys/block; repeatable; default:\n"
		"                      every disk whose DMA bounces)\n"
		"  --apply-queue-limits  lower max_sectors_kb so every request fits the pool\n"
		"                      and the segment cap; restored on exit\n"
		"  --keep-limits       leave them lowered on exit\n"
		"  --pin DIR           keep enforcing after exit: pin the link and maps in\n"
		"                      DIR (on bpffs, e.g. /sys/fs/bpf/dmawatch-enforce)\n"
		"  --unpin DIR         remove a pinned enforcer\n"
		"  --status            the enforcers attached now, their rules and counts\n"
		"  -j, --json          events and the summary as JSON lines\n"
		"  -h, --help          this help\n"
		"\nEvents go to stdout as they happen, a summary on exit (SIGINT, SIGTERM).\n"
		"See dmawatch-enforce(8).\n");
}

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
static bool deny_possible(char *why, size_t n)
{
	char line[256];
	bool listed = false;
	FILE *f = fopen(EI_LIST, "re");

	/* (debugfs is mounted: pool_slots() read the pool from it first.) */
	if (!f) {
		snprintf(why, n,
			 "this kernel was built without CONFIG_FUNCTION_ERROR_INJECTION "
			 "(no %s), so BPF may not fail a bio",
			 EI_LIST);
		return false;
	}
	while (!listed && fgets(line, sizeof(line), f))
		listed = !strncmp(line, HOOK, strlen(HOOK)) &&
			 (line[strlen(HOOK)] == ' ' || line[strlen(HOOK)] == '\t');
	fclose(f);
	if (!listed) {
		snprintf(why, n, "%s does not list %s: this kernel lets nothing fail a bio",
			 EI_LIST, HOOK);
		return false;
	}
	if (!btf_has_func(HOOK)) {
		snprintf(why, n,
			 "%s has no BTF in this kernel (inlined or renamed), so fmod_ret "
			 "cannot attach to it",
			 HOOK);
		return false;
	}
	return true;
}

/* ---- the disks ------------------------------------------------------------ */

static bool pool_slots(uint64_t *slots, char *why, size_t n)
{
	if (access("/sys/kernel/debug", R_OK) == 0 && access(SWIOTLB_DEBUGFS, F_OK) &&
	    access("/sys/kernel/debug/tracing", F_OK)) {
		snprintf(why, n, "debugfs is not mounted: mount -t debugfs none /sys/kernel/debug");
		return false;
	}
	if (!read_u64_file(SWIOTLB_DEBUGFS "/io_tlb_nslabs", slots) || !*slots) {
		snprintf(why, n,
			 "no SWIOTLB pool (%s/io_tlb_nslabs): nothing bounces here, "
			 "so nothing can need more than the pool has",
			 SWIOTLB_DEBUGFS);
		return false;
	}
	return true;
}

static int pick_disks(struct enforcer *e)
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

/* Lowers max_sectors_kb where a request of it could need more than half
 * the pool, or a segment of it pass the segment cap. */
static int apply_limits(struct enforcer *e)
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

static void restore_limits(struct enforcer *e)
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

/* ---- events and counts ----------------------------------------------------- */

static const char *op_name(__u32 op)
{
	return op == 0 ? "read" : op == 1 ? "write" : "other";
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct enforcer *e = ctx;
	const struct dmaw_enf_event *ev = data;
	const char *action = ev->mode == DMAW_ENF_DENY ? "deny" : "audit";
	const char *policy = enf_policy_names[dmaw_enf_policy_index(ev->policy)];
	uint64_t used = 0;
	bool have_used;
	char dev[24];

	if (len < sizeof(*ev))
		return 0;
	have_used = read_u64_file(SWIOTLB_DEBUGFS "/io_tlb_used", &used);
	snprintf(dev, sizeof(dev), "%u:%u", ev->devt >> 20, ev->devt & 0xfffff);
	if (e->o.json) {
		json_object_begin(&e->j, NULL);
		json_string(&e->j, "event", action);
		json_string(&e->j, "policy", policy);
		json_string(&e->j, "disk", ev->disk);
		json_string(&e->j, "dev", dev);
		json_string(&e->j, "op", op_name(ev->op));
		json_u64(&e->j, "bytes", ev->bytes);
		json_u64(&e->j, "slots_needed", ev->slots_needed);
		json_u64(&e->j, "pool_slots", ev->pool_slots);
		if (have_used)
			json_u64(&e->j, "pool_used_now", used);
		json_u64(&e->j, "segment_bytes", ev->seg_bytes);
		json_u64(&e->j, "requests", ev->reqs);
		json_u64(&e->j, "pid", ev->pid);
		json_string(&e->j, "comm", ev->comm);
		json_stack(&e->j, "stack", e->ksyms, ev->stack, stack_depth(ev->stack_len));
		json_object_end(&e->j);
		json_end_line(&e->j);
	} else {
		printf("%s %s: %s %s of %llu bytes by %s (pid %u): ",
		       ev->mode == DMAW_ENF_DENY ? "DENIED" : "AUDIT", policy, ev->disk,
		       op_name(ev->op), (unsigned long long)ev->bytes, ev->comm, ev->pid);
		if (ev->policy == DMAW_ENF_NEVER_FIT)
			printf("its largest request needs %llu slots (%llu-byte segments at most), "
			       "the pool has %u",
			       (unsigned long long)ev->slots_needed,
			       (unsigned long long)ev->seg_bytes, ev->pool_slots);
		else if (ev->policy == DMAW_ENF_MAX_SEGMENT)
			printf("a DMA segment of %llu bytes", (unsigned long long)ev->seg_bytes);
		else
			printf("over the byte cap");
		if (have_used)
			printf(" (%llu in use now)", (unsigned long long)used);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

static void print_counts(struct json *j, bool as_json, const char *action, const char *disk,
			 __u32 devt, const struct enf_disk_counts *c)
{
	if (as_json) {
		char dev[24];

		snprintf(dev, sizeof(dev), "%u:%u", devt >> 20, devt & 0xfffff);
		json_object_begin(j, NULL);
		json_string(j, "summary", action);
		json_string(j, "disk", disk);
		json_string(j, "dev", dev);
		json_u64(j, "checked", c->checked);
		if (action[0] == 'd')
			json_u64(j, "queued", c->queued);
		json_object_begin(j, action[0] == 'd' ? "denied" : "audited");
		for (int k = 0; k < DMAW_ENF_POLICIES; k++)
			json_u64(j, enf_policy_names[k], c->hits[k]);
		json_object_end(j);
		json_object_end(j);
		json_end_line(j);
		return;
	}
	printf("%s: %s: %llu bios checked", action, disk, (unsigned long long)c->checked);
	for (int k = 0; k < DMAW_ENF_POLICIES; k++)
		if (c->hits[k])
			printf(", %s %llu (%llu bytes)", enf_policy_names[k],
			       (unsigned long long)c->hits[k], (unsigned long long)c->bytes[k]);
	printf("\n");
}

/* ---- --status and --unpin ----------------------------------------------- */

static int status(const struct opts *o)
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
		print_counts(&j, o->json, action, d->name, d->devt, d);
	}
	return 0;
}

/* What --pin leaves in DIR ("seen": deny's witness, when there is one). */
static const char *const pin_files[] = { "link", "rules", "stats", "seen" };

static int unpin(const char *dir)
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
static int pin(struct enforcer *e, const char *dir)
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

/* ---- options ------------------------------------------------------------- */

static int parse(int argc, char **argv, struct opts *o)
{
	enum {
		O_NEVER = 256,
		O_SEG,
		O_BYTES,
		O_DENY,
		O_AUDIT,
		O_APPLY,
		O_KEEP,
		O_PIN,
		O_UNPIN,
		O_STATUS
	};
	static const struct option opts[] = {
		{ "never-fit", no_argument, NULL, O_NEVER },
		{ "max-segment", required_argument, NULL, O_SEG },
		{ "max-bytes", required_argument, NULL, O_BYTES },
		{ "deny", no_argument, NULL, O_DENY },
		{ "audit", no_argument, NULL, O_AUDIT },
		{ "device", required_argument, NULL, 'd' },
		{ "apply-queue-limits", no_argument, NULL, O_APPLY },
		{ "keep-limits", no_argument, NULL, O_KEEP },
		{ "pin", required_argument, NULL, O_PIN },
		{ "unpin", required_argument, NULL, O_UNPIN },
		{ "status", no_argument, NULL, O_STATUS },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;
	bool audit = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":d:jh", opts, NULL)) != -1) {
		switch (c) {
		case O_NEVER: o->req.policies |= DMAW_ENF_NEVER_FIT; break;
		case O_SEG:
			o->req.policies |= DMAW_ENF_MAX_SEGMENT;
			if (!strcmp(optarg, "auto")) {
				o->req.segment_auto = true;
			} else if (!parse_size(optarg, 4096, 1ULL << 40, &o->req.seg_cap)) {
				dmaw_warn(
					"enforce: --max-segment takes 'auto' or a size of at least 4096 "
					"bytes (K, M, G suffixes), not '%s'",
					optarg);
				return 2;
			}
			break;
		case O_BYTES:
			o->req.policies |= DMAW_ENF_MAX_BYTES;
			if (!parse_size(optarg, 512, 1ULL << 40, &o->req.bytes_cap)) {
				dmaw_warn("enforce: --max-bytes takes a size of at least 512 bytes "
					  "(K, M, G suffixes), not '%s'",
					  optarg);
				return 2;
			}
			break;
		case O_DENY: o->deny = true; break;
		case O_AUDIT: audit = true; break;
		case 'd':
			if (o->ndevices == DMAW_ENF_MAX_DISKS) {
				dmaw_warn("enforce: at most %d disks", DMAW_ENF_MAX_DISKS);
				return 2;
			}
			o->devices[o->ndevices++] = optarg;
			break;
		case O_APPLY: o->apply_limits = true; break;
		case O_KEEP: o->keep_limits = true; break;
		case O_PIN: o->pin = optarg; break;
		case O_UNPIN: o->unpin = optarg; break;
		case O_STATUS: o->status = true; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("enforce", c, argv);
		}
	}
	if (optind < argc) {
		dmaw_warn("enforce: unexpected argument '%s' (see 'dmawatch enforce --help')",
			  argv[optind]);
		return 2;
	}
	if (o->deny && audit) {
		dmaw_warn("enforce: --deny and --audit exclude each other");
		return 2;
	}
	if ((o->status || o->unpin) && (o->req.policies || o->pin || o->apply_limits)) {
		dmaw_warn("enforce: --status and --unpin take no policy");
		return 2;
	}
	if (!o->status && !o->unpin && !o->req.policies) {
		dmaw_warn("enforce: no policy given: --never-fit, --max-segment BYTES|auto or "
			  "--max-bytes BYTES (see 'dmawatch enforce --help')");
		return 2;
	}
	if (o->keep_limits && !o->apply_limits) {
		dmaw_warn("enforce: --keep-limits goes with --apply-queue-limits");
		return 2;
	}
	return -1;
}

/* ---- the run -------------------------------------------------------------- */

static void describe(const struct enforcer *e)
{
	for (int i = 0; i < e->ndisks; i++) {
		const struct enf_disk *d = &e->disks[i];

		fprintf(stderr, "enforce: %s %s (%s):", e->o.deny ? "deny" : "audit", d->name,
			d->driver[0] ? d->driver : "?");
		for (int k = 0; k < DMAW_ENF_POLICIES; k++)
			if (e->o.req.policies & (1u << k))
				fprintf(stderr, " %s", enf_policy_names[k]);
		if (e->o.req.policies & DMAW_ENF_MAX_SEGMENT)
			fprintf(stderr, " > %llu",
				(unsigned long long)(e->o.req.segment_auto ? d->map_limit :
									     e->o.req.seg_cap));
		if (e->o.req.policies & DMAW_ENF_MAX_BYTES)
			fprintf(stderr, " bytes > %llu", (unsigned long long)e->o.req.bytes_cap);
		fprintf(stderr,
			"; pool %llu slots, requests <= %llu KiB of <= %llu segments "
			"<= %llu bytes, %u slots of the driver's own\n",
			(unsigned long long)e->pool_slots, (unsigned long long)d->max_sectors_kb,
			(unsigned long long)d->max_segments,
			(unsigned long long)d->max_segment_size, d->extra_slots);
	}
}

static int fill_rules(struct enforcer *e)
{
	int fd = bpf_map__fd(e->skel->maps.enf_rules);

	for (int i = 0; i < e->ndisks; i++) {
		struct dmaw_enf_rule r;

		enf_rule_fill(&e->disks[i], &e->o.req, e->pool_slots, &r);
		if (bpf_map_update_elem(fd, &e->disks[i].devt, &r, BPF_ANY)) {
			dmaw_warn("enforce: cannot set the rule of %s: %s", e->disks[i].name,
				  strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void detach(struct enforcer *e)
{
	bpf_link__destroy(e->seen);
	e->seen = NULL;
	bpf_link__destroy(e->link);
	e->link = NULL;
}

static int run(struct enforcer *e)
{
	struct ring_buffer *rb = NULL;
	struct bpf_program *prog;
	struct enf_found other;
	char why[256];
	int err;

	if (enforcer_find(&other, false)) {
		dmaw_warn(
			"enforce: another enforcer is attached (program %s id %u, link %u): stop it, "
			"or remove a pinned one with 'dmawatch enforce --unpin DIR'",
			other.prog, other.prog_id, other.link_id);
		return 1;
	}
	if (!pool_slots(&e->pool_slots, why, sizeof(why))) {
		dmaw_warn("enforce: %s", why);
		return 1;
	}
	if (e->o.deny && !deny_possible(why, sizeof(why))) {
		dmaw_warn("enforce: --deny impossible: %s; --audit counts what it would deny, "
			  "--apply-queue-limits makes requests fit",
			  why);
		return 1;
	}
	if (pick_disks(e))
		return 1;

	engine_libbpf_messages(e->verbose);
	e->skel = enforce_bpf__open();
	if (!e->skel) {
		dmaw_warn("enforce: cannot open the BPF object: %s", strerror(errno));
		return 1;
	}
	e->skel->rodata->dmaw_enf_mode = e->o.deny ? DMAW_ENF_DENY : DMAW_ENF_AUDIT;
	/* Audit on the tracepoint right after the hook: see family/enforce.bpf.c. */
	prog = e->o.deny ? e->skel->progs.enforce_deny : e->skel->progs.enforce_tp;
	e->prog = bpf_program__name(prog);
	bpf_program__set_autoload(prog, true);
	if (e->o.deny)
		bpf_program__set_autoload(e->skel->progs.enforce_seen, true);
	err = enforce_bpf__load(e->skel);
	if (err) {
		dmaw_warn("enforce: loading %s failed: %s%s", e->prog, strerror(-err),
			  e->verbose ? "" : " (-v shows the verifier's log)");
		return 1;
	}
	if (e->o.apply_limits && apply_limits(e))
		goto fail;
	if (fill_rules(e))
		goto fail;
	describe(e);
	e->link = bpf_program__attach(prog);
	if (!e->link) {
		err = -errno;
		dmaw_warn("enforce: attaching %s to %s failed: %s", e->prog,
			  prog == e->skel->progs.enforce_tp ? "block_bio_queue" : HOOK,
			  strerror(-err));
		goto fail;
	}
	if (e->o.deny && !(e->seen = bpf_program__attach(e->skel->progs.enforce_seen))) {
		dmaw_warn("enforce: attaching enforce_seen to block_bio_queue failed: %s",
			  strerror(errno));
		goto fail;
	}
	if (e->o.pin) {
		if (pin(e, e->o.pin))
			goto fail;
		fprintf(stderr,
			"enforce: pinned in %s; it goes on after this exits "
			"('dmawatch enforce --unpin %s' removes it)\n",
			e->o.pin, e->o.pin);
		restore_limits(e);
		return 0;
	}
	rb = ring_buffer__new(bpf_map__fd(e->skel->maps.enf_events), on_event, e, NULL);
	if (!rb) {
		dmaw_warn("enforce: cannot open the event buffer: %s", strerror(errno));
		goto fail;
	}
	e->ksyms = ksyms_load(NULL);
	fprintf(stderr, "enforce: %s attached (%s); Ctrl-C ends it\n", e->prog,
		prog == e->skel->progs.enforce_tp ? "tracepoint block_bio_queue" : HOOK);
	test_stop_at("running");
	err = loop_ring(rb);
	if (err)
		dmaw_warn("enforce: reading events: %s", strerror(-err));
	ring_buffer__free(rb);
	for (int i = 0; i < e->ndisks; i++) {
		struct enf_disk_counts c = { .devt = e->disks[i].devt };

		enf_read_counts(bpf_map__fd(e->skel->maps.enf_stats), &c);
		print_counts(&e->j, e->o.json, e->o.deny ? "deny" : "audit", e->disks[i].name,
			     e->disks[i].devt, &c);
		if (e->o.deny && c.queued > c.checked)
			dmaw_warn(
				"enforce: %s: the block layer queued %llu bios but should_fail_bio() "
				"checked only %llu: the hook did not run for some (inlined into its "
				"caller?), so deny missed them",
				e->disks[i].name, (unsigned long long)c.queued,
				(unsigned long long)c.checked);
	}
	detach(e);
	restore_limits(e);
	return 0;
fail:
	detach(e);
	restore_limits(e);
	return 1;
}

int cmd_enforce(const struct engine_opts *eo, int argc, char **argv)
{
	struct enforcer *e = calloc(1, sizeof(*e));
	int rc;

	if (!e) {
		dmaw_warn("enforce: out of memory");
		return 1;
	}
	e->verbose = eo->verbose;
	rc = parse(argc, argv, &e->o);
	if (rc >= 0)
		goto out;
	if (bpf_caps_missing()) {
		dmaw_warn("enforce: needs %s (run as root)", bpf_caps_missing());
		rc = 1;
		goto out;
	}
	json_init(&e->j, stdout);
	if (e->o.status) {
		rc = status(&e->o);
		goto out;
	}
	if (e->o.unpin) {
		rc = unpin(e->o.unpin);
		goto out;
	}
	loop_install_signals();
	rc = run(e);
out:
	detach(e);
	enforce_bpf__destroy(e->skel);
	ksyms_free(e->ksyms);
	free(e);
	return rc;
}
