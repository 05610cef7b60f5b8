// SPDX-License-Identifier: GPL-2.0
/*
 * Pool family, user half. The scan (bpf/pool.bpf.c: pool_scan) is a raw_tp
 * program that is never attached: read() runs it once with
 * BPF_PROG_TEST_RUN and reads the result from its .bss map. Where
 * the kernel keeps no high-water mark of the pool, a small fexit (or
 * kretprobe) on swiotlb_map samples the used count after every mapping.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "engine.h"
#include "family.h"
#include "ksyms.h"
#include "pool.skel.h"

#define POOL_SYM "io_tlb_default_mem"

/* Is a vmlinux symbol in kallsyms with a usable address? From the
 * engine's one read of /proc/kallsyms (its kernel_vars[]). 0, -ENOENT
 * (absent), -EPERM (address hidden) or the errno of reading the file. */
static int vmlinux_symbol(const struct fam *f, const char *sym)
{
	uint64_t addr;

	if (!f->e->ksyms)
		return -EIO;
	if (ksyms_data(f->e->ksyms, sym, &addr))
		return -ENOENT;
	return addr ? 0 : -EPERM;
}

/* /proc/sys/kernel/kptr_restrict, or -1. */
static int kptr_restrict(void)
{
	FILE *f = fopen("/proc/sys/kernel/kptr_restrict", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The pool's own symbol: returns 0 or a negative errno, with why in buf. */
static int pool_symbol(const struct fam *f, char *buf, size_t len)
{
	int err = vmlinux_symbol(f, POOL_SYM);

	if (err == -ENOENT)
		snprintf(buf, len, POOL_SYM " not in /proc/kallsyms: no SWIOTLB pool "
			 "(CONFIG_SWIOTLB off?)");
	else if (err == -EPERM && kptr_restrict() >= 2)
		snprintf(buf, len, POOL_SYM " address hidden: kernel.kptr_restrict=2 hides kernel "
			 "addresses from every user, root too (sysctl kernel.kptr_restrict=1)");
	else if (err == -EPERM)
		snprintf(buf, len, POOL_SYM " address hidden from this user: reading kernel "
			 "addresses needs CAP_SYSLOG (kernel.kptr_restrict=%d)", kptr_restrict());
	else if (err)
		snprintf(buf, len, "cannot read /proc/kallsyms: %s", strerror(-err));
	return err;
}

struct pool_state {
	struct pool_bpf *skel; /* first: FAMILY_SKELETON */
	bool kernel_hiwater; /* the kernel keeps io_tlb_mem.used_hiwater */
};

/* Where the kernel keeps no high-water mark: our own, sampled after every
 * mapping. */
static const struct hook hooks[] = {
	{ .funcs = { "swiotlb_map" }, .prog = "pool_map", .progs = HOOK_FEXIT | HOOK_KRETPROBE },
};

FAMILY_SKELETON(pool)

static struct bpf_object *pool_fail(struct fam *f, int err, const char *why)
{
	fam_note(f, POOL_SYM, ATTACH_NONE, "%s", why);
	snprintf(f->why, sizeof(f->why), "%s", why);
	errno = -err;
	return NULL;
}

static struct bpf_object *pool_open(struct fam *f)
{
	struct pool_state *st = f->state;
	const struct btf *btf;
	char why[160];
	int err;

	err = pool_symbol(f, why, sizeof(why));
	if (err)
		return pool_fail(f, err, why);
	/* The scan walks the slots in bpf_loop() (Linux 5.17): a bounded loop
	 * cannot cover a pool of up to 512K slots. */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_loop, NULL) != 1)
		return pool_fail(f, -EOPNOTSUPP, "kernel lacks the bpf_loop helper (Linux 5.17+)");
	/* Calibration's vmlinux BTF, open while families open. */
	btf = f->e->feat.vmlinux;
	if (!btf)
		return pool_fail(f, -EINVAL, "cannot read kernel BTF");
	/* The kernel's own high-water mark, where it keeps one: 6.6+ with
	 * debugfs always; 7.x only when booted with swiotlb=...,track_hiwater
	 * (the switch, track_hiwater_enabled, exists there). Where it may be
	 * off, keep our own too; pool_scan says which one is live. */
	st->kernel_hiwater = btf_struct_member_offset(btf, "io_tlb_mem", "used_hiwater") >= 0 &&
			     vmlinux_symbol(f, "track_hiwater_enabled") == -ENOENT;

	if (!pool_skel_open(f))
		return pool_fail(f, -errno, "cannot open the pool BPF object");
	/* Not a hook: read() runs it with BPF_PROG_TEST_RUN. */
	bpf_program__set_autoload(st->skel->progs.pool_scan, true);
	fam_note(f, POOL_SYM, ATTACH_RAW_TP, "slot scan on demand (raw_tp test run, bpf_loop)");
	fam_note(f, "used_hiwater", ATTACH_NONE,
		 st->kernel_hiwater ? "hiwater: the kernel's io_tlb_mem.used_hiwater"
				    : "hiwater: none kept by the kernel; own, after each "
				      "swiotlb_map (below)");
	return st->skel->obj;
}

static bool pool_wants(struct fam *f, const struct hook *h)
{
	(void)h;
	return !((struct pool_state *)f->state)->kernel_hiwater;
}

/* Runs the scan once; fills s->pool. */
static int pool_read(struct fam *f, struct snapshot *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct pool_bpf *skel = ((struct pool_state *)f->state)->skel;
	struct dmaw_pool_stats *st = &s->pool;
	int ncpus = libbpf_num_possible_cpus();
	__u32 zero = 0;
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pool_scan), &opts);
	if (err)
		return err < 0 ? err : -EIO;
	/* The skeleton maps .bss: the scan's result, as the kernel wrote it. */
	*st = skel->bss->stats;
	if (!(st->flags & DMAW_POOL_HIWATER_KERNEL) && ncpus > 0) {
		__u64 hw[ncpus];

		if (!bpf_map__lookup_elem(skel->maps.pool_hiwater, &zero, sizeof(zero), hw,
					  sizeof(hw), 0))
			for (int c = 0; c < ncpus; c++)
				if (hw[c] > st->hiwater)
					st->hiwater = hw[c];
	}
	return st->scan_err;
}

const struct family pool_family = {
	.name = "pool",
	.summary = "occupancy, high-water mark and fragmentation of the default SWIOTLB pool",
	.hooks = hooks,
	.nhooks = sizeof(hooks) / sizeof(hooks[0]),
	.state_size = sizeof(struct pool_state),
	.open = pool_open,
	.wants = pool_wants,
	.load = pool_skel_load,
	.read = pool_read,
	.destroy = pool_skel_destroy,
};
