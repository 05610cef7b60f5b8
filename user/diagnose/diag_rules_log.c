// SPDX-License-Identifier: GPL-2.0
/*
 * This file judges what the kernel log said beside the refusals: a boot
 * pool smaller than asked or rounded up, the atomic pools run dry, a
 * kernel oops, a device that needed bouncing with no pool, an address
 * above the device's DMA mask, a warning in the DMA core, a dynamic pool
 * that could not grow, DMA errors and unrecognised lines, and blocked
 * tasks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/diag_rules_internal.h"
#include "diagnose/diagnose.h"

/* Does anything here bounce, so that a pool is needed? */
static bool pool_needed(const struct diag_facts *x)
{
	if (x->env.cc_active || x->env.forced || x->log.late)
		return true;
	for (int i = 0; i < x->ndevs; i++)
		if (x->devs[i].full_lines)
			return true;
	return false;
}

void diag_judge_boot(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_pool *p = &x->pool;
	struct diag_finding *f;

	if (p->boot_shortfall) {
		bool needed = pool_needed(x);
		uint64_t got = diag_pool_total(x);

		if (x->env.noforce && !needed) {
			f = diag_add(
				r, "pool-short-at-boot", DIAG_INFO, NULL,
				"no SWIOTLB pool, as swiotlb=noforce asked: nothing here bounces");
		} else if (!needed && strcmp(x->env.cc, "unknown")) {
			f = diag_add(
				r, "pool-short-at-boot", DIAG_INFO, NULL,
				"the kernel could not allocate the pool it sized, and nothing here "
				"bounces (no confidential computing, no swiotlb=force, no refusal)");
		} else {
			f = diag_add(r, "pool-short-at-boot", DIAG_WARNING, NULL,
				     "the kernel could not allocate the pool it was asked for");
		}
		for (int i = 0; i < p->nshortfall_lines; i++)
			diag_evidence(f, "%s", p->shortfall_lines[i]);
		if (x->env.swiotlb_arg[0])
			diag_evidence(f, "swiotlb=%s on the command line", x->env.swiotlb_arg);
		if (f->severity == DIAG_INFO) {
			diag_remedy(
				f, "nothing to change; should a device need bouncing, boot without "
				   "swiotlb=noforce");
			diag_remedy_class(f, "none", 0);
		} else if (got) {
			/* The largest power of two the kernel found room for. */
			uint64_t fits = diag_pow2_down(got);

			diag_remedy(f,
				    "the pool is allocated below 4 GiB at boot: ask for what fits, "
				    "swiotlb=%" PRIu64 " (%s; %" PRIu64
				    " slots were found), or give the "
				    "guest more memory below 4 GiB",
				    fits, SIZE(fits), got);
			diag_remedy_class(f, "shrink-pool", fits);
		} else {
			diag_remedy(
				f, "a smaller swiotlb= that fits memory below 4 GiB, or more guest "
				   "memory");
			diag_remedy_class(f, "shrink-pool", 0);
		}
	}
	if (p->roundup) {
		f = diag_add(r, "pool-rounded-up", DIAG_INFO, NULL,
			     "the kernel rounded the pool up to a power of two");
		diag_evidence(f, "%s", p->roundup_line);
		diag_evidence(
			f, "the size asked (swiotlb=, or 6 %% of memory clamped to 64 MiB-1 GiB in "
			   "a confidential guest) becomes a power of two, at least 128 slots an "
			   "area (swiotlb_adjust_nareas())");
		diag_remedy(
			f, "nothing to change; to keep the memory, give swiotlb= a power of two in "
			   "slots (it is not rounded)");
		diag_remedy_class(f, "none", 0);
	}
}

