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
#include "pool.skel.h"

#define FAMILY "pool"
#define POOL_SYM "io_tlb_default_mem"

/* Is a vmlinux symbol in /proc/kallsyms with a usable address? libbpf
 * resolves typeless ksyms from there at load time. 0, -ENOENT (absent),
 * -EPERM (address hidden) or the errno of reading the file. */
static int vmlinux_symbol(const char *sym)
{
	char line[256], name[128], type;
	unsigned long long addr;
	int err = -ENOENT;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* vmlinux symbols only: a module line has a 4th column. */
		if (sscanf(line, "%llx %c %127s", &addr, &type, name) != 3 ||
		    strcmp(name, sym) || strchr(line, '['))
			continue;
		err = addr ? 0 : -EPERM;
		break;
	}
	fclose(f);
	return err;
}

/* The pool's own symbol: returns 0 or a negative errno, with why in buf. */
static int pool_symbol(char *buf, size_t len)
{
	int err = vmlinux_symbol(POOL_SYM);

	if (err == -ENOENT)
		snprintf(buf, len, POOL_SYM " not in /proc/kallsyms: no SWIOTLB pool "
			 "(CONFIG_SWIOTLB off?)");
	else if (err == -EPERM)
		snprintf(buf, len, POOL_SYM " address hidden by kernel.kptr_restrict: "
			 "run as root (CAP_SYSLOG)");
	else if (err)
		snprintf(buf, len, "cannot read /proc/kallsyms: %s", strerror(-err));
	return err;
}

/* Does the running kernel's struct sname have a member mname? (BTF, the
 * same test bpf_core_field_exists() makes on the BPF side.) */
static int btf_has_member(const struct btf *btf, const char *sname, const char *mname)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), mname))
			return 1;
	return 0;
}

static struct bpf_object *pool_fail(struct engine *e, struct pool_bpf *skel, int err,
				    const char *why)
{
	engine_note(e, FAMILY, POOL_SYM, ATTACH_NONE, "%s", why);
	pool_bpf__destroy(skel);
	e->pool = NULL;
	errno = -err;
	return NULL;
}

static struct bpf_object *pool_open(struct engine *e)
{
	struct bpf_program *fexit, *kret;
	struct pool_bpf *skel = NULL;
	struct btf *btf;
	char why[96];
	int err, kernel_hw;

	e->pool = NULL;
	err = pool_symbol(why, sizeof(why));
	if (err)
		return pool_fail(e, NULL, err, why);
	/* The scan walks the slots in bpf_loop() (Linux 5.17): a bounded loop
	 * cannot cover a pool of up to 512K slots. */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_loop, NULL) != 1)
		return pool_fail(e, NULL, -EOPNOTSUPP,
				 "kernel lacks the bpf_loop helper (Linux 5.17+)");
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		err = -errno;
		return pool_fail(e, NULL, err, "cannot read kernel BTF");
	}
	/* The kernel's own high-water mark, where it keeps one: 6.6+ with
	 * debugfs always; 7.x only when booted with swiotlb=...,track_hiwater
	 * (the switch, track_hiwater_enabled, exists there). Where it may be
	 * off, keep our own too; pool_scan says which one is live. */
	kernel_hw = btf_has_member(btf, "io_tlb_mem", "used_hiwater") &&
		    vmlinux_symbol("track_hiwater_enabled") == -ENOENT;
	btf__free(btf);

	skel = pool_bpf__open();
	if (!skel) {
		err = -errno;
		return pool_fail(e, NULL, err, "cannot open the pool BPF object");
	}
	e->pool = skel;
	fexit = skel->progs.pool_map_exit;
	kret = skel->progs.pool_map_kret;
	engine_note(e, FAMILY, POOL_SYM, ATTACH_RAW_TP,
		    "slot scan on demand (raw_tp test run, bpf_loop)");
	if (kernel_hw) {
		bpf_program__set_autoload(fexit, false);
		bpf_program__set_autoload(kret, false);
		engine_note(e, FAMILY, "used_hiwater", ATTACH_NONE,
			    "hiwater: the kernel's io_tlb_mem.used_hiwater");
	} else {
		enum attach_kind k = choose_fentry_or_kprobe(e, FAMILY, FN_SWIOTLB_MAP,
							     &fexit, 1, &kret, 1);

		engine_note(e, FAMILY, "used_hiwater", k,
			    k == ATTACH_NONE ? "hiwater: none kept by the kernel; only at reads"
					     : "hiwater: none kept by the kernel; own, after each swiotlb_map");
	}
	return skel->obj;
}

/* pool_scan is never attached: read() runs it. */
static bool is_scan(const struct bpf_program *prog)
{
	return !strcmp(bpf_program__name(prog), "pool_scan");
}

static int pool_attach(struct engine *e)
{
	return engine_attach_object(e, e->pool->obj, is_scan);
}

/* Runs the scan once; fills s->pool. */
static int pool_read(struct engine *e, struct snapshot *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct dmaw_pool_stats *st = &s->pool;
	struct bpf_map *bss = e->pool->maps.bss;
	size_t bss_size = bpf_map__value_size(bss);
	int ncpus = libbpf_num_possible_cpus();
	char bss_value[bss_size];
	__u32 zero = 0;
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(e->pool->progs.pool_scan), &opts);
	if (err)
		return err < 0 ? err : -EIO;
	/* Not e->pool->bss->stats: libbpf 1.1 maps .bss into the skeleton
	 * only in pool_bpf__load(), and the engine loads the bpf_object
	 * itself, so the skeleton's copy never sees the kernel's writes. */
	err = bpf_map__lookup_elem(bss, &zero, sizeof(zero), bss_value, bss_size, 0);
	if (err)
		return err;
	memcpy(st, bss_value + offsetof(struct pool_bpf__bss, stats), sizeof(*st));
	if (!(st->flags & DMAW_POOL_HIWATER_KERNEL) && ncpus > 0) {
		__u64 hw[ncpus];

		if (!bpf_map__lookup_elem(e->pool->maps.pool_hiwater, &zero, sizeof(zero), hw,
					  sizeof(hw), 0))
			for (int c = 0; c < ncpus; c++)
				if (hw[c] > st->hiwater)
					st->hiwater = hw[c];
	}
	return st->scan_err;
}

static void pool_destroy(struct engine *e)
{
	pool_bpf__destroy(e->pool);
	e->pool = NULL;
}

const struct family pool_family = {
	.name = FAMILY,
	.open = pool_open,
	.attach = pool_attach,
	.read = pool_read,
	.destroy = pool_destroy,
};
