// SPDX-License-Identifier: GPL-2.0
/*
 * Pool family, user half. The scan (family/pool.bpf.c: pool_scan) is a raw_tp
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

#include "engine/engine.h"
#include "engine/ksyms.h"
#include "family/family.h"
#include "out/fmt.h"
#include "out/prom.h"
#include "out/report.h"
#include "pool.skel.h"
#include "top/canvas.h"
#include "util.h"

#define POOL_SYM "io_tlb_default_mem"

/* Is a vmlinux symbol in kallsyms with a usable address? From the
 * engine's one read of /proc/kallsyms (its kernel_vars[]). 0, -ENOENT
 * (absent), -EPERM (address hidden) or the errno of reading the file. */
static int vmlinux_symbol(const struct family_run *f, const char *sym)
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
static int pool_symbol(const struct family_run *f, char *buf, size_t len)
{
	int err = vmlinux_symbol(f, POOL_SYM);

	if (err == -ENOENT)
		snprintf(buf, len,
			 POOL_SYM " not in /proc/kallsyms: no SWIOTLB pool "
				  "(CONFIG_SWIOTLB off?)");
	else if (err == -EPERM && kptr_restrict() >= 2)
		snprintf(buf, len,
			 POOL_SYM
			 " address hidden: kernel.kptr_restrict=2 hides kernel "
			 "addresses from every user, root too (sysctl kernel.kptr_restrict=1)");
	else if (err == -EPERM)
		snprintf(buf, len,
			 POOL_SYM " address hidden from this user: reading kernel "
				  "addresses needs CAP_SYSLOG (kernel.kptr_restrict=%d)",
			 kptr_restrict());
	else if (err)
		snprintf(buf, len, "cannot read /proc/kallsyms: %s", strerror(-err));
	return err;
}

struct pool_state {
	struct pool_bpf *skel; /* first: FAMILY_SKELETON */
	bool kernel_hiwater;   /* the kernel keeps io_tlb_mem.used_hiwater */
};

static const struct hook hooks[] = {
	/* Where the kernel keeps no high-water mark: our own, sampled after
	 * every mapping; only with --detail, which may cost more per
	 * mapping. */
	{ .funcs = { "swiotlb_map" },
	  .prog = "pool_map",
	  .progs = HOOK_FEXIT | HOOK_KRETPROBE,
	  .detail_only = true },
	/* SWIOTLB_DYNAMIC's pool allocator, where its calls are out of line:
	 * the worker that grows it, a pool added, a pool freed. Rare calls;
	 * absent from kernels without it. */
	{ .funcs = { "swiotlb_dyn_alloc" },
	  .prog = "pool_grow",
	  .progs = HOOK_TRAMPOLINE | HOOK_KPROBES },
	{ .funcs = { "add_mem_pool" }, .prog = "pool_add", .progs = HOOK_FENTRY | HOOK_KPROBE },
	{ .funcs = { "swiotlb_dyn_free" },
	  .prog = "pool_free",
	  .progs = HOOK_FENTRY | HOOK_KPROBE },
};

FAMILY_SKELETON(pool)

static struct bpf_object *pool_fail(struct family_run *f, int err, const char *why)
{
	fam_note(f, POOL_SYM, ATTACH_NONE, "%s", why);
	snprintf(f->why, sizeof(f->why), "%s", why);
	errno = -err;
	return NULL;
}

static struct bpf_object *pool_open(struct family_run *f)
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
	/* Calibration's vmlinux BTF, open while families open (read again
	 * for a family opened again after a refusal). */
	btf = calibrate_vmlinux(&f->e->feat);
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
		 st->kernel_hiwater ? "hiwater: the kernel's io_tlb_mem.used_hiwater" :
		 f->e->opts.detail  ? "hiwater: none kept by the kernel; own, after each "
				      "swiotlb_map (below)" :
				      "hiwater: none kept by the kernel; shown as the most seen at "
				      "reads and failed mappings (-D samples every mapping: the "
				      "high-water)");
	return st->skel->obj;
}

