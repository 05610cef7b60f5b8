// SPDX-License-Identifier: GPL-2.0
/*
 * dmawatch enforce checks every bio at submission against segment caps
 * (family/enforce.bpf.c; the arithmetic in family/enforce.h). This file is
 * the command itself: it parses the options, prints the help, loads and
 * attaches the programs, and reads their events until a signal ends it.
 * Deny fails a bio that can never be bounced with EIO instead of letting
 * its driver requeue it forever; audit counts the same decisions and
 * changes nothing. The programs go with the process (its link is an fd),
 * unless --pin keeps them in bpffs. enforce_cmd.h names the files that do
 * the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "enforce.skel.h"
#include "enforce/enforce_cmd.h"
#include "enforce/enforce_disk.h"
#include "engine/engine.h"
#include "engine/ksyms.h"
#include "engine/lab_faults.h"
#include "engine/loop.h"
#include "family/enforce_find.h"
#include "out/json.h"
#include "util.h"

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

/* ---- options ------------------------------------------------------------- */

static int parse(int argc, char **argv, struct enf_opts *o)
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
			"; pool %llu slots%s, requests <= %llu KiB of <= %llu segments "
			"<= %llu bytes, %u slots of the driver's own\n",
			(unsigned long long)e->pool_slots,
			e->pool_grows ? " (it grows: only a segment over 128 slots never fits)" :
					"",
			(unsigned long long)d->max_sectors_kb, (unsigned long long)d->max_segments,
			(unsigned long long)d->max_segment_size, d->extra_slots);
	}
}

static int fill_rules(struct enforcer *e)
{
	int fd = bpf_map__fd(e->skel->maps.enf_rules);

	for (int i = 0; i < e->ndisks; i++) {
		struct dmaw_enf_rule r;

		enf_rule_fill(&e->disks[i], &e->o.req,
			      e->pool_grows ? DMAW_ENF_POOL_GROWS : e->pool_slots, &r);
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
	if (!enf_pool_slots(&e->pool_slots, &e->pool_grows, why, sizeof(why))) {
		dmaw_warn("enforce: %s", why);
		return 1;
	}
	if (e->o.deny && !enf_deny_possible(why, sizeof(why))) {
		dmaw_warn("enforce: --deny impossible: %s; --audit counts what it would deny, "
			  "--apply-queue-limits makes requests fit",
			  why);
		return 1;
	}
	if (enf_pick_disks(e))
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
	if (e->o.apply_limits && enf_apply_limits(e))
		goto fail;
	if (fill_rules(e))
		goto fail;
	describe(e);
	e->link = bpf_program__attach(prog);
	if (!e->link) {
		err = -errno;
		dmaw_warn("enforce: attaching %s to %s failed: %s", e->prog,
			  prog == e->skel->progs.enforce_tp ? "block_bio_queue" : ENF_HOOK,
			  strerror(-err));
		goto fail;
	}
	if (e->o.deny && !(e->seen = bpf_program__attach(e->skel->progs.enforce_seen))) {
		dmaw_warn("enforce: attaching enforce_seen to block_bio_queue failed: %s",
			  strerror(errno));
		goto fail;
	}
	if (e->o.pin) {
		if (enf_pin(e, e->o.pin))
			goto fail;
		fprintf(stderr,
			"enforce: pinned in %s; it goes on after this exits "
			"('dmawatch enforce --unpin %s' removes it)\n",
			e->o.pin, e->o.pin);
		enf_restore_limits(e);
		return 0;
	}
	rb = ring_buffer__new(bpf_map__fd(e->skel->maps.enf_events), enf_on_event, e, NULL);
	if (!rb) {
		dmaw_warn("enforce: cannot open the event buffer: %s", strerror(errno));
		goto fail;
	}
	e->ksyms = ksyms_load(NULL);
	fprintf(stderr, "enforce: %s attached (%s); Ctrl-C ends it\n", e->prog,
		prog == e->skel->progs.enforce_tp ? "tracepoint block_bio_queue" : ENF_HOOK);
	test_stop_at("running");
	err = loop_ring(rb);
	if (err)
		dmaw_warn("enforce: reading events: %s", strerror(-err));
	ring_buffer__free(rb);
	for (int i = 0; i < e->ndisks; i++) {
		struct enf_disk_counts c = { .devt = e->disks[i].devt };

		enf_read_counts(bpf_map__fd(e->skel->maps.enf_stats), &c);
		enf_print_counts(&e->j, e->o.json, e->o.deny ? "deny" : "audit", e->disks[i].name,
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
	enf_restore_limits(e);
	return 0;
fail:
	detach(e);
	enf_restore_limits(e);
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
		rc = enf_status(&e->o);
		goto out;
	}
	if (e->o.unpin) {
		rc = enf_unpin(e->o.unpin);
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