void diag_judge_log(const struct diag_facts *x, struct diag_report *r)
{
	const struct diag_log *l = &x->log;
	struct diag_finding *f;

	if (l->atomic) {
		/* coherent_pool= sizes each atomic pool; the kernel grows them
		 * in the background, too late for the allocation that failed. */
		uint64_t kib = diag_pow2_up(l->atomic_kib ? diag_sat_mul(l->atomic_kib, 4) : 4096);

		f = diag_add(
			r, "atomic-pool-exhausted", DIAG_ERROR, NULL,
			"the DMA atomic pool ran out: a coherent allocation that may not sleep "
			"failed");
		diag_evidence(f, "%s", l->atomic_line);
		if (l->atomic > 1)
			diag_evidence(f, "%u such lines", l->atomic);
		if (l->atomic_kib)
			diag_evidence(f, "the largest pool preallocated at boot: %" PRIu64 " KiB",
				      l->atomic_kib);
		if (x->env.cc_active)
			diag_evidence(
				f,
				"a %s guest: its coherent memory must be decrypted, which may "
				"sleep, so every atomic allocation comes from these pools",
				x->env.cc);
		diag_remedy(f,
			    "a larger atomic pool: coherent_pool=%" PRIu64
			    "K on the kernel command "
			    "line (a larger swiotlb= does not help)",
			    kib);
		diag_remedy_class(f, "coherent-pool", 0);
	}
	if (l->oops && !l->dma_oops) {
		f = diag_add(r, "kernel-oops", DIAG_INFO, NULL,
			     "the kernel reported a BUG or warning outside the DMA mapping code");
		diag_evidence(f, "%s", l->oops_line);
		if (l->oops > 1)
			diag_evidence(f, "%u such reports in the log", l->oops);
		diag_remedy(f, "not a SWIOTLB problem by what the log shows: read the whole trace");
		diag_remedy_class(f, "none", 0);
	}
	if (l->late) {
		f = diag_add(r, "swiotlb-late", DIAG_ERROR, NULL,
			     "a device needed bouncing but the kernel set up no SWIOTLB pool");
		diag_evidence(f, "%s", l->late_line);
		if (x->env.noforce) {
			diag_evidence(f, "swiotlb=noforce on the command line: no pool was made");
			diag_remedy(f, "boot without swiotlb=noforce");
			diag_remedy_class(f, "boot-pool", 0);
		} else if (x->pool.sized_mb || x->pool.boot_shortfall) {
			/* The size the kernel chose (or was given) did not fit
			 * below 4 GiB at boot: half of it, a power of two. */
			uint64_t asked = diag_sat_mul(x->pool.sized_mb, (1 << 20) / DIAG_SLOT);
			uint64_t half = asked / 2 ? diag_pow2_down(asked / 2) : 0;
			if (x->pool.sized_mb)
				diag_evidence(
					f,
					"the pool was sized %" PRIu64 " MB at boot (6 %% of memory "
					"in a confidential guest), more than memory below 4 GiB "
					"could give",
					x->pool.sized_mb);
			for (int i = 0; i < x->pool.nshortfall_lines; i++)
				diag_evidence(f, "%s", x->pool.shortfall_lines[i]);
			if (half)
				diag_remedy(
					f,
					"a pool that fits below 4 GiB: swiotlb=%" PRIu64 " (%s) on "
					"the kernel command line, or more guest memory below 4 GiB",
					half, SIZE(half));
			else
				diag_remedy(
					f,
					"a smaller swiotlb= that fits below 4 GiB, or more guest "
					"memory below 4 GiB");
			diag_remedy_class(f, "shrink-pool", half);
		} else {
			if (x->pool.torn_down)
				diag_evidence(
					f, "software IO TLB: tearing down default memory pool: an "
					   "IOMMU took over, yet a device still bounces");
			diag_remedy(
				f,
				"see why no pool was set up at boot: 'software IO TLB' lines "
				"('Cannot allocate buffer', 'No low mem': a smaller swiotlb=); a pool "
				"torn down while a device still needs it is a kernel bug");
			diag_remedy_class(f, "investigate", 0);
		}
	}
	/* swiotlb_map() says "swiotlb addr ... overflow": the bounce slot is out
	 * of the device's reach. dma-direct's "DMA addr ... overflow" (and
	 * dma_direct_map_page's or x86 nommu's "overflow ... of device mask")
	 * comes where no SWIOTLB pool was active to bounce the buffer. */
	if (l->overflow) {
		bool slot = strstr(l->overflow_line, "swiotlb") != NULL;

		f = diag_add(r, "address-overflow", DIAG_ERROR, NULL, "%s",
			     slot ? "a device cannot reach the bounce buffer: its DMA mask is "
				    "below the pool" :
				    "a device cannot reach a buffer it maps (above its DMA mask) "
				    "and no SWIOTLB pool was there to bounce it");
		diag_evidence(f, "%s", l->overflow_line);
		if (l->overflow > 1)
			diag_evidence(f, "%u such lines", l->overflow);
		if (slot) {
			diag_remedy(f, "the driver must set the DMA mask its device really has "
				       "(and the pool must sit below it: on 64-bit, swiotlb is "
				       "allocated low at boot)");
			diag_remedy_class(f, "fix-driver", 0);
		} else {
			diag_remedy(f,
				    "run a kernel with SWIOTLB (CONFIG_SWIOTLB) and a pool for "
				    "this device ('software IO TLB' at boot), or the driver must "
				    "set the DMA mask its device really has");
			diag_remedy_class(f, "investigate", 0);
		}
	}
	if (l->dma_oops) {
		f = diag_add(r, "dma-core-warning", DIAG_ERROR, NULL,
			     "the kernel warned in the DMA mapping code");
		diag_evidence(f, "%s", l->dma_oops_line[0]);
		if (l->dma_oops_line[1][0])
			diag_evidence(f, "%s", l->dma_oops_line[1]);
		if (l->dma_oops > 1)
			diag_evidence(f, "%u such reports in the log", l->dma_oops);
		if (x->env.cc_active && (strstr(l->dma_oops_line[0], "dma_direct_alloc") ||
					 strstr(l->dma_oops_line[0], "kernel/dma/pool.c"))) {
			/* dma_direct_alloc() in a confidential guest: decrypting the
			 * pages failed, or the atomic pool it must use ran dry. */
			diag_remedy(
				f,
				"in a %s guest a coherent allocation that may not sleep comes from "
				"the atomic pool: a larger one, coherent_pool=%" PRIu64 "K; then "
				"update the kernel and the driver named in the trace",
				x->env.cc,
				diag_pow2_up(l->atomic_kib ? diag_sat_mul(l->atomic_kib, 4) :
							     4096));
			diag_remedy_class(f, "coherent-pool", 0);
		} else {
			diag_remedy(
				f,
				"a kernel bug or a driver misusing the DMA API, named in the "
				"trace: update the kernel and the driver; report the trace if it "
				"stays");
			diag_remedy_class(f, "update-kernel", 0);
		}
	}
	if (x->pool.grow_failed) {
		f = diag_add(r, "pool-grow-failed", DIAG_WARNING, NULL,
			     "the dynamic SWIOTLB pool could not grow: no memory for a new pool");
		diag_evidence(f, "%s", x->pool.grow_failed_line);
		diag_grow_remedy(x, f, diag_pool_total(x), diag_pool_total(x),
				 " so it need not grow under "
				 "memory pressure");
	}
	if (x->nlog_other) {
		f = diag_add(r, "dma-errors-logged", DIAG_WARNING, NULL,
			     "the kernel logged DMA bounce errors");
		for (int i = 0; i < x->nlog_other; i++)
			diag_evidence(f, "%s", x->log_other[i]);
		diag_remedy(f, "see the lines: a driver gave up on a mapping (a finding above may "
			       "say why)");
		diag_remedy_class(f, "investigate", 0);
	}
	if (l->unknown) {
		f = diag_add(
			r, "unrecognised-dma-line", DIAG_WARNING, NULL,
			"the kernel logged SWIOTLB or DMA lines that dmawatch does not recognise");
		for (unsigned i = 0; i < l->unknown && i < 3; i++)
			diag_evidence(f, "%s", l->unknown_line[i]);
		if (l->unknown > 3)
			diag_evidence(f, "%u such lines in all", l->unknown);
		diag_remedy(f,
			    "read them: dmawatch cannot judge them (please report them, so that it "
			    "learns them)");
		diag_remedy_class(f, "investigate", 0);
	}
	if (x->ntasks || x->hung_task_lines) {
		f = diag_add(r, "tasks-blocked", DIAG_INFO, NULL, "%d tasks wait in D state now",
			     x->ntasks);
		for (int i = 0; i < x->ntasks && f->nevidence < DIAG_MAX_EVIDENCE - 1; i++)
			diag_evidence(f, "pid %d (%s) waits in %s", x->tasks[i].pid,
				      x->tasks[i].comm,
				      x->tasks[i].wchan[0] ? x->tasks[i].wchan : "?");
		if (x->hung_task_lines)
			diag_evidence(f, "%s (%u such lines)", x->hung_task_line,
				      x->hung_task_lines);
		diag_remedy(
			f,
			"if they wait on a disk with a finding above, that finding is the cause");
		diag_remedy_class(f, "none", 0);
	}
}