static bool pool_wants(struct family_run *f, const struct hook *h)
{
	if (h != &hooks[0])
		return true;
	return !((struct pool_state *)f->state)->kernel_hiwater;
}

/* Runs the scan once; fills s->pool. */
static int pool_read(struct family_run *f, struct snapshot *s)
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
	/* Sampled after every mapping: the hook was loaded (--detail, where
	 * the kernel keeps no high-water). */
	if (!(st->flags & DMAW_POOL_HIWATER_KERNEL) &&
	    (bpf_program__fd(skel->progs.pool_map_fexit) >= 0 ||
	     bpf_program__fd(skel->progs.pool_map_kretprobe) >= 0))
		st->flags |= DMAW_POOL_HIWATER_EVERY;
	if (ncpus <= 0)
		return st->scan_err;
	if (!(st->flags & DMAW_POOL_HIWATER_KERNEL)) {
		__u64 hw[ncpus];

		if (!bpf_map__lookup_elem(skel->maps.pool_peak, &zero, sizeof(zero), hw, sizeof(hw),
					  0))
			for (int c = 0; c < ncpus; c++)
				if (hw[c] > st->hiwater)
					st->hiwater = hw[c];
	}
	if (st->flags & DMAW_POOL_DYNAMIC) {
		struct dmaw_pool_events ev[ncpus];
		__u64 *sum = (__u64 *)&st->ev;

		/* Every member is a __u64 count: summed as an array. */
		_Static_assert(sizeof(ev[0]) % sizeof(__u64) == 0, "dmaw_pool_events: __u64s only");
		if (!bpf_map__lookup_elem(skel->maps.pool_events, &zero, sizeof(zero), ev,
					  sizeof(ev), 0))
			for (int c = 0; c < ncpus; c++)
				for (size_t k = 0; k < sizeof(ev[0]) / sizeof(__u64); k++)
					sum[k] += ((const __u64 *)&ev[c])[k];
	}
	return st->scan_err;
}

/* ---- what the outputs show ---------------------------------------------- */

/* Is hiwater the most slots ever in use (since boot, or since dmawatch
 * attached), or only the most seen at reads and failed mappings? */
static bool hiwater_exact(const struct dmaw_pool_stats *p)
{
	return p->flags & (DMAW_POOL_HIWATER_KERNEL | DMAW_POOL_HIWATER_EVERY);
}

static const char *hiwater_source(const struct dmaw_pool_stats *p)
{
	return p->flags & DMAW_POOL_HIWATER_KERNEL ? "kernel" :
	       p->flags & DMAW_POOL_HIWATER_EVERY  ? "every-mapping" :
						     "sampled";
}

static void json(struct json *j, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_pool_stats *p = &cur->pool;

	(void)prev;
	json_object_begin(j, "pool");
	json_bool(j, "ok", p->flags & DMAW_POOL_OK);
	json_u64(j, "slots_total", p->nslabs);
	json_u64(j, "slots_used", p->used);
	json_u64(j, "slots_used_scan", p->used_scan);
	/* The high-water only where it is one; else the lower bound, named
	 * as such. */
	if (hiwater_exact(p))
		json_u64(j, "slots_hiwater", p->hiwater);
	else
		json_u64(j, "slots_most_seen", p->hiwater);
	json_string(j, "hiwater_source", hiwater_source(p));
	json_bool(j, "hiwater_from_kernel", p->flags & DMAW_POOL_HIWATER_KERNEL);
	json_u64(j, "largest_free_run", p->largest_free_run);
	json_u64(j, "largest_free_run_page", p->largest_free_run_page);
	json_u64(j, "free_segments", p->free_segments);
	json_u64(j, "areas", p->nareas);
	json_i64(j, "scan_error", p->scan_err);
	json_u64(j, "scan_ns", p->scan_ns);
	/* SWIOTLB_DYNAMIC: pools added at run time, transient ones. */
	json_bool(j, "dynamic", p->flags & DMAW_POOL_DYNAMIC);
	json_bool(j, "can_grow", p->flags & DMAW_POOL_CAN_GROW);
	json_u64(j, "pools", p->pools);
	json_u64(j, "pools_unscanned", p->pools_unscanned);
	json_u64(j, "slots_boot", p->boot_nslabs);
	json_u64(j, "transient_slots", p->transient_slots);
	json_u64(j, "grow_attempts", p->ev.grow_attempts);
	json_u64(j, "grows", p->ev.grows);
	json_u64(j, "grow_failures", p->ev.grow_failures);
	json_u64(j, "grown_slots", p->ev.grown_slots);
	json_u64(j, "transient_pools_freed", p->ev.transient_frees);
	json_u64(j, "transient_slots_freed", p->ev.transient_freed_slots);
	json_object_end(j);
}

static void text_head(FILE *out, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_pool_stats *p = &cur->pool;

	(void)prev;
	if (p->flags & DMAW_POOL_OK)
		fprintf(out, "pool: %llu/%llu slots used, %s %llu%s, largest free run %u/%d\n",
			(unsigned long long)p->used, (unsigned long long)p->nslabs,
			hiwater_exact(p) ? "high-water" : "most seen",
			(unsigned long long)p->hiwater,
			hiwater_exact(p) ? "" : " (sampled: -D keeps the high-water)",
			p->largest_free_run, DMAW_IO_TLB_SEGSIZE);
	if ((p->flags & DMAW_POOL_OK) && (p->flags & DMAW_POOL_DYNAMIC))
		fprintf(out,
			"pool: dynamic, %u pools (%llu slots at boot)%s; added %llu "
			"(%llu failed); transient: %llu slots now, %llu pools freed\n",
			p->pools, (unsigned long long)p->boot_nslabs,
			p->flags & DMAW_POOL_CAN_GROW ? ", can grow" : ", cannot grow",
			(unsigned long long)p->ev.grows, (unsigned long long)p->ev.grow_failures,
			(unsigned long long)p->transient_slots,
			(unsigned long long)p->ev.transient_frees);
}

/* SWIOTLB_DYNAMIC's figures: only where the kernel has it. */
static void prom_dynamic(struct prom_out *o, const struct dmaw_pool_stats *p)
{
	const struct {
		const char *name, *type, *help;
		unsigned long long v;
	} m[] = {
		{ "dmawatch_pool_can_grow", "gauge",
		  "1 if the allocator adds pools when every slot is taken (SWIOTLB_DYNAMIC).",
		  !!(p->flags & DMAW_POOL_CAN_GROW) },
		{ "dmawatch_pool_grows_total", "counter",
		  "Pools the kernel's worker added since dmawatch attached.", p->ev.grows },
		{ "dmawatch_pool_grow_failures_total", "counter",
		  "Pools the worker failed to allocate since dmawatch attached.",
		  p->ev.grow_failures },
		{ "dmawatch_pool_transient_pools_freed_total", "counter",
		  "Transient pools (one mapping each, made when no pool had room) freed "
		  "since dmawatch attached; those alive are in "
		  "dmawatch_pool_kind_slots{pool=\"transient\"}.",
		  p->ev.transient_frees },
	};

	prom_family(o, "dmawatch_pool_pools", "gauge",
		    "Pools of the allocator by kind: boot (set up at boot), added (by the "
		    "worker since boot).");
	prom_sample(o, "dmawatch_pool_pools", "pool=\"boot\"", NULL, 1);
	prom_sample(o, "dmawatch_pool_pools", "pool=\"added\"", NULL,
		    p->pools + p->pools_unscanned - 1);
	prom_family(o, "dmawatch_pool_kind_slots", "gauge",
		    "Slots by kind of pool; dmawatch_pool_slots is boot + added, as the "
		    "kernel's total.");
	prom_sample(o, "dmawatch_pool_kind_slots", "pool=\"boot\"", NULL, p->boot_nslabs);
	prom_sample(o, "dmawatch_pool_kind_slots", "pool=\"added\"", NULL,
		    p->nslabs - p->boot_nslabs);
	prom_sample(o, "dmawatch_pool_kind_slots", "pool=\"transient\"", NULL, p->transient_slots);
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		prom_family(o, m[i].name, m[i].type, m[i].help);
		prom_sample(o, m[i].name, NULL, NULL, m[i].v);
	}
}

static void prom(struct prom_out *o)
{
	const struct dmaw_pool_stats *p = &o->s->pool;
	bool ok = p->flags & DMAW_POOL_OK;
	const struct {
		const char *name, *help;
		unsigned long long v;
	} gauges[] = {
		{ "dmawatch_pool_slots",
		  "Slots of the default SWIOTLB allocator (2 KiB each): every pool, "
		  "transient ones aside.",
		  p->nslabs },
		{ "dmawatch_pool_slots_used", "Slots in use (the kernel's own count).", p->used },
		{ "dmawatch_pool_largest_free_run_slots",
		  "Longest run of free slots; a mapping of n bytes needs ceil(n/2048) "
		  "contiguous slots, at most 128.",
		  p->largest_free_run },
		{ "dmawatch_pool_largest_free_run_page_aligned_slots",
		  "Longest run of free slots starting page-aligned: what a mapping of "
		  "4 KiB or more can get.",
		  p->largest_free_run_page },
		{ "dmawatch_pool_free_segments", "128-slot segments entirely free.",
		  p->free_segments },
		{ "dmawatch_pool_areas", "Areas (locks) the pool is split into.", p->nareas },
		{ "dmawatch_pool_slot_size_bytes", "Size of one slot.", DMAW_IO_TLB_SIZE },
		{ "dmawatch_pool_segment_slots",
		  "Slots of one segment: the most one mapping can use.", DMAW_IO_TLB_SEGSIZE },
	};

	prom_family(o, "dmawatch_pool_scan_ok", "gauge",
		    "1 if the last read of the SWIOTLB pool succeeded; the pool gauges are "
		    "left out otherwise.");
	prom_sample(o, "dmawatch_pool_scan_ok", NULL, NULL, ok);
	if (!ok)
		return;
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		prom_family(o, gauges[i].name, "gauge", gauges[i].help);
		prom_sample(o, gauges[i].name, NULL, NULL, gauges[i].v);
	}
	if (hiwater_exact(p)) {
		prom_family(o, "dmawatch_pool_slots_high_water", "gauge",
			    "Most slots in use at once: source=kernel is io_tlb_mem.used_hiwater "
			    "(since boot); source=dmawatch is dmawatch's own after every "
			    "mapping (--detail), since it attached.");
		prom_sample(o, "dmawatch_pool_slots_high_water", NULL,
			    p->flags & DMAW_POOL_HIWATER_KERNEL ? "source=\"kernel\"" :
								  "source=\"dmawatch\"",
			    p->hiwater);
	} else {
		prom_family(o, "dmawatch_pool_slots_most_seen", "gauge",
			    "Most slots seen in use at dmawatch's reads and failed mappings, "
			    "where the kernel keeps no high-water: a lower bound of it "
			    "(--detail keeps it exactly).");
		prom_sample(o, "dmawatch_pool_slots_most_seen", NULL, NULL, p->hiwater);
	}
	prom_family(o, "dmawatch_pool_scan_duration_seconds", "gauge",
		    "Time the last slot scan took in the kernel.");
	prom_sample_double(o, "dmawatch_pool_scan_duration_seconds", NULL, p->scan_ns * 1e-9,
			   false);
	if (p->flags & DMAW_POOL_DYNAMIC)
		prom_dynamic(o, p);
}

/* dmatop's Pool line (a gauge of used slots, the high-water mark in it)
 * and Free line (what the largest free run still fits). */
static int top(struct canvas *c, int y, const struct snapshot *prev, const struct snapshot *cur)
{
	const struct dmaw_pool_stats *pool = &cur->pool;
	char a[16], b[32];
	unsigned int run;
	int x;

	(void)prev;
	if (!(pool->flags & DMAW_POOL_OK) || !pool->nslabs) {
		cprintf(c, y, 0, P_TITLE, "Pool");
		cprintf(c, y, 6, P_WARN, "not read (%s)",
			pool->scan_err ? strerror(-pool->scan_err) : "pool family not loaded");
		cprintf(c, y + 1, 0, P_TITLE, "Free");
		cprintf(c, y + 1, 6, P_NORMAL, "-");
		return y + 2;
	}
	{
		double used = (double)pool->used / pool->nslabs;
		double high = (double)pool->hiwater / pool->nslabs;
		int gw = 20, fill = (int)(used * gw + 0.5), mark = (int)(high * gw + 0.5);
		int paint = used >= 0.8 ? P_BAD : used >= 0.5 ? P_WARN : P_OK;
		char gauge[32];

		if (pool->used && !fill)
			fill = 1;
		if (mark >= gw)
			mark = gw - 1;
		for (int i = 0; i < gw; i++)
			gauge[i] = i < fill                                ? '#' :
				   i == mark && pool->hiwater > pool->used ? '|' :
									     '.';
		gauge[gw] = 0;
		x = cprintf(c, y, 0, P_TITLE, "Pool");
		x = cprintf(c, y, x + 2, P_NORMAL, "[");
		x = cput(c, y, x, -1, paint, gauge);
		x = cprintf(c, y, x, P_NORMAL, "] ");
		x = cprintf(c, y, x, paint, "%llu/%llu slots %.0f%%",
			    (unsigned long long)pool->used, (unsigned long long)pool->nslabs,
			    used * 100);
		x = cprintf(c, y, x, P_NORMAL, "  %s %llu (%.0f%%)",
			    hiwater_exact(pool) ? "high-water" : "most seen",
			    (unsigned long long)pool->hiwater, high * 100);
		if (pool->flags & DMAW_POOL_DYNAMIC)
			cprintf(c, y, x, pool->transient_slots ? P_WARN : P_NORMAL,
				"  %u pools%s, transient %llu slots", pool->pools,
				pool->flags & DMAW_POOL_CAN_GROW ? " (grows)" : "",
				(unsigned long long)pool->transient_slots);
	}
	y++;
	/* A full-size mapping needs 128 contiguous slots inside one segment;
	 * from a page boundary when it is >= 4 KiB. */
	x = cprintf(c, y, 0, P_TITLE, "Free");
	run = pool->largest_free_run;
	/* From a page boundary too when that is shorter: the run a mapping of
	 * a page or more gets. */
	if (pool->largest_free_run_page && pool->largest_free_run_page < run) {
		run = pool->largest_free_run_page;
		snprintf(b, sizeof(b), " (page-aligned %u)", run);
	} else {
		b[0] = 0;
	}
	fmt_bytes4(a, sizeof(a), (double)run * DMAW_IO_TLB_SIZE);
	if (run >= DMAW_IO_TLB_SEGSIZE)
		x = cprintf(c, y, x + 2, P_OK, "largest run %u/%d slots: a %s mapping fits",
			    pool->largest_free_run, DMAW_IO_TLB_SEGSIZE, a);
	else
		x = cprintf(c, y, x + 2, run ? P_WARN : P_BAD,
			    "largest run %u/%d%s: mappings > %s fail", pool->largest_free_run,
			    DMAW_IO_TLB_SEGSIZE, b, a);
	cprintf(c, y, x, P_NORMAL, "  free segs %u", pool->free_segments);
	return y + 1;
}

const struct family pool_family = {
	.name = "pool",
	.summary = "occupancy, high-water mark and fragmentation of the default SWIOTLB pool; "
		   "with SWIOTLB_DYNAMIC, its added and transient pools",
	.hooks = hooks,
	.nhooks = ARRAY_SIZE(hooks),
	.state_size = sizeof(struct pool_state),
	.open = pool_open,
	.wants = pool_wants,
	.load = pool_skel_load,
	.read = pool_read,
	.destroy = pool_skel_destroy,
	.elf_bytes = pool_bpf__elf_bytes,
	.view = {
		.json = json,
		.text_head = text_head,
		.prom = prom,
		.top = top,
	},
};
